"""The county's review of submissions (docs/ARCHITECTURE.md, step 4).

已提交 submitted -> 已审核 approved or 已退回 returned (with a comment; the clerk uploads
again). Approving locks the township's month: the ingest refuses a later upload with E15
while the current submission is approved (ingest/context.py), so unlocking is setting it
back to submitted. Rolling back makes another submission of the same township and month
current again; nothing is ever deleted.

Only county staff and the administrator review, and never their own submission: approving
and returning are a second person's check of the first one's upload (maker-checker); who
finds a mistake in their own upload corrects it by uploading again. Each action is one
transaction (through auth.acting, which also audits refusals) and leaves an audit row with
before/after ids.
Each first locks the township's row, as an upload does (ingest/context.py), so that a review
and an upload of the same township take turns; in the same transaction it rewrites the
township's stored months (township_months.py), since what they show depends on which
submission is current and approved.
"""
from __future__ import annotations

import datetime as dt
import json

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from liushou_dash.catalog import NO, YES
from liushou_dash.core import audit, township_months
from liushou_dash.core.actors import ROLES, Actor
from liushou_dash.core.models import (
    APPROVED,
    RETURNED,
    STATUS_LABELS,
    SUBMITTED,
    Submission,
    Township,
)
from liushou_dash.workflow.auth import acting, require_township, township_scope

REVIEWERS = ("staff", "admin")
OWN_SUBMISSION = "不能审核本人提交的数据：审核（通过或退回）须由提交人以外的审核人员完成"
RETURN_NEEDS_COMMENT = "退回时必须填写退回意见，说明需要更正的内容"
SENTENCE_ENDS = "。！？.!?…"


def _label(submission: Submission) -> str:
    """The audit trail's object id for a township's month, as the store writes it."""
    return f"{submission.township_code}/{submission.period}"


def _lock_township(session: Session, township_code: str) -> None:
    """The township's row, locked first as ingest locks it first (no deadlock)."""
    session.get(Township, township_code, with_for_update=True)


def _submission(session: Session, submission_id: int) -> Submission:
    """The submission, row-locked (PostgreSQL) after its township's row, so that two
    reviewers, or a reviewer and an upload, cannot both act on it."""
    township_code = session.scalar(select(Submission.township_code)
                                   .where(Submission.id == submission_id))
    if township_code is None:
        raise ValueError(f"提交记录 {submission_id} 不存在")
    _lock_township(session, township_code)
    return session.get(Submission, submission_id, with_for_update=True, populate_existing=True)


def _shown_again(session: Session, submission: Submission) -> None:
    """The township's stored months from the submission's month on, after a change."""
    session.flush()
    township_months.refresh(session.connection(), submission.township_code, submission.period)


def _current(session: Session, township_code: str, period: str) -> Submission | None:
    return session.scalars(select(Submission).where(
        Submission.township_code == township_code, Submission.period == period,
        Submission.is_current.is_(True)).with_for_update()).first()


def _status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def comment_sentence(comment: str) -> str:
    """A reviewer's comment as a sentence inside a message: with one closing mark, its own
    when it has one (a comment typed with 。 must not show as "。。")."""
    comment = (comment or "").strip()
    return comment if comment.endswith(tuple(SENTENCE_ENDS)) else f"{comment}。"


def may_review(actor: Actor, submitter: str | None) -> bool:
    """Whether `actor` may approve or return a submission uploaded by `submitter`: anyone
    but the submitter (the role is checked by auth.acting)."""
    return actor.username != submitter


def reviewable(session: Session, reviewer: Actor, submission_id: int) -> Submission:
    """The submission, locked, for `reviewer` to decide on (approve, return, confirm a flagged
    value): refused when it is theirs."""
    submission = _submission(session, submission_id)
    if not may_review(reviewer, submission.username):
        raise PermissionError(OWN_SUBMISSION)
    return submission


def _review(engine: Engine, actor: Actor, submission_id: int, action: str, status: str,
            comment: str) -> Submission:
    """Approve and return differ only in the status they set (and whether a comment is
    required, checked by the callers): both act on the current, still unreviewed submission
    of somebody else."""
    with acting(engine, actor, action, *REVIEWERS, object_type="submission",
                object_id=str(submission_id)) as (session, me):
        submission = reviewable(session, me, submission_id)
        if not submission.is_current:
            raise ValueError("该提交已被更新的提交取代，只能审核当前有效的提交")
        if submission.status != SUBMITTED:
            raise ValueError(f"该提交的状态为“{_status_label(submission.status)}”，"
                             "只能审核状态为“已提交”的提交")
        submission.status, submission.review_comment = status, comment or None
        submission.reviewed_by, submission.reviewed_at = me.username, dt.datetime.now()
        _shown_again(session, submission)
        audit.record(session, me.username, action, "submission", _label(submission),
                     before_id=submission.id, after_id=submission.id,
                     status_before=SUBMITTED, status_after=status, comment=comment)
    return submission


def approve(engine: Engine, actor: Actor, submission_id: int, comment: str = "") -> Submission:
    """Approve the current submission of a township's month, which locks the month."""
    return _review(engine, actor, submission_id, "approve", APPROVED, (comment or "").strip())


def return_submission(engine: Engine, actor: Actor, submission_id: int,
                      comment: str) -> Submission:
    """Send the current submission back to the township; the comment tells the clerk why."""
    comment = (comment or "").strip()
    if not comment:
        raise ValueError(RETURN_NEEDS_COMMENT)
    return _review(engine, actor, submission_id, "return", RETURNED, comment)


def unlock(engine: Engine, actor: Actor, township_code: str, period: str,
           comment: str = "") -> Submission:
    """Set an approved month back to submitted so the township may upload again. The
    approval is cleared from the row (it no longer stands) and kept in the audit row."""
    with acting(engine, actor, "unlock", *REVIEWERS, object_type="submission",
                object_id=f"{township_code}/{period}") as (session, me):
        _lock_township(session, township_code)
        submission = _current(session, township_code, period)
        if submission is None or submission.status != APPROVED:
            raise ValueError(f"{township_code} {period} 没有已审核锁定的数据，无需解锁")
        approved_by = submission.reviewed_by
        submission.status = SUBMITTED
        submission.review_comment = submission.reviewed_by = submission.reviewed_at = None
        _shown_again(session, submission)
        audit.record(session, me.username, "unlock", "submission", _label(submission),
                     before_id=submission.id, after_id=submission.id,
                     status_before=APPROVED, status_after=SUBMITTED, approved_by=approved_by,
                     comment=(comment or "").strip())
    return submission


def roll_back(engine: Engine, actor: Actor, submission_id: int) -> Submission:
    """Make submission `submission_id` the current one of its township's month again.

    Normally an earlier submission; choosing the one rolled back from undoes a roll back.
    The superseded submission keeps its status. An approved month must be unlocked first,
    because rolling back changes the data the approval was given to."""
    with acting(engine, actor, "roll_back", *REVIEWERS, object_type="submission",
                object_id=str(submission_id)) as (session, me):
        target = _submission(session, submission_id)
        if target.is_current:
            raise ValueError("该提交已是当前有效数据，无需回退")
        current = _current(session, target.township_code, target.period)
        if current is not None and current.status == APPROVED:
            raise ValueError("该月数据已审核锁定，请先解锁再回退")
        if current is not None:
            current.is_current = False
            session.flush()  # first, so that there is never a moment with two current rows
        target.is_current = True
        _shown_again(session, target)
        audit.record(session, me.username, "roll_back", "submission", _label(target),
                     before_id=current.id if current else None, after_id=target.id,
                     status=target.status)
    return target


# --- Lists for the 审核 and 数据上报 pages --------------------------------------------------------

LIST_COLUMNS = (Submission.id, Submission.township_code, Township.name.label("township_name"),
                Submission.period, Submission.username, Submission.submitted_at,
                Submission.file_name, Submission.carried, Submission.warnings,
                Submission.status, Submission.is_current, Submission.previous_id,
                Submission.review_comment, Submission.reviewed_by, Submission.reviewed_at)


def _frame(session: Session, *conditions, order_by=None) -> pd.DataFrame:
    query = (select(*LIST_COLUMNS).join(Township, Township.code == Submission.township_code)
             .where(*conditions)
             .order_by(*(order_by or (Submission.period.desc(), Submission.township_code,
                                      Submission.id.desc()))))
    frame = pd.read_sql(query, session.connection())
    frame.insert(frame.columns.get_loc("status") + 1, "status_label",
                 frame["status"].map(_status_label))
    # 是/否 for people, never blank: a superseded submission is a plain 否
    frame.insert(frame.columns.get_loc("is_current") + 1, "current",
                 frame["is_current"].astype(bool).map({True: YES, False: NO}))
    frame["warning_count"] = frame.pop("warnings").map(lambda text: len(json.loads(text or "[]")))
    return frame


def submissions(engine: Engine, actor: Actor, township_code: str | None = None,
                period: str | None = None) -> pd.DataFrame:
    """Every submission (current or not), newest month first. A clerk gets their own township
    only, by the WHERE clause; asking for another township is refused."""
    with acting(engine, actor, "list_submissions", *ROLES, object_type="submission",
                object_id=township_code) as (session, me):
        require_township(me, township_code)
        township_code = township_scope(me) or township_code
        conditions = []
        if township_code is not None:
            conditions.append(Submission.township_code == township_code)
        if period is not None:
            conditions.append(Submission.period == period)
        return _frame(session, *conditions)


def pending(engine: Engine, actor: Actor) -> pd.DataFrame:
    """Current submissions awaiting review, oldest first (the reviewers' queue)."""
    with acting(engine, actor, "list_pending", *REVIEWERS,
                object_type="submission") as (session, _):
        return _frame(session, Submission.is_current.is_(True), Submission.status == SUBMITTED,
                      order_by=(Submission.submitted_at, Submission.id))
