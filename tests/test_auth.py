"""Accounts: password hashing and policy, login, session epochs, expiry, account management,
demo accounts. The login delays have their own module, tests/test_login_throttle.py."""
from __future__ import annotations

import datetime as dt
import json

import bcrypt
import pytest
from sqlalchemy import String, func, select

from liushou_dash.core.actors import Actor
from liushou_dash.core.db import session_maker, transaction
from liushou_dash.core.models import AuditEntry, Base, LoginThrottle, Setting, User
from liushou_dash.workflow import accounts, auth, passwords, throttle
from liushou_dash.workflow.auth import LoginError
from tests.fixtures import OTHER_TOWNSHIP, PASSWORD, TOWNSHIP, audit_rows, make_user

T0 = dt.datetime(2026, 11, 22, 9, 0)
SYSTEM = Actor.system()


def user_row(engine, username) -> User:
    with session_maker(engine)() as session:
        return session.scalars(select(User).where(User.username == username)).one()


def login_error(engine, username, password, now=None, address=None) -> str:
    with pytest.raises(LoginError) as refused:
        auth.authenticate(engine, username, password, now=now, address=address)
    return str(refused.value)


def account_failures(engine, username) -> int:
    with session_maker(engine)() as session:
        row = session.get(LoginThrottle, f"user:{username}")
        return row.failures if row else 0


# --- Hashing -----------------------------------------------------------------------------------

def test_hash_is_salted_bcrypt_and_verifies():
    first, second = passwords.hash_password(PASSWORD), passwords.hash_password(PASSWORD)
    assert first.startswith("$2b$04$") and first != second  # salted
    assert bcrypt.checkpw(PASSWORD.encode(), first.encode())
    assert passwords.verify_password(PASSWORD, first)
    assert not passwords.verify_password(PASSWORD + "x", first)
    assert not passwords.verify_password("", first)
    assert not passwords.verify_password(PASSWORD, "not a hash")
    assert not passwords.verify_password("密" * 30, first)  # 90 bytes: over bcrypt's limit


def test_default_cost(monkeypatch):
    monkeypatch.undo()  # the real cost, not the fast one of the fixture
    assert passwords.hash_password(PASSWORD).startswith("$2b$12$")


@pytest.mark.parametrize("password, why", [
    ("", "不能为空"), ("密" * 25, "过长"), ("Short-9!", "至少需要 10 个字符"),
    ("12345678", "至少"), ("password", "至少"), (" " * 8, "空格"), (" " * 12, "空格"),
    ("8888888888", "同一个字符"), ("1234567890", "常见"), ("woaini1314", "常见"),
    ("Qq123456789", "常见"), ("1qaz2wsx3edc", "常见"), ("A123456789", "常见"),
    ("  password123 ", "常见"), ("Clerk_Zhang", "用户名"), ("clerk_zhang-2026!", "用户名"),
    ("CLERK_ZHANG", "用户名")])
def test_the_password_policy_refuses_what_is_easily_guessed(engine, password, why):
    with pytest.raises(passwords.WeakPassword, match=why):
        accounts.create_user(engine, SYSTEM, "clerk_zhang", "leader", password)
    with session_maker(engine)() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0


@pytest.mark.parametrize("password", ["十个汉字组成的好密码啊", "Lsz-pass-2026", "correct horse"])
def test_the_password_policy_accepts_what_is_long_and_uncommon(engine, password):
    assert accounts.create_user(engine, SYSTEM, "clerk_zhang", "leader", password).username


def test_a_short_user_name_may_appear_inside_a_password(engine):
    """Two letters turn up inside too many good passwords; only the whole name is refused."""
    assert accounts.create_user(engine, SYSTEM, "li", "leader", "climbing-rope-22")


def test_the_common_password_list_is_a_few_hundred_lower_case_entries():
    common = passwords._common_passwords()
    assert 300 <= len(common) <= 1000
    assert {"woaini1314", "qq123456", "1qaz2wsx", "a123456789", "88888888",
            "123456789", "password"} <= common
    assert all(entry == entry.strip().lower() and entry for entry in common)


def test_no_password_anywhere_in_the_database(any_engine):
    engine = any_engine
    chosen = ["Admin-pw-4821", "Clerk-pw-7730", "Wrong-pw-1193", "Changed-pw-5567",
                 "Reset-pw-9042"]
    admin = make_user(engine, "boss", "admin", password=chosen[0])
    clerk = make_user(engine, "clerkx", "clerk", TOWNSHIP, password=chosen[1])
    login_error(engine, "clerkx", chosen[2])
    login_error(engine, "nobody", chosen[2])
    login_error(engine, chosen[2], chosen[2])  # a password typed into the name box
    clerk = accounts.change_password(engine, clerk, chosen[1], chosen[3])
    accounts.reset_password(engine, admin, "clerkx", chosen[4])
    assert auth.authenticate(engine, "clerkx", chosen[4]).role == "clerk"

    with session_maker(engine)() as session:
        assert len(session.scalars(select(AuditEntry)).all()) >= 8  # the scan covers them
        assert session.scalars(select(LoginThrottle.key)).all()   # and the login delays
        for table in Base.metadata.sorted_tables:
            for column in (c for c in table.columns if isinstance(c.type, String)):
                # no password anywhere (the name box lower-cases what is typed into it),
                # and no hash outside the column that holds it
                secrets = chosen + [p.lower() for p in chosen] + (
                    [] if column is User.__table__.c.password_hash else ["$2b$"])
                for secret in secrets:
                    found = session.scalar(select(func.count()).select_from(table)
                                           .where(column.contains(secret, autoescape=True)))
                    assert found == 0, f"{secret} in {table.name}.{column.name}"
        hashes = session.scalars(select(User.password_hash)).all()
    assert all(h.startswith("$2b$") for h in hashes)


# --- Logging in --------------------------------------------------------------------------------

def test_login_returns_the_actor_and_is_audited(engine):
    make_user(engine, "clerkx", "clerk", TOWNSHIP)
    actor = auth.authenticate(engine, "  ClerkX ", PASSWORD)  # names are case-insensitive
    assert actor == Actor("clerkx", "clerk", TOWNSHIP, "clerkx的姓名")
    assert len(audit_rows(engine, "login", "clerkx")) == 2


def test_unknown_user_and_wrong_password_get_the_same_message(engine):
    make_user(engine, "clerkx", "clerk", TOWNSHIP)
    wrong_password = login_error(engine, "clerkx", "Not-the-password")
    unknown_user = login_error(engine, "nobody", PASSWORD)
    assert wrong_password == unknown_user == auth.BAD_LOGIN
    assert login_error(engine, "", PASSWORD) == auth.EMPTY_LOGIN


def test_success_forgives_the_accounts_failures_but_not_the_addresses(engine):
    make_user(engine, "clerkx", "clerk", TOWNSHIP)
    for _ in range(3):
        login_error(engine, "clerkx", "wrong", now=T0, address="10.0.0.7")
    assert account_failures(engine, "clerkx") == 3
    auth.authenticate(engine, "clerkx", PASSWORD, now=T0, address="10.0.0.7")
    assert account_failures(engine, "clerkx") == 0
    with session_maker(engine)() as session:
        assert session.get(LoginThrottle, "ip:10.0.0.7").failures == 3


def test_inactive_account_is_refused_and_its_open_session_stops_working(engine):
    admin = make_user(engine, "boss", "admin")
    staff = make_user(engine, "staffx", "staff")
    accounts.set_active(engine, admin, "staffx", False)
    assert login_error(engine, "staffx", PASSWORD) == auth.INACTIVE_LOGIN
    assert login_error(engine, "staffx", "wrong") == auth.BAD_LOGIN  # no hint without the password
    with pytest.raises(auth.SessionEnded, match="停用"):
        auth.refresh_actor(engine, staff)
    with pytest.raises(PermissionError, match="停用"):
        accounts.change_password(engine, staff, PASSWORD, "Another-pw-123")
    accounts.set_active(engine, admin, "staffx", True)
    again = auth.authenticate(engine, "staffx", PASSWORD)
    assert again == staff and again.epoch == staff.epoch + 1
    with pytest.raises(auth.SessionEnded, match="本次登录已结束"):  # reactivation revives
        auth.refresh_actor(engine, staff)                           # no old session
    assert auth.refresh_actor(engine, again) == staff


def test_a_password_change_ends_the_accounts_other_sessions_but_not_its_own(engine):
    here = make_user(engine, "clerkx", "clerk", TOWNSHIP)
    elsewhere = auth.authenticate(engine, "clerkx", PASSWORD)

    here = accounts.change_password(engine, here, PASSWORD, "New-pw-12345")

    assert auth.refresh_actor(engine, here) == here
    with pytest.raises(auth.SessionEnded, match="密码已修改"):
        auth.refresh_actor(engine, elsewhere)
    with pytest.raises(PermissionError, match="密码已修改"):  # nor can it act
        accounts.change_password(engine, elsewhere, PASSWORD, "Other-pw-98765")
    assert audit_rows(engine, "denied", "clerkx")


def test_session_expires_after_thirty_idle_minutes():
    assert not auth.session_expired(T0, T0 + dt.timedelta(minutes=30))
    assert auth.session_expired(T0, T0 + dt.timedelta(minutes=30, seconds=1))
    assert auth.session_expired(None, T0)


def test_logout_is_audited(engine):
    clerk = make_user(engine, "clerkx", "clerk", TOWNSHIP)
    auth.logout(engine, clerk, "expired")
    assert audit_rows(engine, "expired", "clerkx")


# --- Managing accounts -------------------------------------------------------------------------

@pytest.mark.parametrize("username, role, township, message", [
    ("clerkx", "clerk", None, "必须指定所属乡镇"),
    ("clerkx", "clerk", "520525999", "不存在"),
    ("leaderx", "leader", TOWNSHIP, "不能指定乡镇"),
    ("bossx", "superuser", None, "角色"),
    ("system", "admin", None, "不可用"),
    ("x", "staff", None, "不可用"),
    ("张三", "staff", None, "不可用"),
])
def test_create_user_rules(engine, username, role, township, message):
    with pytest.raises(ValueError, match=message):
        accounts.create_user(engine, SYSTEM, username, role, PASSWORD, township_code=township)
    with session_maker(engine)() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0


def test_user_names_are_unique(engine):
    make_user(engine, "clerkx", "clerk", TOWNSHIP)
    with pytest.raises(ValueError, match="已存在"):
        accounts.create_user(engine, SYSTEM, "ClerkX", "clerk", PASSWORD, TOWNSHIP)


@pytest.mark.parametrize("role, township", [("clerk", TOWNSHIP), ("staff", None),
                                            ("leader", None)])
def test_only_admin_manages_users_and_refusals_are_audited(engine, role, township):
    actor = make_user(engine, "someone", role, township)
    with pytest.raises(PermissionError, match="系统管理员"):
        accounts.create_user(engine, actor, "intruder", "admin", PASSWORD)
    for manage in (lambda: accounts.reset_password(engine, actor, "someone", "New-pw-12345"),
                   lambda: accounts.unlock_user(engine, actor, "someone"),
                   lambda: accounts.set_active(engine, actor, "someone", False),
                   lambda: accounts.list_users(engine, actor)):
        with pytest.raises(PermissionError):
            manage()
    denied = audit_rows(engine, "denied", "someone")
    assert [json.loads(r.detail)["refused"] for r in denied] == [
        "create_user", "reset_password", "unlock_user", "set_active", "list_users"]
    assert denied[0].object_id == "intruder"
    with session_maker(engine)() as session:
        assert session.scalars(select(User.username)).all() == ["someone"]


def test_admin_creates_users_with_an_audit_row_naming_the_admin(engine):
    admin = make_user(engine, "boss", "admin")
    created = accounts.create_user(engine, admin, "clerk101", "clerk", PASSWORD, OTHER_TOWNSHIP,
                               display_name="骔岭镇填报员")
    assert created == Actor("clerk101", "clerk", OTHER_TOWNSHIP, "骔岭镇填报员")
    [row] = [r for r in audit_rows(engine, "create_user", "boss")]
    assert row.object_id == "clerk101" and row.after_id == user_row(engine, "clerk101").id


def test_change_password(engine):
    clerk = make_user(engine, "clerkx", "clerk", TOWNSHIP)
    with pytest.raises(ValueError, match=accounts.WRONG_OLD_PASSWORD):
        accounts.change_password(engine, clerk, "wrong-old-password", "New-pw-12345")
    assert account_failures(engine, "clerkx") == 1  # a failed login like any other
    with pytest.raises(passwords.WeakPassword, match="至少"):
        accounts.change_password(engine, clerk, PASSWORD, "short")
    with pytest.raises(passwords.WeakPassword, match="用户名"):
        accounts.change_password(engine, clerk, PASSWORD, "ClerkX-2026-pw")
    accounts.change_password(engine, clerk, PASSWORD, "New-pw-12345")
    assert login_error(engine, "clerkx", PASSWORD) == auth.BAD_LOGIN
    assert auth.authenticate(engine, "clerkx", "New-pw-12345") == clerk
    assert audit_rows(engine, "change_password", "clerkx")


def test_wrong_old_passwords_are_delayed_like_failed_logins(engine):
    clerk = make_user(engine, "clerkx", "clerk", TOWNSHIP)
    for _ in range(throttle.ACCOUNT_DELAY.free + 1):
        with pytest.raises(ValueError, match=accounts.WRONG_OLD_PASSWORD):
            accounts.change_password(engine, clerk, "guess-guess", "New-pw-12345", now=T0)
    # the right old password is not looked at before the wait is over, nor the login's
    with pytest.raises(ValueError, match=accounts.TOO_SOON):
        accounts.change_password(engine, clerk, PASSWORD, "New-pw-12345", now=T0)
    assert login_error(engine, "clerkx", PASSWORD, now=T0) == auth.BAD_LOGIN
    later = T0 + throttle.ACCOUNT_DELAY.wait(throttle.ACCOUNT_DELAY.free + 1)
    assert accounts.change_password(engine, clerk, PASSWORD, "New-pw-12345", now=later) == clerk


def test_admin_reset_sets_the_password_lifts_the_delay_and_ends_the_sessions(engine):
    admin = make_user(engine, "boss", "admin")
    clerk = make_user(engine, "clerkx", "clerk", TOWNSHIP)
    for _ in range(throttle.ACCOUNT_DELAY.most):
        login_error(engine, "clerkx", "wrong", now=T0, address="10.0.0.7")
    accounts.reset_password(engine, admin, "clerkx", "Reset-pw-123")
    assert account_failures(engine, "clerkx") == 0
    with pytest.raises(auth.SessionEnded):
        auth.refresh_actor(engine, clerk)
    assert auth.authenticate(engine, "clerkx", "Reset-pw-123", now=T0).username == "clerkx"
    assert audit_rows(engine, "reset_password", "boss")[0].object_id == "clerkx"
    with pytest.raises(accounts.NoSuchUser, match="不存在"):
        accounts.reset_password(engine, admin, "nobody", "Reset-pw-123")
    with pytest.raises(passwords.WeakPassword, match="常见"):
        accounts.reset_password(engine, admin, "clerkx", "qwertyuiop")


def test_an_admin_changes_their_own_password_only_with_the_old_one(engine):
    """Resetting would let whoever finds the administrator's session open take it over."""
    admin = make_user(engine, "boss", "admin")
    with pytest.raises(ValueError, match="修改密码"):
        accounts.reset_password(engine, admin, "boss", "Taken-over-2026")
    assert auth.authenticate(engine, "boss", PASSWORD) == admin


def test_admin_cannot_deactivate_themselves(engine):
    admin = make_user(engine, "boss", "admin")
    with pytest.raises(ValueError, match="自己"):
        accounts.set_active(engine, admin, "boss", False)
    assert user_row(engine, "boss").active


def test_list_users_never_shows_hashes(engine):
    admin = make_user(engine, "boss", "admin")
    make_user(engine, "clerkx", "clerk", TOWNSHIP)
    users = accounts.list_users(engine, admin)
    assert list(users["username"]) == ["boss", "clerkx"]
    assert list(users["failures"]) == [0, 0] and users["wait_until"].isna().all()
    assert "password_hash" not in users.columns
    assert not users.astype(str).apply(lambda c: c.str.contains(r"\$2b\$")).any().any()
    assert users.set_index("username").loc["clerkx", "township_name"] == "张家湾镇"
    assert users.set_index("username").loc["boss", "role_label"] == "系统管理员"


def test_require_and_township_scope():
    clerk = Actor("c", "clerk", TOWNSHIP)
    auth.require(clerk, "clerk", "admin")
    auth.require(SYSTEM, "admin")
    with pytest.raises(PermissionError, match="县级审核人员"):
        auth.require(clerk, "staff")
    assert auth.township_scope(clerk) == TOWNSHIP
    assert auth.township_scope(Actor("l", "leader")) is None
    assert auth.township_scope(SYSTEM) is None
    with pytest.raises(PermissionError):
        auth.township_scope(Actor("c", "clerk", None))  # never "all townships" for a clerk
    with pytest.raises(PermissionError):
        auth.require_township(clerk, OTHER_TOWNSHIP)


# --- Demo accounts -----------------------------------------------------------------------------

def test_a_production_database_gets_no_account(engine):
    assert accounts.create_demo_accounts(engine) == []
    with session_maker(engine)() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0


def test_demo_database_gets_the_demo_accounts_once(engine):
    with transaction(engine) as session:
        session.add(Setting(key="demo", value="1"))
    assert accounts.create_demo_accounts(engine) == ["admin", "leader", "staff", "clerk108"]
    assert accounts.create_demo_accounts(engine) == []
    clerk = auth.authenticate(engine, "clerk108", "demo")
    assert clerk == Actor("clerk108", "clerk", TOWNSHIP, "张家湾镇填报员")
    for username in ("admin", "leader", "staff"):
        assert auth.authenticate(engine, username, "demo").role == username
