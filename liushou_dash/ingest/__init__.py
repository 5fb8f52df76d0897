"""Township returns in: read -> parse -> normalise -> validate -> store (one transaction).

`ingest_file` is the one entry point for the command line, the upload page and the tests.
"""
from __future__ import annotations

import datetime as dt
import gc
import hashlib
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy.engine import Engine

from .. import audit, catalog
from ..db import transaction
from .context import load_context, check_access
from .issues import Issue, cap, issue
from .normalise import normalise
from .parse import parse_sheets
from .read import Unreadable, read_file
from .store import store_submission
from .validate import validate


@dataclass
class Report:
    accepted: bool
    submission_id: int | None = None
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(catalog.SHEETS_BY_KEY, 0))
    totals: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(catalog.SCHOOL_COUNT_KEYS, 0))
    frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def as_json(self) -> dict:
        return {"accepted": self.accepted, "submission_id": self.submission_id,
                "errors": [i.as_json() for i in self.errors],
                "warnings": [i.as_json() for i in self.warnings],
                "rows": self.rows, "totals": self.totals}


class Refused(Exception):
    """Raised inside the transaction so that it rolls back; carries the report."""
    def __init__(self, report: Report):
        super().__init__("refused")
        self.report = report


def _totals(frames: dict[str, pd.DataFrame]) -> dict[str, int]:
    schools = frames.get("schools")
    if schools is None or schools.empty:
        return dict.fromkeys(catalog.SCHOOL_COUNT_KEYS, 0)
    return {k: int(schools[k].sum()) for k in catalog.SCHOOL_COUNT_KEYS}


def _refuse(report: Report, found: list[Issue]) -> Report:
    report.errors = cap([i for i in found if i.is_error])
    report.warnings = cap([i for i in found if not i.is_error])
    report.accepted = False
    return report


@contextmanager
def _no_cycle_collection():
    """A 20,000-school return is half a million small objects and no reference cycles: the
    cycle collector's passes over them cost a tenth of an ingest and free nothing
    (reference counting frees it all). Switched back on afterwards, even on an error."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def ingest_file(engine: Engine, data: bytes, file_name: str, township_code: str, period: str,
                username: str | None = None, dry_run: bool = False,
                today: dt.date | None = None) -> Report:
    """Check a township's return and, unless refused or a dry run, store it as a new
    submission in one transaction. `username` None means the trusted command line."""
    with _no_cycle_collection():
        return _ingest(engine, data, file_name, township_code, period, username, dry_run, today)


def _ingest(engine: Engine, data: bytes, file_name: str, township_code: str, period: str,
            username: str | None, dry_run: bool, today: dt.date | None) -> Report:
    report = Report(accepted=False)
    try:
        raw = read_file(data)
    except Unreadable as exc:
        return _refuse(report, [exc.issue])
    parsed, found = parse_sheets(raw)
    frames, normalise_issues = normalise(parsed)
    found += normalise_issues
    report.frames = frames
    report.rows = {key: len(frames.get(key, ())) for key in catalog.SHEETS_BY_KEY}
    try:
        with transaction(engine) as session:
            homes = frames.get("homes")
            context = load_context(session, township_code, period, today or dt.date.today(),
                                   home_codes=() if homes is None else homes["home_code"])
            found = check_access(session, context, username) + found
            if context.usable:
                found += validate(context, frames, parsed)
            report.totals = _totals(frames)
            if any(i.is_error for i in found) or not frames:
                if not frames and not any(i.is_error for i in found):
                    found.append(issue("E02", "文件中没有找到已填写数据的学校月报、留守儿童之家"
                                              "或资金工作表"))
                raise Refused(_refuse(report, found))
            report.warnings = cap(found)
            report.accepted = True
            if dry_run:
                return report
            submission = store_submission(
                session, township_code=township_code, period=period, frames=frames,
                username=username, file_name=file_name,
                sha256=hashlib.sha256(data).hexdigest(),
                warnings=[w.as_json() for w in report.warnings])
            report.submission_id = submission.id
    except Refused as refused:
        _audit_denied(engine, refused.report, township_code, period, username)
        return refused.report
    return report


def _audit_denied(engine: Engine, report: Report, township_code: str, period: str,
                  username: str | None) -> None:
    """A refused right (E15) is kept in the audit trail, in a transaction of its own because
    the upload's transaction was rolled back."""
    denied = [e.message for e in report.errors if e.code == "E15"]
    if denied and username is not None:
        with transaction(engine) as session:
            audit.record(session, username, "denied", "submission",
                         f"{township_code}/{period}", refused="ingest", reason=denied[0])
