"""The file is read in a thread of its own while the database work that does not depend on
it is done: what a refused or failed read leaves behind is as when it was read first."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

import liushou_dash.ingest as ingest_package
from liushou_dash.db import session_maker
from liushou_dash.ingest import ingest_file
from liushou_dash.models import AuditEntry, SchoolReturn, Submission
from tests.fixtures import TOWNSHIP, school_frame
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
        raise MemoryError("calamine ran out")
    monkeypatch.setattr(ingest_package, "read_file", broken)
    data = workbook({"schools": school_frame(engine)})
    before = _counts(engine)
    with pytest.raises(MemoryError):
        ingest_file(engine, data, "r.xlsx", TOWNSHIP, "2026-10", today=TODAY)
    assert _counts(engine) == before
    monkeypatch.undo()
    report = ingest_file(engine, data, "r.xlsx", TOWNSHIP, "2026-10", today=TODAY)
    assert report.accepted, [i.message for i in report.errors]
