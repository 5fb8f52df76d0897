"""The demo accounts (password `demo`, printed on the login screen) log in from this machine
only: `make run ADDRESS=0.0.0.0` on a demo database must not hand the intranet an
administrator. A demo account given a real password, or a database no longer marked demo,
logs in from anywhere."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import delete

from liushou_dash.core.db import transaction
from liushou_dash.core.models import Setting
from liushou_dash.web import session
from liushou_dash.workflow import accounts, auth, throttle
from tests.apptest import app_on  # noqa: F401  (a fixture)
from tests.fixtures import PASSWORD, audit_rows

INTRANET, LOCAL = "10.20.30.40", (None, "127.0.0.1", "::1")


@pytest.fixture
def demo(engine):
    """A database marked demo, holding the demo accounts."""
    with transaction(engine) as s:
        s.add(Setting(key="demo", value="1"))
    accounts.create_demo_accounts(engine)
    return engine


@pytest.mark.parametrize("username", sorted(auth.DEMO_USERNAMES))
def test_a_demo_account_is_refused_from_another_machine_with_the_reason(demo, username):
    with pytest.raises(auth.LoginError, match="^示例账号只能在本机登录；对内网开放前请为各账号设置"
                                              "正式密码或撤下示例数据$"):
        auth.authenticate(demo, username, "demo", address=INTRANET)

    refused = audit_rows(demo, "denied", username)[-1]
    assert json.loads(refused.detail) == {"refused": "login", "reason": auth.DEMO_FROM_AFAR,
                                          "address": INTRANET}
    assert not audit_rows(demo, "login", username)


def test_a_demo_account_is_refused_through_an_unconfigured_local_proxy(demo):
    through_nginx = throttle.client_address(None, ["10.1.2.3"])
    with pytest.raises(auth.LoginError, match="^示例账号只能在本机登录"):
        auth.authenticate(demo, "admin", "demo", address=through_nginx)


@pytest.mark.parametrize("address", LOCAL)
def test_a_demo_account_logs_in_on_this_machine(demo, address):
    assert auth.authenticate(demo, "admin", "demo", address=address).role == "admin"


def test_a_wrong_password_from_afar_reads_as_any_wrong_password(demo):
    with pytest.raises(auth.LoginError, match=auth.BAD_LOGIN):
        auth.authenticate(demo, "admin", "not the password", address=INTRANET)


def test_a_demo_account_with_a_real_password_logs_in_from_anywhere(demo):
    admin = auth.authenticate(demo, "admin", "demo")
    accounts.reset_password(demo, admin, "leader", PASSWORD)

    assert auth.authenticate(demo, "leader", PASSWORD, address=INTRANET).role == "leader"


def test_the_accounts_log_in_from_anywhere_once_the_database_is_no_longer_demo(demo):
    with transaction(demo) as s:
        s.execute(delete(Setting).where(Setting.key == "demo"))

    assert auth.authenticate(demo, "staff", "demo", address=INTRANET).role == "staff"


def test_the_login_form_shows_the_reason(demo, app_on, monkeypatch):
    monkeypatch.setattr(session, "client_address", lambda: INTRANET)
    app = app_on(demo)
    app.text_input[0].input("admin")
    app.text_input[1].input("demo")
    app.button[0].click().run()

    assert [e.value for e in app.error] == [auth.DEMO_FROM_AFAR]
    assert session.ACTOR not in app.session_state
