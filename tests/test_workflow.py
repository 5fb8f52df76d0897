"""Review workflow: approve (locks the month), return, unlock, roll back, scoped lists."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from liushou_dash.core.db import session_maker, transaction
from liushou_dash.core.models import (
    APPROVED,
    RETURNED,
    SUBMITTED,
    AuditEntry,
    Submission,
)
from liushou_dash.ingest import ingest_file
from liushou_dash.ingest.store import store_submission
from liushou_dash.workflow import accounts, review
from tests.fixtures import OTHER_TOWNSHIP, TOWNSHIP, audit_rows, make_user, school_frame
from tests.returns import workbook

PERIOD = "2026-10"
TODAY = dt.date(2026, 11, 22)


@pytest.fixture
def people(engine):
    return _people(engine)


def _people(engine) -> dict:
    """One logged-in account of each kind: a reviewer, the admin, a leader and two clerks."""
    return {"staff": make_user(engine, "staffx", "staff"),
            "admin": make_user(engine, "boss", "admin"),
            "leader": make_user(engine, "leaderx", "leader"),
            "clerk": make_user(engine, "clerk108", "clerk", TOWNSHIP),
            "other_clerk": make_user(engine, "clerk101", "clerk", OTHER_TOWNSHIP)}


def submit(engine, township=TOWNSHIP, period=PERIOD, seed=0) -> int:
    """Store a valid submission straight through the store (the upload path is tested
    end to end below); returns its id."""
    with transaction(engine) as session:
        return store_submission(
            session, township_code=township, period=period, username="clerk108",
            frames={"schools": school_frame(engine, township, seed=seed)}).id


def row(engine, submission_id) -> Submission:
    with session_maker(engine)() as session:
        return session.get(Submission, submission_id)


def upload(engine, username="clerk108"):
    data = workbook({"schools": school_frame(engine)})
    return ingest_file(engine, data, "月报.xlsx", TOWNSHIP, PERIOD, username=username,
                       today=TODAY)


def test_approve_locks_the_month_until_unlocked(any_engine):
    engine, people = any_engine, _people(any_engine)
    first = upload(engine)
    assert first.accepted, first.errors

    approved = review.approve(engine, people["staff"], first.submission_id, comment="数据无误")
    assert (approved.status, approved.reviewed_by) == (APPROVED, "staffx")
    refused = upload(engine)
    assert not refused.accepted and refused.submission_id is None
    assert [e.code for e in refused.errors] == ["E15"] and "锁定" in refused.errors[0].message

    review.unlock(engine, people["admin"], TOWNSHIP, PERIOD)
    unlocked = row(engine, first.submission_id)
    assert unlocked.status == SUBMITTED and unlocked.reviewed_by is None
    second = upload(engine)
    assert second.accepted and row(engine, second.submission_id).previous_id == first.submission_id

    [approve_row] = audit_rows(engine, "approve", "staffx")
    [unlock_row] = audit_rows(engine, "unlock", "boss")
    for entry in (approve_row, unlock_row):
        assert entry.before_id == entry.after_id == first.submission_id
        assert entry.object_id == f"{TOWNSHIP}/{PERIOD}"
    assert json.loads(unlock_row.detail)["approved_by"] == "staffx"


def test_return_needs_a_comment_and_the_clerk_may_upload_again(engine, people):
    first = submit(engine)
    with pytest.raises(ValueError, match="退回意见"):
        review.return_submission(engine, people["staff"], first, "   ")
    assert row(engine, first).status == SUBMITTED

    review.return_submission(engine, people["staff"], first, "请核实寄宿人数")
    returned = row(engine, first)
    assert (returned.status, returned.review_comment) == (RETURNED, "请核实寄宿人数")
    second = upload(engine)
    assert second.accepted
    assert row(engine, second.submission_id).status == SUBMITTED
    assert audit_rows(engine, "return", "staffx")[0].after_id == first


def test_only_the_current_unreviewed_submission_can_be_reviewed(engine, people):
    old, new = submit(engine), submit(engine, seed=1)
    staff = people["staff"]
    with pytest.raises(ValueError, match="取代"):
        review.approve(engine, staff, old)
    review.approve(engine, staff, new)
    with pytest.raises(ValueError, match="已审核"):
        review.approve(engine, staff, new)
    with pytest.raises(ValueError, match="已审核"):
        review.return_submission(engine, staff, new, "退回")
    with pytest.raises(ValueError, match="不存在"):
        review.approve(engine, staff, 99999)
    with pytest.raises(ValueError, match="无需解锁"):
        review.unlock(engine, staff, OTHER_TOWNSHIP, PERIOD)
    assert len(audit_rows(engine, "approve")) == 1


def test_roll_back_makes_an_earlier_submission_current(engine, people):
    first, second, third = (submit(engine, seed=s) for s in range(3))
    staff = people["staff"]
    review.return_submission(engine, staff, third, "数据有误")

    review.roll_back(engine, staff, first)
    assert [(row(engine, i).is_current, row(engine, i).status)
            for i in (first, second, third)] == [
        (True, SUBMITTED), (False, SUBMITTED), (False, RETURNED)]
    [entry] = audit_rows(engine, "roll_back", "staffx")
    assert (entry.before_id, entry.after_id) == (third, first)
    with pytest.raises(ValueError, match="无需回退"):
        review.roll_back(engine, staff, first)

    review.approve(engine, staff, first)
    with pytest.raises(ValueError, match="先解锁"):
        review.roll_back(engine, staff, third)
    review.unlock(engine, staff, TOWNSHIP, PERIOD)
    review.roll_back(engine, staff, third)  # undoing the roll back
    with session_maker(engine)() as session:
        current = session.scalars(select(Submission.id).where(
            Submission.is_current.is_(True))).all()
    assert current == [third]


@pytest.mark.parametrize("who", ["clerk", "leader"])
def test_only_reviewers_review_and_refusals_are_audited(engine, people, who):
    submission_id = submit(engine)
    review.approve(engine, people["staff"], submit(engine, OTHER_TOWNSHIP))
    actor = people[who]
    attempts = {
        "approve": lambda: review.approve(engine, actor, submission_id),
        "return": lambda: review.return_submission(engine, actor, submission_id, "退回"),
        "unlock": lambda: review.unlock(engine, actor, OTHER_TOWNSHIP, PERIOD),
        "roll_back": lambda: review.roll_back(engine, actor, submission_id),
        "list_pending": lambda: review.pending(engine, actor),
    }
    for attempt in attempts.values():
        with pytest.raises(PermissionError, match="县级审核人员"):
            attempt()
    assert row(engine, submission_id).status == SUBMITTED
    denied = audit_rows(engine, "denied", actor.username)
    assert [json.loads(e.detail)["refused"] for e in denied] == list(attempts)


def test_clerk_lists_only_their_own_township(engine, people):
    own, other = submit(engine), submit(engine, OTHER_TOWNSHIP)
    september = submit(engine, period="2026-09")
    clerk = people["clerk"]

    mine = review.submissions(engine, clerk)
    assert set(mine["township_code"]) == {TOWNSHIP} and len(mine) == 2
    assert list(mine["period"]) == ["2026-10", "2026-09"]  # newest month first
    assert list(review.submissions(engine, clerk, period=PERIOD)["id"]) == [own]
    with pytest.raises(PermissionError, match="本乡镇"):
        review.submissions(engine, clerk, township_code=OTHER_TOWNSHIP)
    [entry] = audit_rows(engine, "denied", "clerk108")
    assert entry.object_id == OTHER_TOWNSHIP

    for reader in ("leader", "staff"):
        everything = review.submissions(engine, people[reader])
        assert set(everything["id"]) == {own, other, september}
    chosen = review.submissions(engine, people["leader"], township_code=OTHER_TOWNSHIP)
    assert list(chosen["id"]) == [other]
    assert chosen.loc[0, "township_name"] == "骔岭镇" and chosen.loc[0, "status_label"] == "已提交"


def test_pending_is_the_current_unreviewed_submissions_oldest_first(engine, people):
    superseded, waiting = submit(engine), submit(engine, seed=1)
    approved = submit(engine, OTHER_TOWNSHIP)
    earlier_month = submit(engine, period="2026-09")
    review.approve(engine, people["staff"], approved)

    queue = review.pending(engine, people["admin"])
    assert list(queue["id"]) == [waiting, earlier_month]
    assert superseded not in set(queue["id"])
    assert (queue["warning_count"] == 0).all()


def test_a_deactivated_reviewer_is_refused_at_once(engine, people):
    submission_id = submit(engine)
    accounts.set_active(engine, people["admin"], "staffx", False)
    with pytest.raises(PermissionError, match="停用"):
        review.approve(engine, people["staff"], submission_id)
    assert row(engine, submission_id).status == SUBMITTED
    with session_maker(engine)() as session:
        assert session.scalars(select(AuditEntry.action).where(
            AuditEntry.username == "staffx")).all()[-1] == "denied"


def test_a_reviewer_never_reviews_their_own_submission(any_engine):
    """Maker-checker: the reviewer who uploaded a month may neither approve nor return it;
    each refusal is audited, and another reviewer may approve it."""
    engine, people = any_engine, _people(any_engine)
    own = upload(engine, username="staffx")
    assert own.accepted, own.errors
    attempts = {"approve": lambda: review.approve(engine, people["staff"], own.submission_id),
                "return": lambda: review.return_submission(engine, people["staff"],
                                                             own.submission_id, "请核实")}
    for attempt in attempts.values():
        with pytest.raises(PermissionError, match="不能审核本人提交的数据"):
            attempt()
    assert row(engine, own.submission_id).status == SUBMITTED
    denied = [json.loads(e.detail) for e in audit_rows(engine, "denied", "staffx")]
    assert [d["refused"] for d in denied] == list(attempts)
    assert all("本人" in d["reason"] for d in denied)

    approved = review.approve(engine, people["admin"], own.submission_id)
    assert (approved.status, approved.reviewed_by) == (APPROVED, "boss")
