"""Database tables. Column sets of the return sheets come from catalog.py."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from liushou_dash import catalog


class Base(DeclarativeBase):
    pass


# --- Master data: county -> township -> village; schools belong to a township -------------

class County(Base):
    __tablename__ = "counties"
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    boundary: Mapped[str | None] = mapped_column(Text)  # GeoJSON geometry


class Township(Base):
    __tablename__ = "townships"
    code: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    county_code: Mapped[str] = mapped_column(ForeignKey("counties.code"), index=True)
    boundary: Mapped[str | None] = mapped_column(Text)  # GeoJSON geometry
    boundary_synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class Village(Base):
    __tablename__ = "villages"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    township_code: Mapped[str] = mapped_column(ForeignKey("townships.code"), index=True)


class School(Base):
    __tablename__ = "schools"
    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    township_code: Mapped[str] = mapped_column(ForeignKey("townships.code"), index=True)
    village_code: Mapped[str | None] = mapped_column(ForeignKey("villages.code"))
    type: Mapped[str] = mapped_column(String(10))
    boarding: Mapped[bool] = mapped_column(Boolean, default=False)
    students: Mapped[int | None] = mapped_column(Integer)  # baseline enrolment, for the demo
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)


class Setting(Base):
    """Key/value settings of this deployment (demo flag, deadline day); score weights live in rules.toml."""
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str] = mapped_column(String(50), default="")
    role: Mapped[str] = mapped_column(String(10))
    township_code: Mapped[str | None] = mapped_column(ForeignKey("townships.code"))
    password_hash: Mapped[str] = mapped_column(String(100), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    # Bumped when the password changes or is reset, or the account is deactivated: a session
    # holds the epoch it logged in under and ends when the account's has moved on.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class LoginThrottle(Base):
    """Failed logins counted per account and per client address (key "user:NAME" or
    "ip:ADDRESS"): each failure makes the next attempt wait longer. A delay, not a lock, so a
    stranger cannot keep an account shut."""
    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure: Mapped[dt.datetime | None] = mapped_column(DateTime)
    wait_until: Mapped[dt.datetime | None] = mapped_column(DateTime)


# --- Submissions and the rows they carry ---------------------------------------------------

SUBMITTED, APPROVED, RETURNED = "submitted", "approved", "returned"
STATUS_LABELS = {SUBMITTED: "已提交", APPROVED: "已审核", RETURNED: "已退回"}


class Submission(Base):
    """One accepted upload. It is a full snapshot of the township's period: sheets the file
    did not carry are copied from the submission it supersedes, so exactly one submission
    per township and period is current and rolling back is flipping that flag."""
    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(primary_key=True)
    township_code: Mapped[str] = mapped_column(ForeignKey("townships.code"))
    period: Mapped[str] = mapped_column(String(7))
    username: Mapped[str | None] = mapped_column(String(50))
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime)
    file_name: Mapped[str] = mapped_column(String(255), default="")
    file_sha256: Mapped[str] = mapped_column(String(64), default="")
    has_schools: Mapped[bool] = mapped_column(Boolean, default=False)
    has_homes: Mapped[bool] = mapped_column(Boolean, default=False)
    has_funding: Mapped[bool] = mapped_column(Boolean, default=False)
    carried: Mapped[str] = mapped_column(String(50), default="")  # sheets the file itself carried
    warnings: Mapped[str] = mapped_column(Text, default="[]")      # JSON list of issues
    status: Mapped[str] = mapped_column(String(10), default=SUBMITTED)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    review_comment: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(50))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    __table_args__ = (Index("ix_submissions_current", "period", "township_code", "is_current"),
                      # at most one current submission per township and month, whatever the
                      # code above it does
                      Index("ux_submissions_one_current", "township_code", "period",
                            unique=True, sqlite_where=text("is_current"),
                            postgresql_where=text("is_current")),
                      # a township's months: the dashboards look back for its latest list
                      Index("ix_submissions_township", "township_code", "period"))


# The column a catalogue field of each kind is stored in: the return sheets' columns come from
# the catalogue, so a field added there is a column here (and an Alembic revision).
_KIND_TYPES = {catalog.CODE: Text, catalog.TEXT: Text, catalog.COUNT: Integer,
               catalog.NUMBER: Float, catalog.MONEY: Numeric(14, 2), catalog.DATE: Date,
               catalog.ENUM: String(10), catalog.BOOL: Boolean}


def _field_columns(fields, default=None, **instead) -> dict:
    """A column for each of `fields`, typed by its kind and NULL-able when the sheet may leave
    the field out, with `default` if given; `instead`: key -> the column a field gets instead."""
    extra = {} if default is None else {"default": default}
    return {f.key: instead[f.key] if f.key in instead
            else mapped_column(_KIND_TYPES[f.kind], nullable=not f.required, **extra)
            for f in fields}


# Built with type() because its columns come from the catalogue.
SchoolReturn = type("SchoolReturn", (Base,), {
    "__tablename__": "school_returns",
    "__doc__": "One school's row of the 学校月报 sheet in one submission.",
    "id": mapped_column(Integer, primary_key=True),
    "submission_id": mapped_column(ForeignKey("submissions.id"), index=True, nullable=False),
    "township_code": mapped_column(String(9), nullable=False),
    "period": mapped_column(String(7), nullable=False),
    # the code of a row of schools; then the counts, a blank one stored as 0
    **_field_columns([f for f in catalog.SCHOOLS.fields if f.kind != catalog.COUNT],
                     school_code=mapped_column(String(10), nullable=False)),
    **_field_columns(catalog.SCHOOLS.count_fields, default=0),
    "__table_args__": (Index("ix_school_returns_period", "period", "township_code"),),
})


def _total_columns() -> dict:
    """Σ of every school count of a submission; NULL when it carries no school rows, so that
    a township without school returns stays missing instead of reading as zero."""
    counts = {f.key: mapped_column(Integer) for f in catalog.SCHOOLS.count_fields}
    tallies = {catalog.schools_with(f.key): mapped_column(Integer)
               for f in catalog.SCHOOLS.count_fields}  # schools_reported: its own column
    homes = {key: mapped_column(Integer) for key in
             ("homes", "homes_standardized", "villages_with_home", "schools_with_home")}
    money = {key: mapped_column(Numeric(16, 2)) for key in ("allocated", "disbursed")}
    return {**counts, **tallies, **homes, **money}


# The rollup (liushou_dash/rollup.py): one row per submission, written in the transaction
# that stores the submission. Submissions are never changed after they are stored (a
# correction is a new submission), so their totals never go stale; which of them count
# (current, approved) is read from the submissions table at query time.
SubmissionTotals = type("SubmissionTotals", (Base,), {
    "__tablename__": "submission_totals",
    "__doc__": "Totals of one submission's rows: what the dashboards sum over townships.",
    "submission_id": mapped_column(ForeignKey("submissions.id"), primary_key=True),
    "schools_reported": mapped_column(Integer, nullable=False, default=0),
    **_total_columns(),
})


def _township_month_columns() -> dict:
    """The township table's stored columns (metrics.township_table adds names and rates,
    and judges on_time from the first upload against the deadline of the day)."""
    counts = {key: mapped_column(Integer)
              for key in (*catalog.SCHOOL_COUNT_KEYS, *catalog.SCHOOL_TALLY_KEYS)}
    measures = {m.key: mapped_column(Float if m.money else Integer)
                for m in catalog.MEASURES if m.stored}
    return {**counts, **measures, "first_upload": mapped_column(DateTime),
            "status": mapped_column(String(10))}  # the current submission's, if any


# The township months (liushou_dash/township_months.py): what the dashboards read, one row
# per month x township x view (every current return, or approved ones only), rewritten in
# every transaction that changes what a cell shows: an upload, a review, a roll back, a
# master data load, a new deadline. A month's rows exist for every township once any
# township has a submission of it.
TownshipMonth = type("TownshipMonth", (Base,), {
    "__tablename__": "township_months",
    "__doc__": "One township's month as the dashboards show it (see township_months.py).",
    "period": mapped_column(String(7), primary_key=True),
    "approved_only": mapped_column(Boolean, primary_key=True),
    "township_code": mapped_column(String(9), primary_key=True),
    **_township_month_columns(),
})


Home = type("Home", (Base,), {
    "__tablename__": "homes",
    "__doc__": "One row of the 留守儿童之家 sheet in one submission.",
    "id": mapped_column(Integer, primary_key=True),
    "submission_id": mapped_column(ForeignKey("submissions.id"), index=True, nullable=False),
    "township_code": mapped_column(String(9), nullable=False),
    **_field_columns(catalog.HOMES.fields,  # home_code indexed for ingest's E04 across townships
                     home_code=mapped_column(Text, index=True, nullable=False)),
})


FundingEntry = type("FundingEntry", (Base,), {
    "__tablename__": "funding",
    "__doc__": "One row of the 资金 ledger in one submission (the township's year to date).",
    "id": mapped_column(Integer, primary_key=True),
    "submission_id": mapped_column(ForeignKey("submissions.id"), index=True, nullable=False),
    "township_code": mapped_column(String(9), nullable=False),
    "year": mapped_column(Integer, nullable=False),
    **_field_columns(catalog.FUNDING.fields, kind=mapped_column(String(4), nullable=False)),
})


class AuditEntry(Base):
    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    username: Mapped[str | None] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(30))
    object_type: Mapped[str] = mapped_column(String(30), default="")
    object_id: Mapped[str | None] = mapped_column(String(50))
    before_id: Mapped[int | None] = mapped_column(Integer)
    after_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, default="")
    # The chain that makes an edit visible: rows are numbered in the order they were sealed,
    # and each row's hash covers its content and the hash of the row before it.
    seq: Mapped[int | None] = mapped_column(Integer)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("seq", name="uq_audit_seq"),)


class MeetingLink(Base):
    """A read-only link to the meeting screen that an administrator hands to the meeting
    room's PC (workflow/meeting_links.py). Only the SHA-256 of its token is stored: the token
    itself is shown once, when the link is made. It opens the meeting screen alone, until it
    expires or is revoked."""
    __tablename__ = "meeting_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(100), default="")      # which meeting, in words
    townships: Mapped[str | None] = mapped_column(Text)  # codes, comma-separated; NULL: all
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(50))

    __table_args__ = (Index("ux_meeting_links_token_hash", "token_hash", unique=True),)
