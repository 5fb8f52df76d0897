"""Sessions that end when they should, through AppTest: a password changed in one session or
reset by the administrator ends the account's other sessions (the session that changed it
goes on), and the meeting screen's fragment passes the gate on its own runs (deactivation,
password change, idle timeout). The meeting screen with its real timer, in Chromium, is
tests/browser/test_browser_accounts.py."""
from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from liushou_dash import catalog
from liushou_dash.core import filtering
from liushou_dash.core.actors import Actor
from liushou_dash.core.db import dispose_engines
from liushou_dash.web import cache, session
from liushou_dash.web.navigation import ROOT
from liushou_dash.workflow import accounts, auth
from tests.apptest import app_on, fine, log_in, sign_in, url_of, widget  # noqa: F401
from tests.demo_db import LATEST, demo_engine  # noqa: F401  (a fixture)
from tests.fixtures import PASSWORD, TOWNSHIP, audit_rows, make_user

NEW = "Lsz-changed-2026"


def on_login_screen(app: AppTest) -> bool:
    return [b.label for b in app.button] == ["登录"] and not app.sidebar.button


def change_password(app: AppTest, old: str, new: str) -> AppTest:
    """The sidebar's 修改密码 form, filled and sent."""
    widget(app.text_input, "原密码").input(old)
    widget(app.text_input, "新密码").input(new)
    widget(app.button, "修改").click()
    return fine(app.run())


def test_a_password_change_ends_the_accounts_other_sessions_but_not_its_own(engine, app_on):
    make_user(engine, "staffz", "staff")
    here = fine(log_in(app_on(engine), "staffz", PASSWORD))
    elsewhere = fine(log_in(app_on(engine), "staffz", PASSWORD))

    change_password(here, PASSWORD, NEW)
    assert "密码已修改" in here.success[0].value

    assert not on_login_screen(fine(here.run()))           # this session goes on
    assert here.session_state[session.ACTOR].epoch == 1
    fine(elsewhere.run())                                   # the other one is over
    assert on_login_screen(elsewhere)
    assert [w.value for w in elsewhere.warning] == [auth.SESSION_ENDED]
    assert session.ACTOR not in elsewhere.session_state


@pytest.mark.parametrize("new, why", [("Short-1", "至少"), ("qwertyuiop", "常见"),
                                      ("Staffz-2026!", "用户名")])
def test_the_password_form_refuses_a_weak_password(engine, app_on, new, why):
    make_user(engine, "staffz", "staff")
    app = change_password(fine(log_in(app_on(engine), "staffz", PASSWORD)), PASSWORD, new)
    assert why in app.error[0].value
    assert auth.authenticate(engine, "staffz", PASSWORD)


def test_a_reset_by_the_administrator_ends_the_users_sessions(engine, app_on):
    boss = make_user(engine, "boss", "admin")
    make_user(engine, "clerkz", "clerk", TOWNSHIP)
    app = fine(log_in(app_on(engine), "clerkz", PASSWORD))

    accounts.reset_password(engine, boss, "clerkz", NEW)
    fine(app.run())

    assert on_login_screen(app) and "密码已修改" in app.warning[0].value
    assert fine(log_in(app, "clerkz", NEW)).session_state[session.ACTOR].username == "clerkz"


# --- The meeting screen's fragment -------------------------------------------------------------

@pytest.fixture
def meeting_alone(demo_engine, monkeypatch):
    """open(actor, idle=0): the meeting screen's page run by itself, signed in and with the
    sidebar's filter, as app.py leaves them. Without app.py nothing but the page's fragment
    can end the session, as on the fragment's own timer runs, which run neither app.py nor
    the rest of the page."""
    monkeypatch.setenv("LIUSHOU_DATABASE_URL", url_of(demo_engine))

    def open_screen(actor: Actor, idle: dt.timedelta = dt.timedelta()) -> AppTest:
        app = AppTest.from_file(str(ROOT / "app_pages" / "meeting.py"), default_timeout=60)
        sign_in(app, actor, idle)
        app.session_state[cache.FILTER_KEY] = filtering.Filter.between("2025-11", LATEST)
        return fine(app.run())
    yield open_screen
    dispose_engines()


def ended(app: AppTest) -> str:
    """Why the session ended, as the login screen will say it; the screen shows no data."""
    assert session.ACTOR not in app.session_state
    assert [e.value for e in app.error] == [session.NOT_ALLOWED] and not app.metric
    kind, message = app.session_state[session.FLASH]
    return message


def test_the_meeting_screen_shows_while_the_session_holds(demo_engine, meeting_alone):
    app = meeting_alone(make_user(demo_engine, "meeting1", "leader"))
    assert len(app.metric) == len(catalog.on(catalog.CARD)) and session.ACTOR in app.session_state


def test_the_meeting_screens_fragment_ends_a_session_whose_password_changed(demo_engine,
                                                                            meeting_alone):
    leader = make_user(demo_engine, "meeting2", "leader")
    accounts.reset_password(demo_engine, Actor.system(), "meeting2", NEW)
    assert ended(meeting_alone(leader)) == auth.SESSION_ENDED


def test_the_meeting_screens_fragment_ends_a_deactivated_session(demo_engine, meeting_alone):
    leader = make_user(demo_engine, "meeting3", "leader")
    accounts.set_active(demo_engine, Actor.system(), "meeting3", False)
    assert ended(meeting_alone(leader)) == auth.ACCOUNT_GONE


def test_the_meeting_screens_fragment_ends_an_idle_session(demo_engine, meeting_alone):
    leader = make_user(demo_engine, "meeting4", "leader")
    idle = dt.timedelta(minutes=auth.SESSION_IDLE_MINUTES, seconds=1)
    assert ended(meeting_alone(leader, idle)) == session.EXPIRED
    assert audit_rows(demo_engine, "expired", "meeting4")
