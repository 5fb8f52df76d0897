"""One county's demo written as whole tables: what storing each upload through ingest.store
and then reviewing it would write (the same submissions, rows, audit rows and rollup;
tests/test_scale.py stores it both ways), by joins instead of upload by upload: executemany
on SQLite, COPY on PostgreSQL. Its audit rows are sealed into the chain as they are written
(audit.sealed_frame), which on PostgreSQL holds the chain until the seed commits: a demo
only goes into an empty database.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from liushou_dash import catalog
from liushou_dash.core import audit, rollup
from liushou_dash.core.bulk import insert_frame
from liushou_dash.core.models import SUBMITTED, AuditEntry, Submission
from liushou_dash.core.periods import parse_period, period_end, period_label
from liushou_dash.demo.county import DemoData
from liushou_dash.demo.homes import homes_frame
from liushou_dash.demo.profiles import Profile, window_progress
from liushou_dash.demo.uploads import SHEETS_ALL, Upload
from liushou_dash.ingest.issues import issue
from liushou_dash.ingest.store import MODELS

REVIEWER = "staff"  # one of the demo accounts (accounts.create_demo_accounts)
SCHOOL_KEYS = tuple(f.key for f in catalog.SCHOOLS.fields)
FUNDING_KEYS = tuple(f.key for f in catalog.FUNDING.fields)


# --- What an upload says about itself ------------------------------------------------------

def unguarded_warnings(schools_frame: pd.DataFrame) -> list[dict]:
    """W04 for each school with 无人监护 children, as the validator would report it."""
    sheet, column = catalog.SCHOOLS.label, catalog.SCHOOLS.field("guardian_none").label
    flagged = schools_frame["guardian_none"].to_numpy() > 0
    return [issue("W04", f"{name}有{count}名无人监护留守儿童，请立即落实监护责任",
                  sheet=sheet, column=column).as_json()
            for name, count in zip(schools_frame["school_name"].to_numpy()[flagged],
                                   schools_frame["guardian_none"].to_numpy()[flagged])]


def file_name(profile: Profile, period: str, corrected: bool) -> str:
    suffix = "（更正）" if corrected else ""
    return f"{profile.name}留守儿童关爱工作月报{period_label(period)}{suffix}.xlsx"


def file_sha256(upload: Upload, period: str) -> str:
    """A stand-in for the uploaded file's digest: distinct for every upload, the same on
    every run."""
    return hashlib.sha256(f"{upload.township}|{period}|{upload.submitted_at}".encode()) \
        .hexdigest()


# --- The tables -------------------------------------------------------------------------

def _upload_frame(data: DemoData, first_id: int) -> pd.DataFrame:
    """One row per upload, in storing order: its submission id, which period's school
    rows it carries, and which upload (if any) it supersedes."""
    uploads = data.uploads
    frame = pd.DataFrame({
        "id": np.arange(first_id, first_id + len(uploads)),
        "township_code": [u.township for u in uploads],
        "index": [u.index for u in uploads],
        "period": [data.periods[u.index] for u in uploads],
        "source_period": [data.periods[u.index - 1] if u.copied_last_month
                          else data.periods[u.index] for u in uploads]})
    same_month = frame.groupby(["township_code", "index"])["id"]
    frame["previous_id"] = same_month.shift(1).astype("Int64")
    frame["is_current"] = same_month.transform("max") == frame["id"]
    return frame


def _school_rows(data: DemoData, uploads: pd.DataFrame) -> pd.DataFrame:
    returns = data.returns.rename(columns={"period": "source_period"})
    rows = uploads[["id", "township_code", "period", "source_period"]].merge(
        returns, on=["township_code", "source_period"])
    return rows.rename(columns={"id": "submission_id"})[
        ["submission_id", "township_code", "period", *SCHOOL_KEYS]]


def _home_rows(data: DemoData, uploads: pd.DataFrame) -> pd.DataFrame:
    """The homes open by each upload's month, as homes_frame draws them."""
    rows = uploads[["id", "township_code", "index"]].merge(data.registry, on="township_code")
    rows = rows[rows["opens"] <= rows["index"]].reset_index(drop=True)
    sheet = homes_frame(rows, window_progress(len(data.periods))[rows["index"].to_numpy()])
    return sheet.assign(submission_id=rows["id"], township_code=rows["township_code"])


def _funding_rows(data: DemoData, uploads: pd.DataFrame) -> pd.DataFrame:
    """Each upload's ledger for the year to date: its entries up to the month's end."""
    ledgers = pd.concat([ledger.assign(township_code=code, year=year)
                         for (code, year), ledger in data.ledgers.items()], ignore_index=True)
    keys = uploads.assign(year=[parse_period(p)[0] for p in uploads["period"]])
    rows = keys[["id", "township_code", "year", "period"]].merge(
        ledgers, on=["township_code", "year"])
    ends = rows["period"].map({p: period_end(p) for p in data.periods})
    rows = rows[rows["date"] <= ends]
    return rows[list(FUNDING_KEYS)].assign(
        submission_id=rows["id"], township_code=rows["township_code"], year=rows["year"])


def _warnings_by_submission(schools: pd.DataFrame) -> dict[int, str]:
    flagged = schools[schools["guardian_none"] > 0]
    return {int(sid): json.dumps(unguarded_warnings(rows), ensure_ascii=False)
            for sid, rows in flagged.groupby("submission_id", sort=False)}


def _submission_rows(data: DemoData, uploads: pd.DataFrame,
                     warnings: dict[int, str]) -> pd.DataFrame:
    """What ingest.store and the review leave in the submissions table for each upload."""
    records = []
    for upload, row in zip(data.uploads, uploads.itertuples(index=False)):
        profile = data.profiles[upload.township]
        reviewed = upload.reviewed_at is not None
        records.append({
            "id": row.id, "township_code": upload.township, "period": row.period,
            "username": profile.clerk, "submitted_at": upload.submitted_at,
            "file_name": file_name(profile, row.period, upload.sheets != SHEETS_ALL),
            "file_sha256": file_sha256(upload, row.period),
            "has_schools": True, "has_homes": True, "has_funding": True,
            "carried": ",".join(k for k in MODELS if k in upload.sheets),
            "warnings": warnings.get(row.id, "[]"),
            "status": upload.status if reviewed else SUBMITTED,
            "is_current": row.is_current,
            "previous_id": None if pd.isna(row.previous_id) else int(row.previous_id),
            "review_comment": upload.comment if reviewed else None,
            "reviewed_by": REVIEWER if reviewed else None,
            "reviewed_at": upload.reviewed_at})
    return pd.DataFrame(records)


def _audit_rows(submissions: pd.DataFrame) -> pd.DataFrame:
    """The "submit" row ingest.store records for each submission."""
    details = [json.dumps({"file_name": f, "sha256": s, "carried": c}, ensure_ascii=False)
               for f, s, c in zip(submissions["file_name"], submissions["file_sha256"],
                                  submissions["carried"])]
    return pd.DataFrame({
        "at": dt.datetime.now(), "username": submissions["username"], "action": "submit",
        "object_type": "submission",
        "object_id": submissions["township_code"] + "/" + submissions["period"],
        "before_id": submissions["previous_id"], "after_id": submissions["id"],
        "detail": details})


def store_bulk(conn: Connection, data: DemoData) -> int:
    """Write one county's demo as its uploads stored one by one through ingest.store and
    then reviewed would be, table by table (all but the township months, which the seed
    rebuilds once); returns the number of submissions written."""
    first_id = (conn.scalar(select(func.max(Submission.id))) or 0) + 1
    uploads = _upload_frame(data, first_id)
    schools = _school_rows(data, uploads)
    submissions = _submission_rows(data, uploads, _warnings_by_submission(schools))
    insert_frame(conn, Submission.__table__, submissions)
    for model, rows in ((MODELS["schools"], schools), (MODELS["homes"], _home_rows(data, uploads)),
                        (MODELS["funding"], _funding_rows(data, uploads))):
        insert_frame(conn, model.__table__, rows)
    insert_frame(conn, AuditEntry.__table__,
                 audit.sealed_frame(conn, _audit_rows(submissions)))
    rollup.refresh(conn, first_id, first_id + len(uploads) - 1)
    return len(uploads)
