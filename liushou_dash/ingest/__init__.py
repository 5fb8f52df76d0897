"""Township returns in: read -> parse -> normalise -> validate, then store (one transaction).

`ingest_file` is the one entry point for the command line, the upload page and the tests.
The file is read in the reader worker (read.read_upload) and checked through plain reads;
only storing takes the write transaction, which checks again what may have changed since
(the uploader's right, the month's approval): on SQLite a write transaction locks out every
other writer, logins included, and a large file takes seconds to read and check.
"""
from __future__ import annotations

import datetime as dt
import gc
import hashlib
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from liushou_dash import catalog
from liushou_dash.core import audit
from liushou_dash.core.actors import Actor
from liushou_dash.core.db import session_maker, transaction
from liushou_dash.ingest.context import (
    add_file_codes,
    check_access,
    load_access,
    load_context,
)
from liushou_dash.ingest.issues import Issue, cap, has_error, issue
from liushou_dash.ingest.normalise import normalise
from liushou_dash.ingest.parse import parse_sheets
from liushou_dash.ingest.read import RawSheet, Unreadable, read_upload
from liushou_dash.ingest.store import store_submission
from liushou_dash.ingest.validate import validate


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
    """Raised where a return is refused (inside the store's transaction, so that it rolls
    back); carries the report."""
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


class _Reading:
    """read_upload in a thread of its own: while the reader worker parses the file, this
    process does the database work that does not depend on it (the township, its schools,
    last month's return) instead of waiting."""

    def __init__(self, data: bytes):
        self._raw: list[RawSheet] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._read, args=(data,), name="ingest-read",
                                        daemon=True)
        self._thread.start()

    def _read(self, data: bytes) -> None:
        try:
            self._raw = read_upload(data)
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def result(self) -> list[RawSheet]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._raw


def _ingest(engine: Engine, data: bytes, file_name: str, township_code: str, period: str,
            username: str | None, dry_run: bool, today: dt.date | None) -> Report:
    report = Report(accepted=False)
    today = today or dt.date.today()
    try:
        with session_maker(engine)() as session:  # reads only: no lock while reading
            _check(session, report, _Reading(data), township_code, period, username, today)
        if not dry_run:
            with transaction(engine) as session:
                report.submission_id = _store(session, report, data, file_name,
                                              township_code, period, username, today)
    except Refused as refused:
        _audit_denied(engine, refused.report, township_code, period, username)
        return refused.report
    return report


def _check(session: Session, report: Report, reading: _Reading, township_code: str, period: str,
           username: str | None, today: dt.date) -> None:
    """Read, parse, normalise and validate the file into `report` (accepted, with its frames
    and warnings), or raise Refused."""
    context = load_context(session, township_code, period, today)
    try:
        raw = reading.result()
    except Unreadable as exc:
        raise Refused(_refuse(report, [exc.issue])) from None
    parsed, found = parse_sheets(raw)
    frames, normalise_issues = normalise(parsed)
    found += normalise_issues
    report.frames = frames
    report.rows = {key: len(frames.get(key, ())) for key in catalog.SHEETS_BY_KEY}
    homes, schools = frames.get("homes"), frames.get("schools")
    add_file_codes(session, context,
                   home_codes=() if homes is None else homes["home_code"],
                   school_codes=() if schools is None else schools["school_code"])
    found = check_access(session, context, username) + found
    if context.usable:
        found += validate(context, frames, parsed)
    report.totals = _totals(frames)
    if has_error(found) or not frames:
        if not frames and not has_error(found):
            found.append(issue("E02", "文件中没有找到已填写数据的学校月报、留守儿童之家"
                                      "或资金工作表"))
        raise Refused(_refuse(report, found))
    report.warnings = cap(found)
    report.accepted = True


def _store(session: Session, report: Report, data: bytes, file_name: str, township_code: str,
           period: str, username: str | None, today: dt.date) -> int:
    """Store the checked return; the new submission's id. The check read without a lock,
    so what may have changed since is checked again here, where the township's row is
    locked (the uploader's right, the month's approval); the submission it supersedes is
    read here too (store_submission)."""
    denied = check_access(session, load_access(session, township_code, period, today,
                                               lock=True), username)
    if denied:
        raise Refused(_refuse(report, denied))
    submission = store_submission(
        session, township_code=township_code, period=period, frames=report.frames,
        username=username, file_name=file_name, sha256=hashlib.sha256(data).hexdigest(),
        warnings=[w.as_json() for w in report.warnings])
    return submission.id


def _audit_denied(engine: Engine, report: Report, township_code: str, period: str,
                  username: str | None) -> None:
    """A refused right (E15) is kept in the audit trail, in a transaction of its own because
    the upload's transaction was rolled back; the command line without --user is named by
    the operating-system user who ran it."""
    denied = [e.message for e in report.errors if e.code == "E15"]
    if denied:
        with transaction(engine) as session:
            audit.record(session, username or Actor.system().username, "denied", "submission",
                         f"{township_code}/{period}", refused="ingest", reason=denied[0])
