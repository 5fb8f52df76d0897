"""Logging in, sessions, roles and township scope (README "快速开始"：账号与登录).

An intranet has no identity provider for `st.login`, so accounts live in the database
(accounts.py manages them). Access control lives here in the core, not in the pages: every
function that reads township-scoped data or writes anything takes the acting user (an
`Actor`), re-reads that account from the database and refuses, or scopes its query, by role
and township. Refusals are audited. No Streamlit here: a page keeps the `Actor` returned by
`authenticate` in its session state.

Failed logins slow down the next attempts (throttle.py). An unknown name, a wrong password
and an attempt made too early get the same message and take about the same time, so nobody
learns which names exist.

A session ends when the account's `session_epoch` moves on (a password change or reset, a
deactivation): each Actor carries the epoch it logged in under and `_reload` compares it.
"""
from __future__ import annotations

import datetime as dt
import time
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from liushou_dash.core import audit
from liushou_dash.core.actors import ROLE_LABELS, Actor
from liushou_dash.core.db import session_maker, transaction
from liushou_dash.core.models import User
from liushou_dash.core.settings import is_demo
from liushou_dash.workflow.passwords import (
    normal_username,
    spend_verify_time,
    verify_password,
    verify_seconds,
)
from liushou_dash.workflow.throttle import Throttle, is_local

SESSION_IDLE_MINUTES = 30

DEMO_PASSWORD = "demo"
DEMO_TOWNSHIP = "520525108"  # 张家湾镇
DEMO_ACCOUNTS = (            # (username, role, township, display name)
    ("admin", "admin", None, "系统管理员"),
    ("leader", "leader", None, "县领导小组"),
    ("staff", "staff", None, "县教育局审核员"),
    ("clerk108", "clerk", DEMO_TOWNSHIP, "张家湾镇填报员"),
)
DEMO_USERNAMES = frozenset(username for username, _, _, _ in DEMO_ACCOUNTS)

# One message for an unknown name, a wrong password and an attempt made too early.
BAD_LOGIN = "用户名或密码错误，或尝试过于频繁，请稍后再试"
EMPTY_LOGIN = "请输入用户名和密码"
INACTIVE_LOGIN = "该账号已停用，请联系系统管理员"
DEMO_FROM_AFAR = "示例账号只能在本机登录；对内网开放前请为各账号设置正式密码或撤下示例数据"
ACCOUNT_GONE = "账号已停用或不存在，请联系系统管理员"
SESSION_ENDED = "该账号的密码已修改，或账号曾被停用，本次登录已结束，请重新登录"


class LoginError(Exception):
    """A refused login; its message is Chinese and safe to show."""


class SessionEnded(PermissionError):
    """A login that no longer holds (account gone or deactivated, password changed since);
    the message says which, in Chinese."""


def as_actor(user: User) -> Actor:
    return Actor(user.username, user.role, user.township_code, user.display_name,
                 user.session_epoch)


# --- Roles and scope ---------------------------------------------------------------------------

def require(actor: Actor, *roles: str) -> None:
    """Refuse unless `actor` has one of `roles` (the command line may do anything)."""
    if actor.is_system or actor.role in roles:
        return
    needed = "、".join(ROLE_LABELS[r] for r in roles)
    raise PermissionError(f"当前账号（{actor.role_label}）无权执行此操作，仅限{needed}")


def township_scope(actor: Actor) -> str | None:
    """The township a reader must restrict its SQL to; None means every township."""
    if actor.role != "clerk":
        return None
    if not actor.township_code:  # never let a clerk without a township fall through to "all"
        raise PermissionError("该填报员账号未指定乡镇，不能查看或报送数据")
    return actor.township_code


def require_township(actor: Actor, township_code: str | None) -> None:
    """Refuse a clerk who asks for another township than their own."""
    scope = township_scope(actor)
    if scope is not None and township_code is not None and township_code != scope:
        raise PermissionError(f"填报员只能查看和报送本乡镇（{scope}）的数据")


def find_user(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def _reload(session: Session, actor: Actor) -> Actor:
    """The actor as the database sees it now, so that a deactivated account, a changed role
    or a changed password takes effect at once rather than when the session expires."""
    if actor.is_system:
        return actor
    user = find_user(session, actor.username)
    if user is None or not user.active:
        raise SessionEnded(ACCOUNT_GONE)
    if user.session_epoch != actor.epoch:
        raise SessionEnded(SESSION_ENDED)
    return as_actor(user)


@contextmanager
def acting(engine: Engine, actor: Actor, action: str, *roles: str, object_type: str = "",
           object_id: str | None = None, read_only: bool = False):
    """One transaction in which `actor` does `action`; yields (session, current actor).
    `read_only`: a plain read session instead, for checks that write nothing (a dry run of
    an upload must not take SQLite's write lock).

    A PermissionError raised by the role check or by the body rolls the transaction back and
    is then written to an audit row of its own transaction, because the refusal must outlive
    the rollback."""
    try:
        with (session_maker(engine).begin() if read_only else transaction(engine)) as session:
            current = _reload(session, actor)
            require(current, *roles)
            yield session, current
    except PermissionError as refusal:
        with transaction(engine) as session:
            audit.record(session, actor.username, "denied", object_type, object_id,
                         refused=action, reason=str(refusal))
        raise


# --- Logging in --------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Outcome:
    user: User | None
    error: str | None
    held: bool = False


def _attempt(session: Session, username: str, password: str, address: str | None,
             now: dt.datetime, demo_from_afar: bool) -> _Outcome:
    """One login attempt, judged and counted in its transaction. `demo_from_afar`: a demo
    account on the demo password from another machine (_demo_from_afar), refused even when
    the password is right."""
    user = find_user(session, username)
    throttle = Throttle.load(session, username, user, address)
    # A typed name that is no account is not recorded: people type their password into it.
    who = user.username if user is not None else None
    if throttle.holds(now):
        audit.record(session, who, "login_delayed", "user", who, address=throttle.address)
        outcome = _Outcome(None, BAD_LOGIN, held=True)
    elif user is None or not verify_password(password, user.password_hash):
        if user is None:
            spend_verify_time(password)
        throttle.fail(now)
        audit.record(session, who, "login_failed", "user", who,
                     failures=throttle.account.failures, address=throttle.address)
        outcome = _Outcome(None, BAD_LOGIN)
    elif demo_from_afar:
        audit.record(session, who, "denied", "user", who, refused="login",
                     reason=DEMO_FROM_AFAR, address=throttle.address)
        outcome = _Outcome(None, DEMO_FROM_AFAR)
    else:
        throttle.forgive_account()
        action = "login" if user.active else "login_inactive"
        audit.record(session, who, action, "user", who, address=throttle.address)
        outcome = _Outcome(user, None if user.active else INACTIVE_LOGIN)
    throttle.tidy(session, now)
    return outcome


def _demo_from_afar(engine: Engine, username: str, password: str, address: str | None) -> bool:
    """A demo account tried with the password the login screen publishes, on a demo database,
    from another machine: `make run ADDRESS=0.0.0.0` must not open an administrator to the
    whole intranet. Only the typed password is looked at here: the attempt refused for it must
    still have the right password (_attempt checks that first), so a demo account whose
    password was changed to a real one logs in from anywhere."""
    return (password == DEMO_PASSWORD and username in DEMO_USERNAMES
            and not is_local(address) and is_demo(engine))


def authenticate(engine: Engine, username: str, password: str,
                 now: dt.datetime | None = None, address: str | None = None) -> Actor:
    """The Actor for a correct user name and password; otherwise LoginError. An unknown name,
    a wrong password and an attempt that must wait get the same message and cost about the
    same time (the wait is not told: it would tell which names are being guessed at).
    `address`: where the attempt comes from (throttle.client_address); None for this
    machine."""
    username, now = normal_username(username), now or dt.datetime.now()
    if not username or not password:
        raise LoginError(EMPTY_LOGIN)
    demo_from_afar = _demo_from_afar(engine, username, password, address)
    with transaction(engine) as session:  # failures are counted even though we refuse
        outcome = _attempt(session, username, password, address, now, demo_from_afar)
    if outcome.held:  # outside the transaction, which holds the throttle's rows
        time.sleep(verify_seconds())
    if outcome.error is not None:
        raise LoginError(outcome.error)
    return as_actor(outcome.user)


# --- Sessions ----------------------------------------------------------------------------------

def refresh_actor(engine: Engine, actor: Actor) -> Actor:
    """The session's actor as the database sees it now, for the login gate on every rerun
    and every fragment run; SessionEnded when the account is gone or deactivated or its
    password has changed since this login."""
    with session_maker(engine)() as session:  # a read: no write lock on every rerun
        return _reload(session, actor)


def logout(engine: Engine, actor: Actor, reason: str = "logout") -> None:
    """Record a logout ("logout" or "expired"); the page then forgets the actor."""
    with transaction(engine) as session:
        audit.record(session, actor.username, reason, "user", actor.username)


def session_expired(last_seen: dt.datetime | None, now: dt.datetime | None = None) -> bool:
    """True after SESSION_IDLE_MINUTES without activity (or when activity was never seen)."""
    if last_seen is None:
        return True
    now = now or dt.datetime.now()
    return now - last_seen > dt.timedelta(minutes=SESSION_IDLE_MINUTES)
