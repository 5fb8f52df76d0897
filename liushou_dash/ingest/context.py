"""What the validator must know about the township, the period and the uploader."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session

from liushou_dash.core.models import (
    APPROVED,
    County,
    Home,
    School,
    SchoolReturn,
    Submission,
    Township,
    User,
    Village,
)
from liushou_dash.core.periods import parse_period, period_or_none, previous_period
from liushou_dash.ingest.issues import Issue, issue
from liushou_dash.ingest.store import current_submission

SUBMITTING_ROLES = ("clerk", "staff", "admin")
CODES_PER_QUERY = 5000  # keeps IN lists under every driver's bound-parameter limit


@dataclass
class Context:
    township_code: str
    period: str
    township_name: str = ""
    period_issue: Issue | None = None
    township_known: bool = False
    school_names: dict[str, str] = field(default_factory=dict)    # this township's: code -> name
    school_townships: dict[str, str] = field(default_factory=dict)  # code -> township, for the
    # township's schools and every other school the file names
    villages: set[str] = field(default_factory=set)               # codes of this township
    county_boundary: dict | None = None                           # GeoJSON geometry
    other_home_codes: dict[str, str] = field(default_factory=dict)  # code -> its township
    last_month_left_behind: dict[str, int] = field(default_factory=dict)
    locked: bool = False

    @cached_property
    def school_index(self) -> tuple[set[str], dict[str, str], dict[str, str]]:
        """(the township's school codes, the township of every school the checks ask about,
        the township's school names): built once, several checks use them."""
        return set(self.school_names), self.school_townships, self.school_names

    @property
    def usable(self) -> bool:
        return self.township_known and self.period_issue is None

    @property
    def year(self) -> int:
        return parse_period(self.period)[0]


def _check_period(period: str, today: dt.date) -> Issue | None:
    parsed = period_or_none(period)
    if parsed is None:
        return issue("E14", f"报表月份“{period}”格式错误，应为 YYYY-MM，例如 2026-10")
    if parsed > (today.year, today.month):
        return issue("E14", f"报表月份 {period} 晚于当前月份，不能提前报送")
    return None


def _homes_elsewhere(connection, township_code: str, codes: list[str]) -> dict[str, str]:
    """Which of `codes` another township's current submissions list, and which township.
    Only the file's own codes are looked up (by index): a province holds millions of home
    rows, one list per township and month."""
    found: dict[str, str] = {}
    for i in range(0, len(codes), CODES_PER_QUERY):
        rows = connection.execute(
            select(Home.home_code, Home.township_code).join(
                Submission, Submission.id == Home.submission_id)
            .where(Home.home_code.in_(codes[i:i + CODES_PER_QUERY]),
                   Submission.is_current.is_(True), Home.township_code != township_code))
        found.update(rows.all())
    return found


def _schools_of(connection, township_code: str) -> dict[str, str]:
    """The township's schools: code -> name."""
    return dict(connection.execute(
        select(School.code, School.name).where(School.township_code == township_code)).all())


def _townships_of(connection, codes: list[str]) -> dict[str, str]:
    """The township of each of `codes` that names a school. Only the file's codes of other
    townships' schools are looked up (by the primary key): a province holds tens of
    thousands of schools."""
    found: dict[str, str] = {}
    for i in range(0, len(codes), CODES_PER_QUERY):
        found.update(connection.execute(
            select(School.code, School.township_code)
            .where(School.code.in_(codes[i:i + CODES_PER_QUERY]))).all())
    return found


def load_access(session: Session, township_code: str, period: str, today: dt.date,
                lock: bool = False) -> Context:
    """What decides whether the township's return may be stored at all: the period (E14),
    the township (E03) and the month's approval (E15). `lock` takes the township's row
    FOR UPDATE, as the store's transaction does: two uploads of one township then store one
    after the other on PostgreSQL (SQLite serialises writers anyway), and the approval read
    here holds until the commit."""
    context = Context(township_code, period, period_issue=_check_period(period, today))
    township = session.get(Township, township_code, with_for_update=lock)
    if township is None:
        return context
    context.township_known = True
    context.township_name = township.name
    if context.period_issue is None:
        current = current_submission(session, township_code, period)
        context.locked = current is not None and current.status == APPROVED
    return context


def load_context(session: Session, township_code: str, period: str, today: dt.date,
                 home_codes=None, school_codes=None) -> Context:
    """What validation needs, read without a lock (the store checks access again). What
    depends on the file (`home_codes`, the codes of its 留守儿童之家 sheet, and
    `school_codes`, those of its 学校月报) is looked up by `add_file_codes`, here when they
    are given: ingest loads the rest while the file is being read."""
    context = load_access(session, township_code, period, today)
    if not context.township_known:
        return context
    county = session.get(County, session.get(Township, township_code).county_code)
    if county is not None and county.boundary:
        context.county_boundary = json.loads(county.boundary)
    # Through the Core connection: the ORM's row handling costs more than the query when a
    # township has thousands of schools.
    connection = session.connection()
    context.school_names = _schools_of(connection, township_code)
    context.school_townships = dict.fromkeys(context.school_names, township_code)
    context.villages = set(session.scalars(
        select(Village.code).where(Village.township_code == township_code)))
    if context.period_issue is None:
        last = connection.execute(
            select(SchoolReturn.school_code, SchoolReturn.left_behind).join(
                Submission, Submission.id == SchoolReturn.submission_id)
            .where(Submission.is_current.is_(True), Submission.township_code == township_code,
                   Submission.period == previous_period(period)))
        context.last_month_left_behind = dict(last.all())
    if home_codes is not None or school_codes is not None:
        add_file_codes(session, context, () if home_codes is None else home_codes,
                       () if school_codes is None else school_codes)
    return context


def add_file_codes(session: Session, context: Context, home_codes=(), school_codes=()) -> None:
    """Look up what the file's codes need: which township's schools the 学校月报 names
    besides this township's (E03), and which of its 之家编号 other townships use (E04)."""
    if not context.township_known:
        return
    connection = session.connection()
    codes = set(school_codes.tolist() if hasattr(school_codes, "tolist") else school_codes)
    others = sorted(c for c in codes - context.school_names.keys() if isinstance(c, str))
    context.school_townships.update(_townships_of(connection, others))
    if context.period_issue is None:
        context.other_home_codes = _homes_elsewhere(
            connection, context.township_code,
            sorted({str(c) for c in home_codes if c is not None}))


def check_access(session: Session, context: Context, username: str | None) -> list[Issue]:
    """Period (E14), township (E03), the uploader's right (E15) and the month's lock (E15)."""
    found = [context.period_issue] if context.period_issue else []
    if not context.township_known:
        found.append(issue("E03", f"乡镇代码“{context.township_code}”不存在"))
        return found
    if username is not None:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None or not user.active:
            found.append(issue("E15", f"用户“{username}”不存在或已停用，不能报送"))
        elif user.role not in SUBMITTING_ROLES:
            found.append(issue("E15", f"用户“{username}”的角色不能报送数据"))
        elif user.role == "clerk" and user.township_code != context.township_code:
            found.append(issue("E15", f"用户“{username}”只能报送本乡镇数据，"
                                      f"不能为{context.township_name}报送"))
    if context.locked:
        found.append(issue("E15", f"{context.township_name} {context.period} 的数据已审核锁定，"
                                  "如需修改请联系县级审核人员解锁"))
    return found
