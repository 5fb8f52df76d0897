"""The file is read (in the reader worker, waited for by a thread of its own) while the
database work that does not depend on it is done: what a refused or failed read leaves behind
is as when it was read first. Reading and checking take no lock: a login goes through while
a file is being checked, and what may change before the store is checked again by it."""
from __future__ import annotations

import datetime as dt
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

import liushou_dash.ingest as ingest_package
from liushou_dash.core.db import session_maker
from liushou_dash.core.models import AuditEntry, SchoolReturn, Submission
from liushou_dash.ingest import ingest_file
from liushou_dash.workflow import auth, review, uploads
from tests.fixtures import PASSWORD, TOWNSHIP, audit_rows, make_user, school_frame
from tests.returns import workbook

TODAY = dt.date(2026, 11, 22)


def _counts(engine) -> tuple[int, int, int]:
    with session_maker(engine)() as s:
        return tuple(s.scalar(select(func.count()).select_from(m))
                     for m in (Submission, SchoolReturn, AuditEntry))


@pytest.mark.parametrize("township", [TOWNSHIP, "999999999"])
def test_an_unreadable_file_is_refused_with_e01_alone(any_engine, township):
    before = _counts(any_engine)
    report = ingest_file(any_engine, b"%PDF-1.4 not a spreadsheet", "x.pdf", township, "2026-10",
                         username="nobody", today=TODAY)
    assert not report.accepted
    assert [i.code for i in report.errors] == ["E01"] and not report.warnings
    assert report.rows == dict.fromkeys(report.rows, 0) and not report.frames
    assert _counts(any_engine) == before


def test_a_read_that_fails_stores_nothing_and_the_township_stays_open(engine, monkeypatch):
    def broken(data):
        raise RuntimeError("the reader broke")
    monkeypatch.setattr(ingest_package, "read_upload", broken)
    data = workbook({"schools": school_frame(engine)})
    before = _counts(engine)
    with pytest.raises(RuntimeError):
        ingest_file(engine, data, "r.xlsx", TOWNSHIP, "2026-10", today=TODAY)
    assert _counts(engine) == before
    monkeypatch.undo()
    report = ingest_file(engine, data, "r.xlsx", TOWNSHIP, "2026-10", today=TODAY)
    assert report.accepted, [i.message for i in report.errors]


@contextmanager
def checking(monkeypatch, engine, data: bytes, **kwargs):
    """An ingest of `data` in a thread of its own, held in the middle of its check (between
    reading the file and validating it) until the block ends; yields the list its report
    lands in. A real check of a large file takes seconds here; holding it makes "during the
    check" certain."""
    inside, go_on, reports = threading.Event(), threading.Event(), []
    validate = ingest_package.validate

    def held(*args):
        inside.set()
        go_on.wait()
        return validate(*args)
    monkeypatch.setattr(ingest_package, "validate", held)
    ingesting = threading.Thread(target=lambda: reports.append(ingest_file(
        engine, data, "r.xlsx", TOWNSHIP, "2026-10", today=TODAY, **kwargs)))
    ingesting.start()
    try:
        assert inside.wait(120), "the ingest never reached its check"
        yield reports
    finally:
        go_on.set()
        ingesting.join()


@pytest.mark.parametrize("dry_run", [True, False], ids=["check", "check_then_store"])
def test_a_login_goes_through_while_a_file_is_checked(engine, monkeypatch, dry_run):
    """A login writes its audit row in a write transaction, which on SQLite waits for any
    other; were the check inside one, this login would wait for it, then fail with
    "database is locked"."""
    make_user(engine, "clerk108", "clerk", TOWNSHIP)
    with checking(monkeypatch, engine, workbook({"schools": school_frame(engine)}),
                  username="clerk108", dry_run=dry_run) as reports:
        actor = auth.authenticate(engine, "clerk108", PASSWORD)
    assert actor.username == "clerk108" and len(audit_rows(engine, "login", "clerk108")) == 2
    assert reports[0].accepted and (reports[0].submission_id is None) == dry_run


def test_a_month_approved_during_the_check_is_not_stored(engine, monkeypatch):
    """The check reads without a lock; the store checks the month's approval again."""
    make_user(engine, "clerk108", "clerk", TOWNSHIP)
    staff = make_user(engine, "staff1", "staff")
    data = workbook({"schools": school_frame(engine)})
    first = ingest_file(engine, data, "r.xlsx", TOWNSHIP, "2026-10", username="clerk108",
                        today=TODAY)
    with checking(monkeypatch, engine, data, username="clerk108") as reports:
        review.approve(engine, staff, first.submission_id)
    report = reports[0]
    assert not report.accepted and report.submission_id is None
    assert [e.code for e in report.errors] == ["E15"] and "已审核锁定" in report.errors[0].message
    with session_maker(engine)() as session:
        assert session.scalars(select(Submission.id)).all() == [first.submission_id]
    assert audit_rows(engine, "denied", "clerk108")[-1].object_id == f"{TOWNSHIP}/2026-10"


def test_the_pages_check_goes_through_while_another_writer_holds_the_lock(engine):
    """The 数据上报 page checks a file (uploads.upload, dry run) without writing: neither the
    clerk's rights nor the file take SQLite's write lock, so the check does not wait for a
    writer (nor would a writer wait for it). Were either a write, it would wait out the busy
    timeout and fail with "database is locked"."""
    clerk = make_user(engine, "clerk108", "clerk", TOWNSHIP)
    data = workbook({"schools": school_frame(engine)})
    with engine.connect() as writer:
        writer.exec_driver_sql("BEGIN IMMEDIATE")
        report = uploads.upload(engine, clerk, TOWNSHIP, "2026-10", data, "r.xlsx",
                                dry_run=True, today=TODAY)
        writer.exec_driver_sql("ROLLBACK")
    assert report.accepted and report.submission_id is None
