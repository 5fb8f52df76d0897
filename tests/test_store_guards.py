"""What the database guards whatever the code above it does (one current submission per
township and month), and what the store makes fit (a file name of any length)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from liushou_dash.core.db import session_maker, transaction
from liushou_dash.core.models import AuditEntry, Submission
from liushou_dash.ingest import ingest_file
from liushou_dash.ingest.store import store_submission, stored_file_name
from liushou_dash.workflow import review
from tests.fixtures import TOWNSHIP, make_user, school_frame
from tests.returns import workbook

PERIOD, TODAY = "2026-10", dt.date(2026, 11, 22)


def store(engine, seed: int = 0) -> int:
    with transaction(engine) as session:
        return store_submission(session, township_code=TOWNSHIP, period=PERIOD,
                                username="clerk108",
                                frames={"schools": school_frame(engine, seed=seed)}).id


def current_ids(engine) -> list[int]:
    with session_maker(engine)() as session:
        return list(session.scalars(select(Submission.id).where(
            Submission.township_code == TOWNSHIP, Submission.period == PERIOD,
            Submission.is_current.is_(True))))


def add_submission(engine, is_current: bool) -> None:
    with transaction(engine) as session:
        session.add(Submission(township_code=TOWNSHIP, period=PERIOD, username="forger",
                               submitted_at=dt.datetime.now(), is_current=is_current))


def test_the_database_refuses_a_second_current_submission(any_engine):
    first = store(any_engine)
    with pytest.raises(IntegrityError):
        add_submission(any_engine, is_current=True)
    add_submission(any_engine, is_current=False)  # superseded ones are kept, any number
    assert current_ids(any_engine) == [first]


def test_uploads_and_roll_backs_keep_one_current_submission(any_engine):
    """The store and the roll back clear the old current row before setting the new one,
    so the unique index never sees two."""
    staff = make_user(any_engine, "staffx", "staff")
    first, second = store(any_engine, 1), store(any_engine, 2)
    assert current_ids(any_engine) == [second]
    review.roll_back(any_engine, staff, first)
    assert current_ids(any_engine) == [first]
    third = store(any_engine, 3)
    review.roll_back(any_engine, staff, second)
    assert current_ids(any_engine) == [second]
    with session_maker(any_engine)() as session:
        assert session.get(Submission, third).previous_id == first


def test_a_long_file_name_is_shortened_keeping_its_extension(any_engine):
    name = "张家湾镇留守儿童关爱工作月报（第二次更正，含学校、之家与资金台账）" * 10 + ".xlsx"
    assert len(name) > 300
    report = ingest_file(any_engine, workbook({"schools": school_frame(any_engine)}), name,
                         TOWNSHIP, PERIOD, username=None, today=TODAY)
    assert report.accepted, report.errors
    with session_maker(any_engine)() as session:
        stored = session.get(Submission, report.submission_id).file_name
        logged = session.scalars(select(AuditEntry.detail).where(
            AuditEntry.after_id == report.submission_id)).one()
    assert len(stored) == 255 and stored.endswith("….xlsx")
    assert stored.startswith(name[:200]) and stored in logged


@pytest.mark.parametrize("name, expected", [
    ("月报.xlsx", "月报.xlsx"),
    ("a" * 255, "a" * 255),
    ("a" * 300, "a" * 254 + "…"),
    ("a" * 300 + ".ods", "a" * 250 + "….ods"),
    ("a" * 150 + "." + "b" * 150, "a" * 150 + "." + "b" * 103 + "…"),  # no real extension
])
def test_stored_file_names_fit_their_column(name, expected):
    assert stored_file_name(name) == expected
