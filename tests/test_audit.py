"""The audit chain (liushou_dash.audit): every writer's rows are sealed, `verify` finds a row
edited, deleted or inserted afterwards, and concurrent writers never fork the chain."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select, text

from liushou_dash.core import audit
from liushou_dash.core.db import transaction
from liushou_dash.core.models import AuditEntry
from liushou_dash.demo import scale
from liushou_dash.ingest import ingest_file
from liushou_dash.workflow import review
from liushou_dash.workflow.downloads import audit_download
from tests.fixtures import OTHER_TOWNSHIP, TOWNSHIP, make_user, school_frame
from tests.returns import workbook

PERIOD, TODAY = "2026-10", dt.date(2026, 11, 22)


def rows_in(engine) -> tuple[int, int]:
    """(every audit row, rows outside the chain)."""
    with engine.connect() as conn:
        return (conn.scalar(select(func.count()).select_from(AuditEntry)),
                conn.scalar(select(func.count()).select_from(AuditEntry)
                            .where(AuditEntry.seq.is_(None))))


def some_history(engine) -> None:
    """Accounts, logins, an upload, a review, a refusal and a download: every kind of writer
    the web and the command line use."""
    staff = make_user(engine, "staffx", "staff")
    clerk = make_user(engine, "clerk108", "clerk", TOWNSHIP)
    report = ingest_file(engine, workbook({"schools": school_frame(engine)}), "月报.xlsx",
                         TOWNSHIP, PERIOD, username=clerk.username, today=TODAY)
    review.approve(engine, staff, report.submission_id)
    with pytest.raises(PermissionError):
        review.pending(engine, clerk)
    audit_download(engine, staff, "export", file="导出.csv")


def execute(engine, sql: str, **params) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def test_every_writer_seals_its_rows_and_the_chain_verifies(any_engine):
    some_history(any_engine)
    total, outside = rows_in(any_engine)
    assert total > 8 and outside == 0
    verdict = audit.verify(any_engine)
    assert verdict.intact, verdict.problem
    assert verdict.count == total
    with any_engine.connect() as conn:
        last = conn.execute(select(AuditEntry.seq, AuditEntry.row_hash)
                            .order_by(AuditEntry.seq.desc()).limit(1)).one()
    assert last.seq == total and verdict.last_hash == last.row_hash


def test_an_edited_row_is_named(any_engine):
    some_history(any_engine)
    execute(any_engine, "UPDATE audit SET username = 'someone_else' WHERE seq = 4")
    problem = audit.verify(any_engine).problem
    assert "第 4 条" in problem and "被修改" in problem


def test_an_edited_row_whose_hash_was_recomputed_breaks_the_next_link(any_engine):
    some_history(any_engine)
    with any_engine.connect() as conn:
        row = conn.execute(select(AuditEntry).where(AuditEntry.seq == 4)).one()
    content = {**{key: getattr(row, key) for key in audit.CONTENT}, "detail": "{}"}
    execute(any_engine, "UPDATE audit SET detail = '{}', row_hash = :forged WHERE seq = 4",
            forged=audit.chain_hash(row.prev_hash, 4, content))
    problem = audit.verify(any_engine).problem
    assert "第 5 条" in problem and "没有接在前一条之后" in problem


def test_a_deleted_row_is_named(any_engine):
    some_history(any_engine)
    execute(any_engine, "DELETE FROM audit WHERE seq = 3")
    verdict = audit.verify(any_engine)
    assert not verdict.intact and verdict.count == 2
    assert "第 3 条缺失" in verdict.problem and "被删除" in verdict.problem


@pytest.mark.parametrize("seq, outcome", [(None, "不在审计链中"), ("next", "后来插入")])
def test_an_inserted_row_is_named(any_engine, seq, outcome):
    some_history(any_engine)
    total, _ = rows_in(any_engine)
    execute(any_engine, "INSERT INTO audit (at, username, action, object_type, detail, seq, "
                        "prev_hash, row_hash) VALUES (:at, 'staffx', 'approve', 'submission', "
                        "'{}', :seq, :forged, :forged)",
            at="2026-11-01 09:00:00.000000", seq=None if seq is None else total + 1,
            forged=None if seq is None else "0" * 64)
    problem = audit.verify(any_engine).problem
    assert outcome in problem


def test_concurrent_writers_never_fork_the_chain(any_engine):
    """Writers committing at the same moment each seal under the lock (PostgreSQL's advisory
    lock, SQLite's write transaction): no seq is taken twice (the unique index would refuse
    it) and the chain verifies."""
    staff = make_user(any_engine, "staffx", "staff")
    writers, writes = 6, 12
    start, failures = threading.Barrier(writers), []

    def write(n: int) -> None:
        start.wait()
        try:
            for i in range(writes):
                audit_download(any_engine, staff, "export", writer=n, write=i)
        except Exception as exc:  # handed to the test below
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    verdict = audit.verify(any_engine)
    assert verdict.intact, verdict.problem
    assert verdict.count == rows_in(any_engine)[0]
    with any_engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "download")) == writers * writes


def test_rows_written_in_bulk_join_the_chain(any_engine):
    """The city and province demo writes its "submit" rows around the session; they are
    sealed in order, and the session's rows after them continue the chain."""
    make_user(any_engine, "staffx", "staff")
    with any_engine.begin() as conn:
        scale.seed_counties(conn, scale.Scale(2, 1.0, 1), 1, TODAY)
    audit_download(any_engine, make_user(any_engine, "boss", "admin"), "export")
    verdict = audit.verify(any_engine)
    assert verdict.intact, verdict.problem
    assert verdict.count == rows_in(any_engine)[0] > 2 * 29


def test_a_row_added_in_a_rolled_back_savepoint_is_not_sealed(any_engine):
    with transaction(any_engine) as session:
        with session.begin_nested() as savepoint:
            audit.record(session, "staffx", "approve", "submission", OTHER_TOWNSHIP)
            savepoint.rollback()
        audit.record(session, "staffx", "return", "submission", TOWNSHIP)
    verdict = audit.verify(any_engine)
    assert verdict.intact, verdict.problem
    assert rows_in(any_engine) == (verdict.count, 0)
