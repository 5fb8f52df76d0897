"""Accounts, passwords, roles and township scope (DESIGN.md "Who uses it").

An intranet has no identity provider for `st.login`, so accounts live in the database. Access
control lives here in the core, not in the pages: every function that reads township-scoped
data or writes anything takes the acting user (an `Actor`), re-reads that account from the
database and refuses, or scopes its query, by role and township. Refusals are audited.
No Streamlit here: a page keeps the `Actor` returned by `authenticate` in its session state.

Guessing is slowed down, never stopped by a lock a stranger could renew: failed logins are
counted per account and per client address (table login_throttle), and each failure beyond a
few makes the next attempt from that address, or on that account, wait. The address's wait
grows steeply (15 s doubling to an hour); the account's stays small (at most 30 s), so an
attacker hammering `admin` from one address is soon held to one guess an hour while the real
administrator, from another address, waits at most 30 s. Failures are forgiven with time. An
unknown name, a wrong password and an attempt made too early get the same message and take
about the same time, so nobody learns which names exist (names that are no account are
delayed the same way). The old users.failed_logins and locked_until are no longer written:
the throttle must treat names that are no account like accounts, so it cannot live in users.

A session ends when the account's `session_epoch` moves on (a password change or reset, a
deactivation): each Actor carries the epoch it logged in under and `_reload` compares it.

Password policy: at least 10 characters and at most 72 bytes in UTF-8 (bcrypt's limit; bcrypt
5 refuses longer input rather than silently truncating it), not only spaces nor one character
repeated, not containing the user name, not in common_passwords.txt. The only exception is the
demo database's accounts, whose password is `demo`: `create_demo_accounts` stores them
directly and never goes through `create_user`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import math
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import bcrypt
import pandas as pd
from sqlalchemy import delete, literal, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from liushou_dash.core import audit
from liushou_dash.core.actors import ROLE_LABELS, ROLES, SYSTEM, SYSTEM_LABEL, Actor  # noqa: F401
from liushou_dash.core.db import session_maker, transaction
from liushou_dash.core.models import LoginThrottle, Township, User
from liushou_dash.core.settings import is_demo

ALREADY_SET_UP = "系统中已有账号，不能再创建首个管理员，请直接登录"


MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_BYTES = 72
NAME_IN_PASSWORD = 3        # a user name this long or longer may not appear in its password
PASSWORD_RULES = f"至少 {MIN_PASSWORD_LENGTH} 个字符，不能包含用户名，不能是常见密码"
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")
BCRYPT_ROUNDS = 12          # about 0.25 s per hash: cheap for a login, costly for a guesser
SESSION_IDLE_MINUTES = 30
USERNAME_RE = re.compile(r"[a-z0-9_.\-]{2,50}")
LOOPBACK = "127.0.0.1"      # where an attempt comes from when nothing else is known
FORWARDED = "forwarded:"    # an address an unconfigured local proxy passed on (client_address)

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
WRONG_OLD_PASSWORD = "原密码不正确"
TOO_SOON = "尝试过于频繁，请稍后再试"
ACCOUNT_GONE = "账号已停用或不存在，请联系系统管理员"
SESSION_ENDED = "该账号的密码已修改，或账号曾被停用，本次登录已结束，请重新登录"


class LoginError(Exception):
    """A refused login; its message is Chinese and safe to show."""


class SessionEnded(PermissionError):
    """A login that no longer holds (account gone or deactivated, password changed since);
    the message says which, in Chinese."""


class WeakPassword(ValueError):
    """A password the policy refuses; the message says why, in Chinese."""


class NoSuchUser(ValueError):
    """A user name that is no account."""


def _actor(user: User) -> Actor:
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


def _find(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def _reload(session: Session, actor: Actor) -> Actor:
    """The actor as the database sees it now, so that a deactivated account, a changed role
    or a changed password takes effect at once rather than when the session expires."""
    if actor.is_system:
        return actor
    user = _find(session, actor.username)
    if user is None or not user.active:
        raise SessionEnded(ACCOUNT_GONE)
    if user.session_epoch != actor.epoch:
        raise SessionEnded(SESSION_ENDED)
    return _actor(user)


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


# --- Passwords ---------------------------------------------------------------------------------

def _encoded(password: str) -> bytes:
    if not isinstance(password, str) or not password:
        raise WeakPassword("密码不能为空")
    data = password.encode("utf-8")
    if len(data) > MAX_PASSWORD_BYTES:
        raise WeakPassword(f"密码过长：不能超过 {MAX_PASSWORD_BYTES} 字节（约 24 个汉字）")
    return data


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text("utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines
                     if line.strip() and not line.startswith("#"))


def check_password_policy(password: str, username: str = "") -> None:
    """Raise WeakPassword (Chinese) unless `password` may be set for `username` (see the
    module docstring). A name shorter than NAME_IN_PASSWORD may appear: two letters turn up
    inside too many good passwords (and cannot be a whole password of the least length)."""
    _encoded(password)
    if not password.strip():
        raise WeakPassword("密码不能只由空格组成")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符")
    if len(set(password)) == 1:
        raise WeakPassword("密码不能由同一个字符重复组成")
    typed, name = password.strip().lower(), _normal(username)
    if len(name) >= NAME_IN_PASSWORD and name in typed:
        raise WeakPassword("密码不能包含用户名")
    if typed in _common_passwords():
        raise WeakPassword("这是常见密码，很容易被猜中，请换一个")


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


@lru_cache(maxsize=4)
def _verify_seconds(rounds: int) -> float:
    """How long checking a password takes on this machine, measured once."""
    _dummy_hash(rounds)
    start = time.perf_counter()
    _spend_verify_time("measure")
    return time.perf_counter() - start


def _set_password(user: User, password: str) -> None:
    """A new password ends the account's other sessions."""
    user.password_hash = hash_password(password)
    _end_sessions(user)


def _end_sessions(user: User) -> None:
    user.session_epoch = (user.session_epoch or 0) + 1


# --- Slowing down guessing ---------------------------------------------------------------------

@dataclass(frozen=True)
class Delay:
    """How failed logins slow down the next attempt: the first `free` failures cost nothing,
    then the wait starts at `first` and doubles with each failure up to `cap`; one failure is
    forgiven for every `forgive` that passes without a new one."""
    free: int
    first: dt.timedelta
    cap: dt.timedelta
    forgive: dt.timedelta

    @property
    def most(self) -> int:
        """The failures worth counting: beyond them the wait is at its cap, and counting more
        would only put off the forgiving."""
        return self.free + 1 + math.ceil(math.log2(self.cap / self.first))

    @property
    def forgotten_after(self) -> dt.timedelta:
        """Quiet time after which every failure is forgiven."""
        return self.most * self.forgive

    def wait(self, failures: int) -> dt.timedelta:
        if failures <= self.free:
            return dt.timedelta(0)
        return min(self.first * 2 ** (min(failures, self.most) - self.free - 1), self.cap)

    def remaining(self, failures: int, last_failure: dt.datetime | None,
                  now: dt.datetime) -> int:
        """The failures still counted at `now`."""
        if not failures or last_failure is None:
            return 0
        quiet = max(now - last_failure, dt.timedelta(0))
        return max(0, failures - quiet // self.forgive)


# Per account, and per typed name that is no account: small, because anybody can fail on
# any name, and the owner must not pay much for a stranger's failures.
ACCOUNT_DELAY = Delay(free=3, first=dt.timedelta(seconds=2), cap=dt.timedelta(seconds=30),
                      forgive=dt.timedelta(minutes=15))
# Per client address: steep, because only the guesser pays it; whatever names it tries, an
# address that keeps failing is held to one attempt an hour.
ADDRESS_DELAY = Delay(free=5, first=dt.timedelta(seconds=15), cap=dt.timedelta(hours=1),
                      forgive=dt.timedelta(hours=1))
FORGOTTEN_AFTER = max(ACCOUNT_DELAY.forgotten_after, ADDRESS_DELAY.forgotten_after)
ACCOUNT_KEY, ADDRESS_KEY = "user:", "ip:"


def _ip(text: str | None):
    """The address in `text` (an IPv4 address written as IPv6 as the IPv4 it is), or None."""
    try:
        ip = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None
    return getattr(ip, "ipv4_mapped", None) or ip


def _networks(trusted_proxies: str) -> list:
    try:
        return [ipaddress.ip_network(part.strip(), strict=False)
                for part in trusted_proxies.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"LIUSHOU_TRUSTED_PROXIES 应为逗号分隔的 IP 地址或网段，"
                         f"现为“{trusted_proxies}”") from None


def _as_counted(ip) -> str:
    """An address as the throttle counts it. An IPv6 host by its /64: a subscriber usually
    holds the whole /64 and could otherwise step through it address by address."""
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def client_address(peer: str | None, forwarded_for: list[str], trusted_proxies: str = "") -> str:
    """Where a login attempt comes from, for the throttle and the audit trail.

    The direct peer (None, as Streamlit reports a connection from this machine, is the
    loopback address), unless that peer is a trusted proxy (`trusted_proxies`: addresses or
    networks, comma-separated; LIUSHOU_TRUSTED_PROXIES): then X-Forwarded-For is read from
    its right end, where each trusted proxy added the address it saw, back to the first
    address that is no trusted proxy. What lies further left the client wrote itself."""
    trusted = _networks(trusted_proxies)
    hop = _ip(peer or LOOPBACK)
    if hop is None:
        return (peer or "")[:100]
    hops = [part.strip() for header in forwarded_for for part in header.split(",")]
    for earlier in map(_ip, reversed(hops)):
        if earlier is None or not any(hop in network for network in trusted):
            break
        hop = earlier
        hops.pop()
    if hop.is_loopback and hops:
        return _forwarded(hops[-1])
    return _as_counted(hop)


def _forwarded(claimed: str) -> str:
    """A request that came through a proxy on this machine which LIUSHOU_TRUSTED_PROXIES does
    not name (nginx beside the app, left unconfigured). Not this machine — a demo account
    must not log in through it — and not one shared address either, or every user behind
    the proxy would wait for one stranger's failures: counted under the address the proxy
    passed on, marked as unverified (a client that forges it gains no more than the
    account's own capped delay)."""
    return f"{FORWARDED}{claimed}"[:100]


def _name_key(username: str, user: User | None) -> str:
    """An account's key is its name. A typed name that is no account is delayed all the same
    (or its delays would tell that it is none), under a 16-bit digest: people type their
    password into the name box, and 65,536 buckets keep nothing of it worth recovering."""
    if user is not None:
        return ACCOUNT_KEY + user.username
    return f"{ACCOUNT_KEY}#{hashlib.sha256(username.encode('utf-8')).hexdigest()[:4]}"


@dataclass
class _Throttle:
    """The two counts one login attempt is judged by: its account's (or typed name's) and its
    address's."""
    account: LoginThrottle
    origin: LoginThrottle

    @property
    def address(self) -> str:
        return self.origin.key.removeprefix(ADDRESS_KEY)

    @property
    def counts(self) -> tuple[tuple[Delay, LoginThrottle], ...]:
        return (ACCOUNT_DELAY, self.account), (ADDRESS_DELAY, self.origin)

    def holds(self, now: dt.datetime) -> bool:
        """Whether the attempt comes before a wait is over. It is then refused without its
        password being looked at, and counted nowhere: hammering during a wait neither gets a
        guesser anything nor makes anybody's wait longer."""
        return any(row.wait_until is not None and now < row.wait_until
                   for _, row in self.counts)

    def fail(self, now: dt.datetime) -> None:
        for delay, row in self.counts:
            row.failures = min(delay.remaining(row.failures, row.last_failure, now) + 1,
                               delay.most)
            row.last_failure, row.wait_until = now, now + delay.wait(row.failures)

    def forgive_account(self) -> None:
        """The owner is back: the account's failures go. The address's stay, or a guesser
        holding one good account could wipe its record by logging in with it."""
        self.account.failures, self.account.wait_until = 0, None


def _throttle(session: Session, username: str, user: User | None,
              address: str | None) -> _Throttle:
    """The attempt's two counts, made when missing and locked until the transaction ends:
    parallel attempts on one account or from one address queue here, so that none of them
    is checked before the others have been counted."""
    account, origin = _name_key(username, user), ADDRESS_KEY + (address or LOOPBACK)
    keys = sorted({account, origin})  # one order for every transaction: no deadlock
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(LoginThrottle).values(
        [{"key": key, "failures": 0} for key in keys]).on_conflict_do_nothing())
    rows = {row.key: row for row in session.scalars(
        select(LoginThrottle).where(LoginThrottle.key.in_(keys)).order_by(LoginThrottle.key)
        .with_for_update())}
    return _Throttle(rows[account], rows[origin])


def _tidy(session: Session, throttle: _Throttle, now: dt.datetime) -> None:
    """Keep only what still counts: this attempt's rows when they hold nothing, and every
    row whose failures have all been forgiven, go."""
    for _, row in throttle.counts:
        if not row.failures and (row.wait_until is None or row.wait_until <= now):
            session.delete(row)
    session.execute(delete(LoginThrottle).where(
        LoginThrottle.last_failure < now - FORGOTTEN_AFTER))


def _clear_account_delay(session: Session, username: str) -> int:
    """Forgive the account's failures at once; returns how many there were."""
    row = session.get(LoginThrottle, ACCOUNT_KEY + username)
    if row is None:
        return 0
    session.delete(row)
    return row.failures


# --- Logging in --------------------------------------------------------------------------------

def _normal(username: str) -> str:
    return (username or "").strip().lower()


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
    user = _find(session, username)
    throttle = _throttle(session, username, user, address)
    # A typed name that is no account is not recorded: people type their password into it.
    who = user.username if user is not None else None
    if throttle.holds(now):
        audit.record(session, who, "login_delayed", "user", who, address=throttle.address)
        outcome = _Outcome(None, BAD_LOGIN, held=True)
    elif user is None or not verify_password(password, user.password_hash):
        if user is None:
            _spend_verify_time(password)
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
    _tidy(session, throttle, now)
    return outcome


def _demo_from_afar(engine: Engine, username: str, password: str, address: str | None) -> bool:
    """A demo account tried with the password the login screen publishes, on a demo database,
    from another machine: `make run ADDRESS=0.0.0.0` must not open an administrator to the
    whole intranet. Only the typed password is looked at here: the attempt refused for it must
    still have the right password (_attempt checks that first), so a demo account whose
    password was changed to a real one logs in from anywhere."""
    return (password == DEMO_PASSWORD and username in DEMO_USERNAMES
            and not _local(address) and is_demo(engine))


def _local(address: str | None) -> bool:
    """Whether a client address (client_address; None for this machine) is this machine."""
    ip = _ip(LOOPBACK if address is None else address)
    return ip is not None and ip.is_loopback


def authenticate(engine: Engine, username: str, password: str,
                 now: dt.datetime | None = None, address: str | None = None) -> Actor:
    """The Actor for a correct user name and password; otherwise LoginError. An unknown name,
    a wrong password and an attempt that must wait get the same message and cost about the
    same time (the wait is not told: it would tell which names are being guessed at).
    `address`: where the attempt comes from (client_address); None for this machine."""
    username, now = _normal(username), now or dt.datetime.now()
    if not username or not password:
        raise LoginError(EMPTY_LOGIN)
    demo_from_afar = _demo_from_afar(engine, username, password, address)
    with transaction(engine) as session:  # failures are counted even though we refuse
        outcome = _attempt(session, username, password, address, now, demo_from_afar)
    if outcome.held:  # outside the transaction, which holds the throttle's rows
        time.sleep(_verify_seconds(BCRYPT_ROUNDS))
    if outcome.error is not None:
        raise LoginError(outcome.error)
    return _actor(outcome.user)


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
    username = _normal(username)
    with acting(engine, actor, "create_user", "admin", object_type="user",
                object_id=username[:50]) as (session, me):
        if only_if_first and _any_user(session):
            raise PermissionError(ALREADY_SET_UP)
        _check_new_user(username, role, township_code, display_name)
        check_password_policy(password, username)
        creator = Actor(username, role) if only_if_first else me
        user = _add_user(session, creator, username, role, hash_password(password),
                         township_code, display_name)
    return _actor(user)


def _existing(session: Session, username: str) -> User:
    user = _find(session, _normal(username))
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
        throttle = _throttle(session, user.username, user, address)
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
        _tidy(session, throttle, now)
    if error is not None:  # raised after the commit, so the failed attempt stays counted
        raise ValueError(error)
    return _actor(user)


def reset_password(engine: Engine, admin: Actor, username: str, new: str) -> None:
    """The administrator (or the command line) sets a new password: the account's sessions
    end and its login delay is lifted. Not for one's own account, which takes the old
    password (change_password): a session left open must not be enough to take it over."""
    check_password_policy(new, username)
    with acting(engine, admin, "reset_password", "admin", object_type="user",
                object_id=_normal(username)[:50]) as (session, me):
        user = _existing(session, username)
        if user.username == me.username:
            raise ValueError("不能在这里重置自己的密码，请在侧栏“修改密码”中修改（需要原密码）")
        _set_password(user, new)
        _clear_account_delay(session, user.username)
        audit.record(session, me.username, "reset_password", "user", user.username)


def unlock_user(engine: Engine, admin: Actor, username: str) -> int:
    """Lift the account's login delay at once (its failures forgiven), for an owner who
    cannot wait; returns how many failures were forgiven. An address's delay stays: it is
    the guesser's."""
    with acting(engine, admin, "unlock_user", "admin", object_type="user",
                object_id=_normal(username)[:50]) as (session, me):
        user = _existing(session, username)
        forgiven = _clear_account_delay(session, user.username)
        audit.record(session, me.username, "unlock_user", "user", user.username,
                     failures=forgiven)
    return forgiven


def set_active(engine: Engine, admin: Actor, username: str, active: bool) -> None:
    """Deactivate (ending the account's sessions) or reactivate an account; accounts are
    never deleted because submissions and the audit trail name them."""
    with acting(engine, admin, "set_active", "admin", object_type="user",
                object_id=_normal(username)[:50]) as (session, me):
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


def create_demo_accounts(engine: Engine) -> list[str]:
    """On a demo database only, add the demo accounts that are missing (password `demo`,
    below the policy on purpose); returns the user names created. A production database
    never gets a default account."""
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
