"""Read-only links to the meeting screen (会议大屏链接), for the PC at the joint meeting.

A login is the wrong key for a projector: it ends after auth.SESSION_IDLE_MINUTES, and a
reload (F5) of the meeting PC falls back to the login page in front of the whole room. So an
administrator makes a link instead. `/?meeting=TOKEN` opens the meeting screen alone (no
other page, no download, no account behind it), survives a reload because the token stays
in the address, and stops working when it expires or is revoked: the screen checks the token
again on every refresh (web/session.py does the drawing side).

The token is secrets.token_urlsafe(32), 256 random bits, shown once when the link is made;
the database keeps only its SHA-256. A token that long cannot be guessed, so it needs no
slow hash like a password: the hash is there so that a copy of the database (a backup) opens
no screen. A link also stops working once the administrator who made it is deactivated or
no longer an administrator.

Making and revoking a link are audited (through auth.acting, which also audits a refusal);
opening one is audited by `opened`, which the web layer calls once per browser session, not
on every refresh. No Streamlit here.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from liushou_dash.core import audit
from liushou_dash.core.actors import SYSTEM, Actor
from liushou_dash.core.db import session_maker, transaction
from liushou_dash.core.models import MeetingLink, Township, User
from liushou_dash.workflow.auth import acting

ADMIN = "admin"
QUERY_KEY = "meeting"            # the address's parameter: /?meeting=TOKEN
DEFAULT_HOURS = 12               # a meeting day
HOURS_RANGE = (1, 72)            # an hour up to a three-day session
NOTE_LENGTH = 100
TOKEN_BYTES = 32
TOKEN_RE = re.compile(r"[A-Za-z0-9_\-]{20,100}")  # what token_urlsafe makes, give or take

OBJECT_TYPE = "meeting_link"
CREATE, REVOKE, OPEN = "create_meeting_link", "revoke_meeting_link", "open_meeting_link"
ACTION_LABELS = {CREATE: "创建会议大屏链接", REVOKE: "撤销会议大屏链接",
                 OPEN: "打开会议大屏链接"}   # for the audit log's 操作 column

ASK_AGAIN = "请向系统管理员索取新的链接，或登录后打开“会议大屏”页"
INVALID = f"会议大屏链接无效（地址不完整，或链接不存在）。{ASK_AGAIN}"
EXPIRED = "会议大屏链接已过期（有效至 {until}）。" + ASK_AGAIN
REVOKED = f"会议大屏链接已被系统管理员撤销。{ASK_AGAIN}"
CREATOR_GONE = f"创建该会议大屏链接的管理员账号已停用，链接随之失效。{ASK_AGAIN}"

VALID, STATE_EXPIRED, STATE_REVOKED, STATE_CREATOR_GONE = "有效", "已过期", "已撤销", "已失效"
COLUMNS = {"id": "编号", "note": "说明", "places": "显示范围", "created_by": "创建人",
           "created_at": "创建时间", "expires_at": "有效至", "state": "状态",
           "revoked_at": "撤销时间", "revoked_by": "撤销人"}
WHOLE_COUNTY = "全部乡镇"


@dataclass(frozen=True)
class Created:
    """A link just made: the only time its token is known. `path` is what follows the
    site's address (https://主机/ + path)."""
    id: int
    token: str
    path: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class Link:
    """What a valid link lets its screen show."""
    id: int
    townships: tuple[str, ...] | None   # None: every township
    note: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class Resolution:
    """A token looked up: the link while it holds, else why not (Chinese, safe to show)."""
    link: Link | None
    reason: str | None = None

    @property
    def valid(self) -> bool:
        return self.link is not None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def path_of(token: str) -> str:
    return f"/?{QUERY_KEY}={token}"


def when(moment: dt.datetime) -> str:
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


# --- The administrator's side ------------------------------------------------------------------

def _hours(hours) -> int:
    low, high = HOURS_RANGE
    if isinstance(hours, bool) or not isinstance(hours, int) or not low <= hours <= high:
        raise ValueError(f"有效时长应为 {low}–{high} 之间的整数（小时）")
    return hours


def _townships(session: Session, townships) -> str | None:
    """The chosen townships as stored (codes in code order), after checking each is one."""
    if not townships:
        return None
    chosen = sorted(set(townships))
    known = set(session.scalars(select(Township.code).where(Township.code.in_(chosen))))
    unknown = [code for code in chosen if code not in known]
    if unknown:
        raise ValueError(f"乡镇代码不在主数据中：{'、'.join(unknown)}")
    return ",".join(chosen)


def create(engine: Engine, admin: Actor, hours: int = DEFAULT_HOURS,
           townships: tuple[str, ...] | list[str] | None = None, note: str = "",
           now: dt.datetime | None = None) -> Created:
    """A new link valid for `hours`, showing `townships` (None or empty: all of them).
    Administrators only. The token is in the result and nowhere else."""
    hours, now = _hours(hours), now or dt.datetime.now()
    note = (note or "").strip()[:NOTE_LENGTH]
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with acting(engine, admin, CREATE, ADMIN, object_type=OBJECT_TYPE) as (session, me):
        link = MeetingLink(token_hash=token_hash(token), note=note,
                           townships=_townships(session, townships), created_by=me.username,
                           created_at=now, expires_at=now + dt.timedelta(hours=hours))
        session.add(link)
        session.flush()
        audit.record(session, me.username, CREATE, OBJECT_TYPE, link.id, note=note or None,
                     until=link.expires_at,
                     township=link.townships.split(",") if link.townships else None)
        created = Created(link.id, token, path_of(token), link.expires_at)
    return created


def revoke(engine: Engine, admin: Actor, link_id: int, now: dt.datetime | None = None) -> None:
    """End a link at once: its screens show the refusal at their next refresh."""
    now = now or dt.datetime.now()
    with acting(engine, admin, REVOKE, ADMIN, object_type=OBJECT_TYPE,
                object_id=str(link_id)) as (session, me):
        link = session.get(MeetingLink, link_id)
        if link is None:
            raise ValueError(f"没有编号为 {link_id} 的会议大屏链接")
        if link.revoked_at is not None:
            raise ValueError(f"编号 {link_id} 的会议大屏链接已于 {when(link.revoked_at)} 撤销")
        link.revoked_at, link.revoked_by = now, me.username
        audit.record(session, me.username, REVOKE, OBJECT_TYPE, link.id)


def _creators_holding(session: Session, names: set[str]) -> set[str]:
    """Which of these creators may still stand behind a link: active administrators, and the
    trusted command line."""
    admins = set(session.scalars(select(User.username).where(
        User.username.in_(names), User.active.is_(True), User.role == ADMIN)))
    return admins | {name for name in names if name.startswith(f"{SYSTEM}:")}


def _state(link: MeetingLink, holding: set[str], now: dt.datetime) -> str:
    if link.revoked_at is not None:
        return STATE_REVOKED
    if link.expires_at <= now:
        return STATE_EXPIRED
    if link.created_by not in holding:
        return STATE_CREATOR_GONE
    return VALID


def links(engine: Engine, admin: Actor, now: dt.datetime | None = None) -> pd.DataFrame:
    """Every link, newest first, with its state, for the 管理 page (never a token, nor its
    hash); Chinese column names (COLUMNS)."""
    now = now or dt.datetime.now()
    with acting(engine, admin, "list_meeting_links", ADMIN, object_type=OBJECT_TYPE,
                read_only=True) as (session, _):
        found = list(session.scalars(select(MeetingLink).order_by(MeetingLink.id.desc())))
        holding = _creators_holding(session, {link.created_by for link in found})
        names = dict(session.execute(select(Township.code, Township.name)).all())
        rows = [{"id": link.id, "note": link.note,
                 "places": "、".join(names.get(c, c) for c in link.townships.split(","))
                 if link.townships else WHOLE_COUNTY,
                 "created_by": link.created_by, "created_at": link.created_at,
                 "expires_at": link.expires_at, "state": _state(link, holding, now),
                 "revoked_at": link.revoked_at, "revoked_by": link.revoked_by}
                for link in found]
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.rename(columns=COLUMNS)


def revocable(table: pd.DataFrame) -> list[int]:
    """The numbers of the links in `table` (as `links` gives it) that still open a screen."""
    id_column, state = COLUMNS["id"], COLUMNS["state"]
    return [int(n) for n in table.loc[table[state] == VALID, id_column]]


# --- The meeting screen's side ----------------------------------------------------------------

def _resolve_in(session: Session, token: str | None, now: dt.datetime
                ) -> tuple[Resolution, MeetingLink | None]:
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        return Resolution(None, INVALID), None
    link = session.scalars(select(MeetingLink).where(
        MeetingLink.token_hash == token_hash(token))).first()
    if link is None:
        return Resolution(None, INVALID), None
    state = _state(link, _creators_holding(session, {link.created_by}), now)
    if state == STATE_REVOKED:
        return Resolution(None, REVOKED), link
    if state == STATE_EXPIRED:
        return Resolution(None, EXPIRED.format(until=when(link.expires_at))), link
    if state == STATE_CREATOR_GONE:
        return Resolution(None, CREATOR_GONE), link
    townships = tuple(link.townships.split(",")) if link.townships else None
    return Resolution(Link(link.id, townships, link.note, link.expires_at)), link


def resolve(engine: Engine, token: str | None, now: dt.datetime | None = None) -> Resolution:
    """What `token` opens now: the link, or why it opens nothing (无效, 已过期, 已撤销, or
    its maker deactivated). Reads only; the screen calls it on every refresh."""
    with session_maker(engine)() as session:
        resolution, _ = _resolve_in(session, token, now or dt.datetime.now())
    return resolution


def opened(engine: Engine, token: str | None, address: str | None = None,
           now: dt.datetime | None = None) -> Resolution:
    """`resolve`, and an audit row for a link that opens (which link, from where). For the
    first time a browser session opens the link; its refreshes call `resolve`."""
    now = now or dt.datetime.now()
    with transaction(engine) as session:
        resolution, link = _resolve_in(session, token, now)
        if resolution.valid:
            audit.record(session, None, OPEN, OBJECT_TYPE, link.id, address=address,
                         created_by=link.created_by)
    return resolution
