"""Accounts: who may log in, managed by the administrator (README "快速开始"：账号与登录).

Accounts live in the database and are never deleted (submissions and the audit trail name
them): the administrator creates them, resets their passwords, lifts their login delay and
deactivates them. A production database gets no default account: its first run asks for
the first administrator, and only while the database holds no account at all. The demo
database has its demo accounts (create_demo_accounts, password `demo`, below the policy on
purpose) and lists them on the login screen. No Streamlit here; web/session.py draws the
screens.
"""
from __future__ import annotations

import datetime as dt
import re

import pandas as pd
from sqlalchemy import func, literal, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from liushou_dash.core import audit
from liushou_dash.core.actors import ROLE_LABELS, ROLES, SYSTEM, Actor
from liushou_dash.core.db import has_schema, transaction
from liushou_dash.core.models import LoginThrottle, Township, User
from liushou_dash.core.settings import is_demo
from liushou_dash.workflow.auth import (
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    acting,
    as_actor,
    authenticate,
    find_user,
)
from liushou_dash.workflow.passwords import (
    check_password_policy,
    hash_password,
    normal_username,
    verify_password,
)
from liushou_dash.workflow.throttle import (
    ACCOUNT_DELAY,
    ACCOUNT_KEY,
    Throttle,
    clear_account_delay,
)

ALREADY_SET_UP = "系统中已有账号，不能再创建首个管理员，请直接登录"
USERNAME_RE = re.compile(r"[a-z0-9_.\-]{2,50}")
WRONG_OLD_PASSWORD = "原密码不正确"
TOO_SOON = "尝试过于频繁，请稍后再试"

NO_SCHEMA, FIRST_ADMIN, DEMO, LOGIN = "no_schema", "first_admin", "demo", "login"
NO_SCHEMA_MESSAGE = ("数据库尚未初始化。请管理员在服务器上运行 "
                     "`python -m liushou_dash init-db` 后刷新本页。")


class NoSuchUser(ValueError):
    """A user name that is no account."""


# --- Before anybody is logged in -----------------------------------------------------------------

def _user_count(engine: Engine) -> int | None:
    """How many accounts exist; None when the schema has not been created yet."""
    with engine.connect() as conn:
        if not has_schema(conn):
            return None
        return conn.scalar(select(func.count()).select_from(User))


def login_state(engine: Engine) -> str:
    """Which login screen to show: NO_SCHEMA, FIRST_ADMIN, DEMO or LOGIN."""
    count = _user_count(engine)
    if count is None:
        return NO_SCHEMA
    if is_demo(engine):
        return DEMO
    return FIRST_ADMIN if count == 0 else LOGIN


def demo_accounts() -> pd.DataFrame:
    """The demo accounts as the login screen lists them (user name, role, password)."""
    return pd.DataFrame([{"用户名": username, "角色": ROLE_LABELS[role], "密码": DEMO_PASSWORD}
                         for username, role, _, _ in DEMO_ACCOUNTS])


def create_first_admin(engine: Engine, username: str, password: str,
                       display_name: str = "", address: str | None = None) -> Actor:
    """The first administrator of a fresh production database, then logged in (from
    `address`, as auth.authenticate takes it). The audit names the new account as its own
    creator: nobody else made it.

    Refused as soon as any account exists: judged again in the transaction that inserts
    (create_user's only_if_first), not only on the screen, so that the form cannot be
    replayed, nor sent twice at once, to add an administrator to a running system."""
    if is_demo(engine):
        raise PermissionError(ALREADY_SET_UP)
    create_user(engine, Actor.system(), username, "admin", password,
                display_name=display_name, only_if_first=True)
    return authenticate(engine, username, password, address=address)


def create_demo_accounts(engine: Engine) -> list[str]:
    """On a demo database only, add the demo accounts that are missing (password `demo`,
    below the policy on purpose); returns the user names created. A production database
    never gets a default account."""
    if not is_demo(engine):
        return []
    created = []
    with transaction(engine) as session:
        for username, role, township_code, display_name in DEMO_ACCOUNTS:
            if find_user(session, username) is None:
                _add_user(session, Actor.system(), username, role,
                          hash_password(DEMO_PASSWORD), township_code, display_name)
                created.append(username)
    return created


# --- Managing accounts -------------------------------------------------------------------------

def _set_password(user: User, password: str) -> None:
    """A new password ends the account's other sessions."""
    user.password_hash = hash_password(password)
    _end_sessions(user)


def _end_sessions(user: User) -> None:
    user.session_epoch = (user.session_epoch or 0) + 1


def _check_new_user(username: str, role: str, township_code: str | None,
                    display_name: str) -> None:
    if not USERNAME_RE.fullmatch(username) or username == SYSTEM:
        raise ValueError(f"用户名“{username}”不可用：应为 2–50 位小写字母、数字或 _ . -，"
                         f"且不能为 {SYSTEM}")
    if role not in ROLES:
        raise ValueError(f"角色“{role}”不存在，应为 {'、'.join(ROLES)} 之一")
    if role == "clerk" and not township_code:
        raise ValueError("乡镇填报员必须指定所属乡镇代码")
    if role != "clerk" and township_code:
        raise ValueError(f"{ROLE_LABELS[role]}可查看全县数据，不能指定乡镇")
    if len(display_name or "") > 50:
        raise ValueError("姓名不能超过 50 个字符")


def _any_user(session: Session) -> bool:
    """Whether any account exists, with the users table held against other inserts until
    the transaction ends (SQLite's write transaction holds the whole database already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"LOCK TABLE {User.__tablename__} IN SHARE ROW EXCLUSIVE MODE"))
    return session.scalar(select(User.id).limit(1)) is not None


def _add_user(session: Session, by: Actor, username: str, role: str, password_hash: str,
              township_code: str | None, display_name: str) -> User:
    """Insert one account after the checks that need the database, with its audit row."""
    if township_code and session.get(Township, township_code) is None:
        raise ValueError(f"乡镇代码“{township_code}”不存在")
    if find_user(session, username) is not None:
        raise ValueError(f"用户名“{username}”已存在")
    user = User(username=username, role=role, township_code=township_code or None,
                display_name=display_name or "", password_hash=password_hash, active=True)
    session.add(user)
    session.flush()
    audit.record(session, by.username, "create_user", "user", username, after_id=user.id,
                 role=role, township_code=township_code, display_name=display_name)
    return user


def create_user(engine: Engine, actor: Actor, username: str, role: str, password: str,
                township_code: str | None = None, display_name: str = "",
                only_if_first: bool = False) -> Actor:
    """Add an account (admin or the command line only); returns it as an Actor.
    `only_if_first`: the first account of a database, refused (PermissionError) when any
    account exists, judged in the transaction that inserts, so two first-administrator forms
    cannot both succeed; nobody else made it, so the audit names the account itself."""
    username = normal_username(username)
    with acting(engine, actor, "create_user", "admin", object_type="user",
                object_id=username[:50]) as (session, me):
        if only_if_first and _any_user(session):
            raise PermissionError(ALREADY_SET_UP)
        _check_new_user(username, role, township_code, display_name)
        check_password_policy(password, username)
        creator = Actor(username, role) if only_if_first else me
        user = _add_user(session, creator, username, role, hash_password(password),
                         township_code, display_name)
    return as_actor(user)


def _existing(session: Session, username: str) -> User:
    user = find_user(session, normal_username(username))
    if user is None:
        raise NoSuchUser(f"用户“{username}”不存在")
    return user


def change_password(engine: Engine, actor: Actor, old: str, new: str,
                    now: dt.datetime | None = None, address: str | None = None) -> Actor:
    """A user changes their own password; returns the actor under the account's new epoch,
    for the session that made the change (the account's other sessions end). A wrong old
    password is a failed login, counted and delayed alike, so that a session left open
    cannot be used to guess the password."""
    check_password_policy(new, actor.username)
    if new == old:
        raise ValueError("新密码不能与原密码相同")
    now = now or dt.datetime.now()
    with acting(engine, actor, "change_password", *ROLES, object_type="user",
                object_id=actor.username) as (session, me):
        user = _existing(session, me.username)
        throttle = Throttle.load(session, user.username, user, address)
        if throttle.holds(now):
            error = TOO_SOON
        elif not verify_password(old, user.password_hash):
            throttle.fail(now)
            audit.record(session, me.username, "login_failed", "user", me.username,
                         failures=throttle.account.failures, address=throttle.address)
            error = WRONG_OLD_PASSWORD
        else:
            error = None
            throttle.forgive_account()
            _set_password(user, new)
            audit.record(session, me.username, "change_password", "user", me.username)
        throttle.tidy(session, now)
    if error is not None:  # raised after the commit, so the failed attempt stays counted
        raise ValueError(error)
    return as_actor(user)


def reset_password(engine: Engine, admin: Actor, username: str, new: str) -> None:
    """The administrator (or the command line) sets a new password: the account's sessions
    end and its login delay is lifted. Not for one's own account, which takes the old
    password (change_password): a session left open must not be enough to take it over."""
    check_password_policy(new, username)
    with acting(engine, admin, "reset_password", "admin", object_type="user",
                object_id=normal_username(username)[:50]) as (session, me):
        user = _existing(session, username)
        if user.username == me.username:
            raise ValueError("不能在这里重置自己的密码，请在侧栏“修改密码”中修改（需要原密码）")
        _set_password(user, new)
        clear_account_delay(session, user.username)
        audit.record(session, me.username, "reset_password", "user", user.username)


def unlock_user(engine: Engine, admin: Actor, username: str) -> int:
    """Lift the account's login delay at once (its failures forgiven), for an owner who
    cannot wait; returns how many failures were forgiven. An address's delay stays: it is
    the guesser's."""
    with acting(engine, admin, "unlock_user", "admin", object_type="user",
                object_id=normal_username(username)[:50]) as (session, me):
        user = _existing(session, username)
        forgiven = clear_account_delay(session, user.username)
        audit.record(session, me.username, "unlock_user", "user", user.username,
                     failures=forgiven)
    return forgiven


def set_active(engine: Engine, admin: Actor, username: str, active: bool) -> None:
    """Deactivate (ending the account's sessions) or reactivate an account; accounts are
    never deleted because submissions and the audit trail name them."""
    with acting(engine, admin, "set_active", "admin", object_type="user",
                object_id=normal_username(username)[:50]) as (session, me):
        user = _existing(session, username)
        if user.username == me.username and not active:
            raise ValueError("不能停用自己的账号")
        if not active:
            _end_sessions(user)
        user.active = bool(active)
        audit.record(session, me.username, "activate" if active else "deactivate", "user",
                     user.username)


def list_users(engine: Engine, admin: Actor, now: dt.datetime | None = None) -> pd.DataFrame:
    """Every account for the 管理 page (never the password hash), with its recent login
    failures and, while one lasts, the end of its login delay."""
    now = now or dt.datetime.now()
    delay = LoginThrottle.key == literal(ACCOUNT_KEY) + User.username
    with acting(engine, admin, "list_users", "admin", object_type="user") as (session, _):
        query = (select(User.username, User.display_name, User.role, User.township_code,
                        Township.name.label("township_name"), User.active,
                        LoginThrottle.failures, LoginThrottle.last_failure,
                        LoginThrottle.wait_until, User.created_at)
                 .outerjoin(Township, Township.code == User.township_code)
                 .outerjoin(LoginThrottle, delay)
                 .order_by(User.role, User.username))
        rows = session.execute(query).all()
    frame = pd.DataFrame(rows, columns=list(query.selected_columns.keys()))
    frame["failures"] = [ACCOUNT_DELAY.remaining(row.failures, row.last_failure, now)
                         for row in rows]
    frame["wait_until"] = [row.wait_until if row.wait_until and row.wait_until > now else None
                           for row in rows]
    frame.insert(3, "role_label", frame["role"].map(ROLE_LABELS))
    return frame.drop(columns="last_failure")
