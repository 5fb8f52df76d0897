"""Store one accepted return as a new submission, inside the caller's transaction."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import PurePath

import pandas as pd
from sqlalchemy import insert, literal, select
from sqlalchemy.orm import Session

from liushou_dash import catalog
from liushou_dash.core import audit, rollup, township_months
from liushou_dash.core.actors import Actor
from liushou_dash.core.bulk import insert_frame
from liushou_dash.core.models import FundingEntry, Home, SchoolReturn, Submission

MODELS = {"schools": SchoolReturn, "homes": Home, "funding": FundingEntry}
FILE_NAME_LENGTH = Submission.file_name.type.length  # characters, on every database
LONGEST_EXTENSION = 10  # a longer "extension" is part of the name


def stored_file_name(file_name: str) -> str:
    """The uploaded file's name as it fits its column: a longer one (a browser sends
    whatever the clerk's system allows) keeps its start, an ellipsis and its extension,
    so the 审核 page still shows what the file was."""
    if len(file_name) <= FILE_NAME_LENGTH:
        return file_name
    extension = PurePath(file_name).suffix
    if len(extension) > LONGEST_EXTENSION:
        extension = ""
    return file_name[:FILE_NAME_LENGTH - len(extension) - 1] + "…" + extension


def current_submission(session: Session, township_code: str, period: str) -> Submission | None:
    return session.scalars(select(Submission).where(
        Submission.township_code == township_code, Submission.period == period,
        Submission.is_current.is_(True))).first()


def _rows(sheet_key: str, frame: pd.DataFrame, submission: Submission) -> pd.DataFrame:
    """The sheet's catalogue columns plus the columns that tie each row to the submission."""
    rows = frame[[f.key for f in catalog.SHEETS_BY_KEY[sheet_key].fields]].assign(
        submission_id=submission.id, township_code=submission.township_code)
    if sheet_key == "schools":
        rows["period"] = submission.period
    if sheet_key == "funding":
        rows["year"] = [d.year for d in rows["date"]]
    return rows


def _copy_rows(session: Session, model, source_id: int, target_id: int) -> None:
    columns = [c.name for c in model.__table__.columns if c.name not in ("id", "submission_id")]
    table = model.__table__
    session.execute(insert(table).from_select(
        ["submission_id", *columns],
        select(literal(target_id), *[table.c[c] for c in columns])
        .where(table.c.submission_id == source_id)))


def store_submission(session: Session, *, township_code: str, period: str,
                     frames: dict[str, pd.DataFrame], username: str | None = None,
                     file_name: str = "", sha256: str = "", warnings: list[dict] = (),
                     submitted_at: dt.datetime | None = None) -> Submission:
    """Add a submission carrying `frames` (sheet key -> typed frame with catalogue keys).

    Sheets the file did not carry are copied from the submission it supersedes, which stays
    in the database, no longer current, so the county can roll back to it. `username` None
    is the command line, named by the operating-system user who ran it."""
    username = username or Actor.system().username
    file_name = stored_file_name(file_name)
    previous = current_submission(session, township_code, period)
    if previous is not None:
        previous.is_current = False
        session.flush()  # before the new current row: the database allows one at a time

    def has(sheet_key: str) -> bool:
        return sheet_key in frames or bool(previous and getattr(previous, f"has_{sheet_key}"))

    submission = Submission(
        township_code=township_code, period=period, username=username,
        submitted_at=submitted_at or dt.datetime.now(), file_name=file_name, file_sha256=sha256,
        has_schools=has("schools"), has_homes=has("homes"), has_funding=has("funding"),
        carried=",".join(k for k in MODELS if k in frames),
        warnings=json.dumps(list(warnings), ensure_ascii=False),
        is_current=True, previous_id=previous.id if previous else None)
    session.add(submission)
    session.flush()
    for sheet_key, model in MODELS.items():
        if sheet_key in frames:  # a whole sheet at once: a return may list 20,000 schools
            insert_frame(session.connection(), model.__table__,
                         _rows(sheet_key, frames[sheet_key], submission))
        elif previous is not None and getattr(previous, f"has_{sheet_key}"):
            _copy_rows(session, model, previous.id, submission.id)
    rollup.refresh(session, submission.id)  # the dashboards' totals, in the same transaction
    township_months.refresh(session.connection(), township_code, period)
    audit.record(session, username, "submit", "submission", f"{township_code}/{period}",
                 before_id=previous.id if previous else None, after_id=submission.id,
                 file_name=file_name, sha256=sha256, carried=submission.carried)
    return submission
