"""The login delays (auth's "Slowing down guessing"): a wait per account and per client
address instead of a lock, so that a stranger cannot keep an account's owner out; one message
for every refusal; a limit on how fast one address may guess; failures forgiven with time.
Time is passed as `now=`, never waited for."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from liushou_dash.core.db import session_maker
from liushou_dash.core.models import AuditEntry, LoginThrottle
from liushou_dash.workflow import accounts, auth, throttle
from liushou_dash.workflow.auth import BAD_LOGIN, LoginError
from liushou_dash.workflow.throttle import ACCOUNT_DELAY, ADDRESS_DELAY
from tests.fixtures import PASSWORD, TOWNSHIP, audit_rows, make_user

T0 = dt.datetime(2026, 11, 22, 9, 0)
SECOND, DAY = dt.timedelta(seconds=1), dt.timedelta(days=1)
ATTACKER, OWNER = "203.0.113.9", "198.51.100.4"


def attempt(engine, username: str, password: str, now: dt.datetime, address: str) -> str | None:
    """None for a login that succeeded, else the message shown."""
    try:
        auth.authenticate(engine, username, password, now=now, address=address)
    except LoginError as refused:
        return str(refused)
    return None


def throttle_rows(engine) -> dict[str, tuple]:
    """key -> (failures, last_failure, wait_until) as stored."""
    with session_maker(engine)() as session:
        return {row.key: (row.failures, row.last_failure, row.wait_until)
                for row in session.scalars(select(LoginThrottle))}


def wait_of(engine, key: str, now: dt.datetime) -> dt.timedelta:
    _, _, until = throttle_rows(engine).get(key, (0, None, None))
    return max(until - now, dt.timedelta(0)) if until else dt.timedelta(0)


def checks(engine) -> int:
    """Password checks so far: every failure is audited, every wait-refusal separately."""
    return len(audit_rows(engine, "login_failed"))


# --- The schedule ------------------------------------------------------------------------------

def test_the_schedule_is_steep_per_address_and_small_per_account():
    address = [ADDRESS_DELAY.wait(n).total_seconds() for n in range(1, 16)]
    account = [ACCOUNT_DELAY.wait(n).total_seconds() for n in range(1, 10)]
    assert address == [0] * 5 + [15, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert account == [0, 0, 0, 2, 4, 8, 16, 30, 30]
    assert ADDRESS_DELAY.remaining(14, T0, T0 + dt.timedelta(hours=3, minutes=59)) == 11
    assert ACCOUNT_DELAY.remaining(8, T0, T0 + throttle.FORGOTTEN_AFTER) == 0
    assert ADDRESS_DELAY.remaining(14, T0, T0 + throttle.FORGOTTEN_AFTER) == 0


# --- A stranger cannot lock anybody out --------------------------------------------------------

def test_a_stranger_hammering_an_account_for_a_day_cannot_keep_its_owner_out(engine):
    """The attacker tries `boss` from one address as soon as each wait allows, and once more
    in the middle of every wait, for a whole day. The owner, from another address, would
    never wait more than the account's cap, a few minutes in all, and not at all once the
    attacker's own address is held to one guess an hour."""
    make_user(engine, "boss", "admin")
    now, longest, in_all = T0, dt.timedelta(0), dt.timedelta(0)
    while now < T0 + DAY:
        assert attempt(engine, "boss", "Guess-123456", now, ATTACKER) == BAD_LOGIN
        owner_waits = wait_of(engine, "user:boss", now)   # what the owner would wait
        longest, in_all = max(longest, owner_waits), in_all + owner_waits
        wait = max(wait_of(engine, f"ip:{ATTACKER}", now), owner_waits)
        if wait > SECOND:  # hammering during the wait: refused unseen, nothing renewed
            before = throttle_rows(engine)
            assert attempt(engine, "boss", PASSWORD, now + wait / 2, ATTACKER) == BAD_LOGIN
            assert throttle_rows(engine) == before
        now += max(wait, SECOND)

    assert longest == ACCOUNT_DELAY.cap and in_all < dt.timedelta(minutes=5)
    assert wait_of(engine, f"ip:{ATTACKER}", now) == dt.timedelta(0)
    assert attempt(engine, "boss", "Guess-123456", now, ATTACKER) == BAD_LOGIN
    assert wait_of(engine, f"ip:{ATTACKER}", now) == ADDRESS_DELAY.cap    # the attacker's
    assert attempt(engine, "boss", PASSWORD, now, OWNER) is None           # the owner's
    # one password checked an hour, after the first few: no guessing at speed
    assert checks(engine) <= ADDRESS_DELAY.free + ADDRESS_DELAY.most + 24
    assert len(audit_rows(engine, "login_delayed", "boss")) >= 20


def test_the_owner_is_not_kept_out_by_refusals_during_the_accounts_wait(engine):
    """Trying again and again while the account waits (its owner, confused) costs nothing
    more: refusals during a wait are counted nowhere, not even on the owner's address."""
    make_user(engine, "boss", "admin")
    for n in range(ACCOUNT_DELAY.most):  # a stranger, far enough apart to be checked
        attempt(engine, "boss", "Guess-123456", T0 + n * 31 * SECOND, ATTACKER)
    stranger_done = T0 + (ACCOUNT_DELAY.most - 1) * 31 * SECOND
    assert wait_of(engine, "user:boss", stranger_done) == ACCOUNT_DELAY.cap
    for second in range(ACCOUNT_DELAY.cap.seconds):  # the owner, every second meanwhile
        now = stranger_done + second * SECOND
        assert attempt(engine, "boss", PASSWORD, now, OWNER) == BAD_LOGIN
    assert f"ip:{OWNER}" not in throttle_rows(engine)
    assert attempt(engine, "boss", PASSWORD, stranger_done + ACCOUNT_DELAY.cap, OWNER) is None


# --- One message, whoever the name is ----------------------------------------------------------

def last_action(engine) -> str:
    with session_maker(engine)() as session:
        return session.scalars(select(AuditEntry.action).order_by(AuditEntry.id.desc())
                               .limit(1)).one()


def outcomes(engine, username: str, address: str) -> list[tuple[str | None, str]]:
    """Eight wrong passwords a second apart: what each shows and what the audit made of it."""
    found = []
    for second in range(8):
        message = attempt(engine, username, "Wrong-pw-2026", T0 + second * SECOND, address)
        found.append((message, last_action(engine)))
    return found


def test_unknown_names_are_delayed_like_accounts_and_every_refusal_reads_the_same(engine):
    make_user(engine, "clerkx", "clerk", TOWNSHIP)
    account = outcomes(engine, "clerkx", "10.0.0.1")
    unknown = outcomes(engine, "nobody", "10.0.0.2")

    assert account == unknown
    assert {message for message, _ in account} == {BAD_LOGIN}
    assert [action for _, action in account] == ["login_failed"] * 4 + [
        "login_delayed", "login_failed", "login_delayed", "login_delayed"]
    # the right password during the wait reads the same too
    assert attempt(engine, "clerkx", PASSWORD, T0 + 8 * SECOND, "10.0.0.1") == BAD_LOGIN
    # nothing of the unknown name is stored: neither in the audit nor as a key
    assert "nobody" not in str(throttle_rows(engine))
    assert {(row.username, row.object_id) for row in audit_rows(engine, "login_delayed")} == {
        ("clerkx", "clerkx"), (None, None)}


# --- The rate limit ----------------------------------------------------------------------------

def test_one_address_is_held_to_a_few_guesses_whatever_names_it_tries(engine):
    """Spraying one password over many names never trips an account's delay, so the
    address's own count is what limits it: after five failures even an account's right
    password waits, and over a day of trying as fast as allowed the address gets about one
    check an hour."""
    make_user(engine, "clerkx", "clerk", TOWNSHIP)
    for n in range(ADDRESS_DELAY.free + 1):
        assert attempt(engine, f"name{n}", "Spray-2026", T0, ATTACKER) == BAD_LOGIN
    first_wait = ADDRESS_DELAY.wait(ADDRESS_DELAY.free + 1)
    assert attempt(engine, "clerkx", PASSWORD, T0 + first_wait - SECOND, ATTACKER) == BAD_LOGIN
    assert attempt(engine, "clerkx", PASSWORD, T0, OWNER) is None   # other addresses: no wait
    assert attempt(engine, "clerkx", PASSWORD, T0 + first_wait, ATTACKER) is None

    now, n = T0 + first_wait, ADDRESS_DELAY.free + 1
    while now < T0 + DAY:
        n += 1
        assert attempt(engine, f"name{n}", "Spray-2026", now, ATTACKER) == BAD_LOGIN
        now += max(wait_of(engine, f"ip:{ATTACKER}", now), SECOND)
    # the free ones, the climb to the cap, then one an hour
    assert ADDRESS_DELAY.free + 24 <= checks(engine) <= (ADDRESS_DELAY.free + ADDRESS_DELAY.most
                                                         + 24)


def test_simultaneous_attempts_are_counted_before_any_is_checked(any_engine):
    """Ten wrong passwords at the same instant: the throttle's rows are locked per attempt,
    so only those before the first wait get their password checked."""
    make_user(any_engine, "clerkx", "clerk", TOWNSHIP)
    threads = [threading.Thread(target=attempt, args=(any_engine, "clerkx", "Wrong-pw-2026",
                                                      T0, ATTACKER)) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(audit_rows(any_engine, "login_failed", "clerkx")) == ACCOUNT_DELAY.free + 1
    assert len(audit_rows(any_engine, "login_delayed", "clerkx")) == 10 - ACCOUNT_DELAY.free - 1


# --- Forgiving ---------------------------------------------------------------------------------

def test_failures_are_forgiven_with_time_and_then_forgotten(engine):
    boss = make_user(engine, "boss", "admin")
    make_user(engine, "clerkx", "clerk", TOWNSHIP)
    now = T0
    for _ in range(ACCOUNT_DELAY.most):
        attempt(engine, "clerkx", "Wrong-pw-2026", now, ATTACKER)
        now += max(wait_of(engine, "user:clerkx", now), wait_of(engine, f"ip:{ATTACKER}", now))
    users = accounts.list_users(engine, boss, now=now).set_index("username")
    assert users.loc["clerkx", "failures"] == ACCOUNT_DELAY.most

    later = now + 4 * ACCOUNT_DELAY.forgive
    users = accounts.list_users(engine, boss, now=later).set_index("username")
    assert users.loc["clerkx", "failures"] == ACCOUNT_DELAY.most - 4
    assert users["wait_until"].isna().all()

    # a day later every failure is forgiven and the rows are gone with the next attempt
    assert attempt(engine, "boss", PASSWORD, now + DAY, OWNER) is None
    assert throttle_rows(engine) == {}


# --- Where an attempt comes from ---------------------------------------------------------------

@pytest.mark.parametrize("peer, forwarded, trusted, expected", [
    (None, [], "", "127.0.0.1"),                                  # this machine
    ("10.0.0.5", ["1.2.3.4"], "", "10.0.0.5"),                     # no proxy trusted
    ("10.0.0.5", ["1.2.3.4"], "10.0.0.6", "10.0.0.5"),             # not a trusted proxy
    (None, ["1.2.3.4"], "127.0.0.1", "1.2.3.4"),                   # nginx on this machine
    (None, ["1.2.3.4"], "", "forwarded:1.2.3.4"),                  # the same, not configured
    ("127.0.0.1", ["6.6.6.6, 1.2.3.4"], "", "forwarded:1.2.3.4"),
    ("10.0.0.5", ["6.6.6.6, 1.2.3.4, 10.0.0.9"], "10.0.0.0/8", "1.2.3.4"),  # two proxies
    ("10.0.0.5", ["6.6.6.6, 1.2.3.4", "10.0.0.9"], "10.0.0.0/8", "1.2.3.4"),
    ("10.0.0.5", ["not-an-address, 10.0.0.9"], "10.0.0.0/8", "10.0.0.9"),
    ("10.0.0.5", [], "10.0.0.0/8", "10.0.0.5"),
    ("::ffff:10.0.0.5", ["1.2.3.4"], "10.0.0.5", "1.2.3.4"),
    ("2001:db8:1:2:aa:bb:cc:dd", [], "", "2001:db8:1:2::/64"),     # a subscriber's /64
])
def test_the_client_address_trusts_forwarding_only_from_listed_proxies(peer, forwarded,
                                                                        trusted, expected):
    assert throttle.client_address(peer, forwarded, trusted) == expected


def test_behind_an_unconfigured_local_proxy_one_strangers_failures_delay_nobody_else(engine):
    """nginx beside the app without LIUSHOU_TRUSTED_PROXIES: every request's peer is this
    machine. Were they all counted as 127.0.0.1, one guesser would make every user wait up
    to an hour; they are counted apart, by the address the proxy passed on."""
    make_user(engine, "boss", "admin")
    guesser, owner = (throttle.client_address(None, [ip]) for ip in ("6.6.6.6", "10.1.2.3"))
    step = ACCOUNT_DELAY.cap + dt.timedelta(seconds=1)  # each guess once the account may
    for n in range(20):
        attempt(engine, "boss", "wrong guess", T0 + n * step, guesser)
    assert attempt(engine, "boss", PASSWORD, T0 + 20 * step, owner) is None


def test_a_wrong_list_of_trusted_proxies_is_said_in_chinese():
    with pytest.raises(ValueError, match="LIUSHOU_TRUSTED_PROXIES"):
        throttle.client_address("10.0.0.5", [], "nginx")
