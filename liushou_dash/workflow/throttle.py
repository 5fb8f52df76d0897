"""Slowing down password guessing: where an attempt comes from, and how long it must wait.

Guessing is slowed down, never stopped by a lock a stranger could renew: failed logins are
counted per account and per client address (table login_throttle), and each failure beyond a
few makes the next attempt from that address, or on that account, wait. The address's wait
grows steeply (15 s doubling to an hour); the account's stays small (at most 30 s), so an
attacker hammering `admin` from one address is soon held to one guess an hour while the real
administrator, from another address, waits at most 30 s. Failures are forgiven with time.
Names that are no account are delayed the same way, so their delays tell nothing: the
throttle treats them like accounts, so it cannot live in users (whose old failed_logins and
locked_until columns migration 0007 drops).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import math
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from liushou_dash.core.models import LoginThrottle, User

LOOPBACK = "127.0.0.1"      # where an attempt comes from when nothing else is known
FORWARDED = "forwarded:"    # an address an unconfigured local proxy passed on (client_address)


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


# --- Where an attempt comes from -------------------------------------------------------------

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


def is_local(address: str | None) -> bool:
    """Whether a client address (client_address; None for this machine) is this machine."""
    ip = _ip(LOOPBACK if address is None else address)
    return ip is not None and ip.is_loopback


# --- The counts ------------------------------------------------------------------------------

def _name_key(username: str, user: User | None) -> str:
    """An account's key is its name. A typed name that is no account is delayed all the same
    (or its delays would tell that it is none), under a 16-bit digest: people type their
    password into the name box, and 65,536 buckets keep nothing of it worth recovering."""
    if user is not None:
        return ACCOUNT_KEY + user.username
    return f"{ACCOUNT_KEY}#{hashlib.sha256(username.encode('utf-8')).hexdigest()[:4]}"


@dataclass
class Throttle:
    """The two counts one login attempt is judged by: its account's (or typed name's) and its
    address's."""
    account: LoginThrottle
    origin: LoginThrottle

    @classmethod
    def load(cls, session: Session, username: str, user: User | None,
             address: str | None) -> Throttle:
        """The attempt's two counts, made when missing and locked until the transaction
        ends: parallel attempts on one account or from one address queue here, so that none
        of them is checked before the others have been counted."""
        account, origin = _name_key(username, user), ADDRESS_KEY + (address or LOOPBACK)
        keys = sorted({account, origin})  # one order for every transaction: no deadlock
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(dialect.insert(LoginThrottle).values(
            [{"key": key, "failures": 0} for key in keys]).on_conflict_do_nothing())
        rows = {row.key: row for row in session.scalars(
            select(LoginThrottle).where(LoginThrottle.key.in_(keys)).order_by(LoginThrottle.key)
            .with_for_update())}
        return cls(rows[account], rows[origin])

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

    def tidy(self, session: Session, now: dt.datetime) -> None:
        """Keep only what still counts: this attempt's rows when they hold nothing, and every
        row whose failures have all been forgiven, go."""
        for _, row in self.counts:
            if not row.failures and (row.wait_until is None or row.wait_until <= now):
                session.delete(row)
        session.execute(delete(LoginThrottle).where(
            LoginThrottle.last_failure < now - FORGOTTEN_AFTER))


def clear_account_delay(session: Session, username: str) -> int:
    """Forgive the account's failures at once; returns how many there were."""
    row = session.get(LoginThrottle, ACCOUNT_KEY + username)
    if row is None:
        return 0
    session.delete(row)
    return row.failures
