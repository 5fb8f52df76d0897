"""Townships uploading at the same moment, each from its own process, and an upload killed
in the middle of its transaction (README.md "数据库": SQLite in WAL mode for one county,
PostgreSQL for more; "看板月表" for two townships that are a month's first upload at once).

The processes are forked (multiprocessing, "fork"), so each is a separate OS process with
its own database connection, as every Streamlit replica and command line is; forking saves
each of them the second it would take to import pandas. Each runs the real command line
(`ingest ... --json`) on a real workbook file.
"""
from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import signal
import sqlite3

import pytest
from sqlalchemy import func, select, text

from liushou_dash import cli
from liushou_dash.core.db import session_maker, transaction
from liushou_dash.core.filtering import Filter
from liushou_dash.core.models import (
    AuditEntry,
    FundingEntry,
    Home,
    SchoolReturn,
    Submission,
    Township,
)
from liushou_dash.workflow import uploads
from tests.fixtures import TOWNSHIP, assert_same_tables, school_frame
from tests.returns import workbook

FORK = multiprocessing.get_context("fork")
PERIOD = uploads.open_period()   # a month the ingest accepts today (not in the future)
TIMEOUT = 120


def url_of(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def townships(engine) -> list[str]:
    with session_maker(engine)() as session:
        return list(session.scalars(select(Township.code).order_by(Township.code)))


def write_workbooks(engine, tmp_path, codes) -> dict[str, str]:
    """One valid 学校月报 workbook per township, as a file on disk."""
    paths = {}
    for code in codes:
        path = tmp_path / f"{code}.xlsx"
        path.write_bytes(workbook({"schools": school_frame(engine, code)}))
        paths[code] = str(path)
    return paths


def ingest_cli(url: str, path: str, township: str) -> tuple[int, dict]:
    """`python -m liushou_dash --db URL ingest FILE --township T --period P --json`."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["--db", url, "ingest", path, "--township", township,
                         "--period", PERIOD, "--json"])
    return code, json.loads(out.getvalue())


def _child(url, path, township, start, results) -> None:
    start.wait()  # every process starts its ingest at the same moment
    try:
        results.put((township, *ingest_cli(url, path, township)))
    except Exception as exc:  # reported to the parent, which fails the test with it
        results.put((township, -1, {"exception": repr(exc)}))


def counts(engine) -> dict[str, int]:
    with session_maker(engine)() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (Submission, SchoolReturn, Home, FundingEntry, AuditEntry)}


def run_at_once(url: str, jobs: list[tuple[str, str]]) -> list[tuple[str, int, dict]]:
    """(township, exit code, JSON report) of each (file, township) ingested by its own
    process, all started at the same moment."""
    start, results = FORK.Barrier(len(jobs)), FORK.Queue()
    children = [FORK.Process(target=_child, args=(url, path, township, start, results))
                for path, township in jobs]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=TIMEOUT) for _ in children]
    for child in children:
        child.join(TIMEOUT)
    return outcomes


def current_submissions(engine, township: str | None = None) -> list[tuple[str, int]]:
    query = select(Submission.township_code, Submission.id).where(
        Submission.period == PERIOD, Submission.is_current.is_(True))
    if township:
        query = query.where(Submission.township_code == township)
    with session_maker(engine)() as session:
        return [tuple(row) for row in session.execute(query)]


def test_every_township_uploads_at_once(any_engine, tmp_path):
    engine = any_engine
    codes = townships(engine)
    assert len(codes) == 29
    paths = write_workbooks(engine, tmp_path, codes)
    engine.dispose()  # no connection of the parent's is carried into a child

    outcomes = run_at_once(url_of(engine), [(paths[c], c) for c in codes])

    failed = {t: r for t, code, r in outcomes if code != 0 or not r.get("accepted")}
    assert not failed, failed
    stored = current_submissions(engine)
    assert sorted(t for t, _ in stored) == codes
    assert {i for _, i in stored} == {r["submission_id"] for _, _, r in outcomes}
    assert counts(engine)["school_returns"] == sum(r["rows"]["schools"] for _, _, r in outcomes)
    # Each was the first upload of the month in its own transaction: every township's
    # stored month still shows its own return.
    assert_same_tables(engine, [Filter((PERIOD,)), Filter((PERIOD,), approved_only=True)])


@pytest.fixture(params=["sqlite", "postgresql"])
def race_engine(request):
    return request.getfixturevalue("engine" if request.param == "sqlite" else "pg_engine")


def test_uploads_of_one_township_at_once_leave_one_current_submission(race_engine, tmp_path):
    """Two clerks of a township (or one clicking twice) must not both become current."""
    engine = race_engine
    path = write_workbooks(engine, tmp_path, [TOWNSHIP])[TOWNSHIP]
    engine.dispose()

    outcomes = run_at_once(url_of(engine), [(path, TOWNSHIP)] * 6)

    assert all(code == 0 for _, code, _ in outcomes), outcomes
    assert len(current_submissions(engine, TOWNSHIP)) == 1
    with session_maker(engine)() as session:  # each superseded the one stored before it
        chain = session.execute(select(Submission.id, Submission.previous_id)
                                .order_by(Submission.id)).all()
    assert [previous for _, previous in chain] == [None] + [i for i, _ in chain[:-1]]


def test_a_sqlite_write_transaction_holds_the_write_lock_from_its_start(engine):
    """BEGIN IMMEDIATE (db.py): a second writer cannot start while a write transaction that
    has only read is open; a plain read still can."""
    with transaction(engine) as session:
        session.execute(select(Township.code)).first()  # a read only, so far
        other = sqlite3.connect(engine.url.database, timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        assert other.execute("SELECT count(*) FROM townships").fetchone()[0] == 29
        other.close()


def _killed_child(url, path, inside) -> None:
    """An ingest that stops for good just before its commit, with everything written."""
    import liushou_dash.ingest as ingest

    real_store = ingest.store_submission

    def store_then_hang(session, **kwargs):
        submission = real_store(session, **kwargs)
        session.flush()  # every row is in the database's transaction now
        inside.set()
        signal.pause()
        return submission

    ingest.store_submission = store_then_hang
    ingest_cli(url, path, TOWNSHIP)


def test_an_ingest_killed_inside_its_transaction_leaves_nothing(any_engine, tmp_path):
    engine = any_engine
    path = write_workbooks(engine, tmp_path, [TOWNSHIP])[TOWNSHIP]
    before = counts(engine)
    engine.dispose()
    inside = FORK.Event()
    child = FORK.Process(target=_killed_child, args=(url_of(engine), path, inside))
    child.start()
    assert inside.wait(TIMEOUT), "the ingest never reached its commit"

    os.kill(child.pid, signal.SIGKILL)
    child.join(TIMEOUT)

    assert child.exitcode == -signal.SIGKILL
    assert counts(engine) == before
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    code, report = ingest_cli(url_of(engine), path, TOWNSHIP)  # nothing is left locked
    assert code == 0 and report["accepted"], report
    assert counts(engine)["submissions"] == before["submissions"] + 1
