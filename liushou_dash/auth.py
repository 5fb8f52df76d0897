"""Accounts, passwords, roles and township scope (DESIGN.md "Who uses it").

An intranet has no identity provider for `st.login`, so accounts live in the database. Access
control lives here in the core, not in the pages: every function that reads township-scoped
data or writes anything takes the acting user (an `Actor`), re-reads that account from the
database and refuses, or scopes its query, by role and township. Refusals are audited.
No Streamlit here: a page keeps the `Actor` returned by `authenticate` in its session state.

Password policy (simple on purpose): at least 8 characters and at most 72 bytes in UTF-8
(bcrypt's limit; bcrypt 5 refuses longer input rather than silently truncating it). The only
exception is the demo database's accounts, whose password is `demo`: `create_demo_accounts`
stores them directly and never goes through `create_user`.
"""
from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import bcrypt
import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from . import audit
from .db import session_maker, transaction
from .models import Township, User

ALREADY_SET_UP = "系统中已有账号，不能再创建首个管理员，请直接登录"

ROLES = ("leader", "clerk", "staff", "admin")
ROLE_LABELS = {"leader": "县领导", "clerk": "乡镇填报员", "staff": "县级审核人员",
               "admin": "系统管理员"}
SYSTEM = "system"  # the trusted command line: a pseudo-role, and a user name nobody may take
SYSTEM_LABEL = "命令行"

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_BYTES = 72
BCRYPT_ROUNDS = 12          # about 0.25 s per hash: cheap for a login, costly for a guesser
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
SESSION_IDLE_MINUTES = 30
USERNAME_RE = re.compile(r"[a-z0-9_.\-]{2,50}")

DEMO_PASSWORD = "demo"
DEMO_TOWNSHIP = "520525108"  # 张家湾镇
DEMO_ACCOUNTS = (            # (username, role, township, display name)
    ("admin", "admin", None, "系统管理员"),
    ("leader", "leader", None, "县领导小组"),
    ("staff", "staff", None, "县教育局审核员"),
    ("clerk108", "clerk", DEMO_TOWNSHIP, "张家湾镇填报员"),
)

BAD_LOGIN = "用户名或密码错误"
EMPTY_LOGIN = "请输入用户名和密码"
INACTIVE_LOGIN = "该账号已停用，请联系系统管理员"
WRONG_OLD_PASSWORD = "原密码不正确"


class LoginError(Exception):
    """A refused login; its message is Chinese and safe to show."""


@dataclass(frozen=True)
class Actor:
    """Who is acting: what the session holds after a login, passed to every core function."""
    username: str
    role: str
    township_code: str | None = None
    display_name: str = ""

    @classmethod
    def system(cls) -> Actor:
        """The trusted command line (whoever runs it already holds the database)."""
        return cls(SYSTEM, SYSTEM, None, SYSTEM_LABEL)

    @property
    def is_system(self) -> bool:
        return self.role == SYSTEM

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, SYSTEM_LABEL)


def _actor(user: User) -> Actor:
    return Actor(user.username, user.role, user.township_code, user.display_name)


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


def _find(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def _reload(session: Session, actor: Actor) -> Actor:
    """The actor as the database sees it now, so that a deactivated account or a changed role
    takes effect at once rather than when the session expires."""
    if actor.is_system:
        return actor
    user = _find(session, actor.username)
    if user is None or not user.active:
        raise PermissionError("账号不存在或已停用，请重新登录")
    return _actor(user)


@contextmanager
def acting(engine: Engine, actor: Actor, action: str, *roles: str, object_type: str = "",
           object_id: str | None = None):
    """One transaction in which `actor` does `action`; yields (session, current actor).

    A PermissionError raised by the role check or by the body rolls the transaction back and
    is then written to an audit row of its own transaction, because the refusal must outlive
    the rollback."""
    try:
        with transaction(engine) as session:
            current = _reload(session, actor)
            require(current, *roles)
            yield session, current
    except PermissionError as refusal:
        with transaction(engine) as session:
            audit.record(session, actor.username, "denied", object_type, object_id,
                         refused=action, reason=str(refusal))
        raise


# --- Passwords ---------------------------------------------------------------------------------

def _encoded(password: str) -> bytes:
    if not isinstance(password, str) or not password:
        raise ValueError("密码不能为空")
    data = password.encode("utf-8")
    if len(data) > MAX_PASSWORD_BYTES:
        raise ValueError(f"密码过长：不能超过 {MAX_PASSWORD_BYTES} 字节（约 24 个汉字）")
    return data


def check_password_policy(password: str) -> None:
    """Raise ValueError (Chinese) unless `password` may be set (see the module docstring)."""
    _encoded(password)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符")


def hash_password(password: str) -> str:
    """A salted bcrypt hash, as text ($2b$...)."""
    return bcrypt.hashpw(_encoded(password), bcrypt.gensalt(BCRYPT_ROUNDS)).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    """False for a wrong, empty or over-long password and for a malformed hash."""
    try:
        return bcrypt.checkpw(_encoded(password), password_hash.encode("ascii"))
    except (ValueError, UnicodeEncodeError, AttributeError):
        return False


@lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> bytes:
    return bcrypt.hashpw(b"no such account", bcrypt.gensalt(rounds))


def _spend_verify_time(password: str) -> None:
    """Cost an unknown user name as much as a wrong password, so timing does not tell
    which user names exist."""
    verify_password(password, _dummy_hash(BCRYPT_ROUNDS).decode("ascii"))


# --- Logging in --------------------------------------------------------------------------------

def _locked_message(until: dt.datetime) -> str:
    return (f"密码连续错误次数过多，账号已锁定，请于 {until:%Y-%m-%d %H:%M} 后再试，"
            "或联系系统管理员重置密码")


def _check_password(session: Session, user: User, password: str, now: dt.datetime,
                    wrong_message: str) -> str | None:
    """Count one password attempt against `user`: None when right, else the message to show.

    A locked account is refused without looking at the password, so guessing during a lock
    gains nothing; the fifth consecutive failure locks it and restarts the count, so after
    the lock the user has five tries again."""
    if user.locked_until is not None and user.locked_until > now:
        audit.record(session, user.username, "login_locked", "user", user.username)
        return _locked_message(user.locked_until)
    if verify_password(password, user.password_hash):
        user.failed_logins, user.locked_until = 0, None
        return None
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.failed_logins = 0
        user.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
        audit.record(session, user.username, "account_locked", "user", user.username,
                     until=user.locked_until)
        return _locked_message(user.locked_until)
    audit.record(session, user.username, "login_failed", "user", user.username,
                 failures=user.failed_logins)
    return wrong_message


def _normal(username: str) -> str:
    return (username or "").strip().lower()


def authenticate(engine: Engine, username: str, password: str,
                 now: dt.datetime | None = None) -> Actor:
    """The Actor for a correct user name and password; otherwise LoginError. An unknown user
    and a wrong password get the same message (and cost the same time)."""
    username, now = _normal(username), now or dt.datetime.now()
    if not username or not password:
        raise LoginError(EMPTY_LOGIN)
    with transaction(engine) as session:  # failures are counted even though we refuse
        user = _find(session, username)
        if user is None:
            _spend_verify_time(password)
            # The name typed is not recorded: people type their password into it by mistake.
            audit.record(session, None, "login_failed", "user", reason="unknown user")
            error = BAD_LOGIN
        else:
            error = _check_password(session, user, password, now, BAD_LOGIN)
            if error is None and not user.active:
                audit.record(session, user.username, "login_inactive", "user", user.username)
                error = INACTIVE_LOGIN
            if error is None:
                audit.record(session, user.username, "login", "user", user.username)
    if error is not None:
        raise LoginError(error)
    return _actor(user)


def refresh_actor(engine: Engine, actor: Actor) -> Actor | None:
    """The session's actor as the database sees it now, or None when the account is gone or
    deactivated (the page should then log out). For the login gate on every rerun."""
    with session_maker(engine)() as session:  # a read: no write lock on every rerun
        try:
            return _reload(session, actor)
        except PermissionError:
            return None


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


# --- Managing accounts -------------------------------------------------------------------------

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
    if _find(session, username) is not None:
        raise ValueError(f"用户名“{username}”已存在")
    user = User(username=username, role=role, township_code=township_code or None,
                display_name=display_name or "", password_hash=password_hash, active=True,
                failed_logins=0)
    session.add(user)
    session.flush()
    audit.record(session, by.username, "create_user", "user", username, after_id=user.id,
                 role=role, township_code=township_code, display_name=display_name)
    return user


def create_user(engine: Engine, actor: Actor, username: str, role: str, password: str,
                township_code: str | None = None, display_name: str = "",
                only_if_first: bool = False) -> Actor:
    """Add an account (admin or the command line only); returns it as an Actor.
    `only_if_first`: refused (PermissionError) when any account exists, judged in the
    transaction that inserts, so two first-administrator forms cannot both succeed."""
    username = _normal(username)
    with acting(engine, actor, "create_user", "admin", object_type="user",
                object_id=username[:50]) as (session, me):
        if only_if_first and _any_user(session):
            raise PermissionError(ALREADY_SET_UP)
        _check_new_user(username, role, township_code, display_name)
        check_password_policy(password)
        user = _add_user(session, me, username, role, hash_password(password),
                         township_code, display_name)
    return _actor(user)


def _existing(session: Session, username: str) -> User:
    user = _find(session, _normal(username))
    if user is None:
        raise ValueError(f"用户“{username}”不存在")
    return user


def change_password(engine: Engine, actor: Actor, old: str, new: str,
                    now: dt.datetime | None = None) -> None:
    """A user changes their own password. A wrong old password counts toward the lock, so a
    session left open cannot be used to guess the password."""
    check_password_policy(new)
    if new == old:
        raise ValueError("新密码不能与原密码相同")
    with acting(engine, actor, "change_password", *ROLES, object_type="user",
                object_id=actor.username) as (session, me):
        user = _existing(session, me.username)
        error = _check_password(session, user, old, now or dt.datetime.now(),
                                WRONG_OLD_PASSWORD)
        if error is None:
            user.password_hash = hash_password(new)
            audit.record(session, me.username, "change_password", "user", me.username)
    if error is not None:  # raised after the commit, so the failed attempt stays counted
        raise ValueError(error)


def reset_password(engine: Engine, admin: Actor, username: str, new: str) -> None:
    """The administrator sets a new password; this also lifts a lock."""
    check_password_policy(new)
    with acting(engine, admin, "reset_password", "admin", object_type="user",
                object_id=_normal(username)[:50]) as (session, me):
        user = _existing(session, username)
        user.password_hash = hash_password(new)
        user.failed_logins, user.locked_until = 0, None
        audit.record(session, me.username, "reset_password", "user", user.username)


def set_active(engine: Engine, admin: Actor, username: str, active: bool) -> None:
    """Deactivate (or reactivate, which also lifts a lock) an account; accounts are never
    deleted because submissions and the audit trail name them."""
    with acting(engine, admin, "set_active", "admin", object_type="user",
                object_id=_normal(username)[:50]) as (session, me):
        user = _existing(session, username)
        if user.username == me.username and not active:
            raise ValueError("不能停用自己的账号")
        user.active = bool(active)
        if active:
            user.failed_logins, user.locked_until = 0, None
        audit.record(session, me.username, "activate" if active else "deactivate", "user",
                     user.username)


def list_users(engine: Engine, admin: Actor) -> pd.DataFrame:
    """Every account for the 管理 page (never the password hash)."""
    with acting(engine, admin, "list_users", "admin", object_type="user") as (session, _):
        query = (select(User.username, User.display_name, User.role, User.township_code,
                        Township.name.label("township_name"), User.active,
                        User.failed_logins, User.locked_until, User.created_at)
                 .outerjoin(Township, Township.code == User.township_code)
                 .order_by(User.role, User.username))
        frame = pd.read_sql(query, session.connection())
    frame.insert(3, "role_label", frame["role"].map(ROLE_LABELS))
    return frame


def create_demo_accounts(engine: Engine) -> list[str]:
    """On a demo database only, add the demo accounts that are missing (password `demo`,
    below the policy on purpose); returns the user names created. A production database
    never gets a default account."""
    from .metrics import is_demo  # here, not at the top: metrics may come to import this module

    if not is_demo(engine):
        return []
    created = []
    with transaction(engine) as session:
        for username, role, township_code, display_name in DEMO_ACCOUNTS:
            if _find(session, username) is None:
                _add_user(session, Actor.system(), username, role,
                          hash_password(DEMO_PASSWORD), township_code, display_name)
                created.append(username)
    return created
