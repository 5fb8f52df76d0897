"""Driving app.py through Streamlit's AppTest, logged in as the login gate
(liushou_dash.session) would have it after a login.

The gate re-reads the account from the database on every run, so a signed-in account must
exist in it, under the session epoch it was logged in with (tests.fixtures.make_user, or
`account` here).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from liushou_dash.core.db import dispose_engines, session_maker
from liushou_dash.core.models import User
from liushou_dash.web.session import ACTOR, LAST_SEEN
from liushou_dash.workflow import auth
from tests.fixtures import PASSWORD, make_user

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def url_of(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def app_on(monkeypatch):
    """open(engine, actor=None, page=None, idle=0): app.py against `engine`, run once with
    `actor` signed in (last active `idle` ago), then switched to `page`; nobody logged in
    when `actor` is None."""
    def open_app(engine, actor: auth.Actor | None = None, page: str | None = None,
                 idle: dt.timedelta = dt.timedelta()) -> AppTest:
        monkeypatch.setenv("LIUSHOU_DATABASE_URL", url_of(engine))
        st.cache_data.clear()
        app = AppTest.from_file(APP, default_timeout=60)
        if actor is not None:
            sign_in(app, actor, idle)
        fine(app.run())
        return fine(app.switch_page(page).run()) if page else app
    yield open_app
    st.cache_data.clear()
    dispose_engines()


def fine(app: AppTest) -> AppTest:
    """`app`, after checking that its last run raised nothing."""
    assert not app.exception, [e.value for e in app.exception]
    return app


def account(engine, role: str, township: str | None = None) -> auth.Actor:
    """A logged-in account of `role` (and township, for a clerk), made once per database.
    Made first and logged into if it exists, not the other way round: a failed login would
    count toward this machine's login delay, and a module asking for many roles would
    come to wait."""
    username = f"{role}{township or ''}x"
    with session_maker(engine)() as session:
        made = session.scalar(select(User.id).where(User.username == username)) is not None
    return auth.authenticate(engine, username, PASSWORD) if made else make_user(
        engine, username, role, township)


def sign_in(app: AppTest, actor: auth.Actor, idle: dt.timedelta = dt.timedelta()) -> AppTest:
    """`app` with `actor` logged in, last active `idle` ago."""
    app.session_state[ACTOR] = actor
    app.session_state[LAST_SEEN] = dt.datetime.now() - idle
    return app


def widget(widgets, label: str):
    """The one widget of a list (app.text_input, app.button...) with this label."""
    [found] = [w for w in widgets if w.label == label]
    return found


def press(app: AppTest, label: str) -> AppTest:
    widget(app.button, label).click()
    return fine(app.run())


def table_with(app: AppTest, column: str) -> pd.DataFrame:
    """The one table on the page that has `column`."""
    [table] = [d.value for d in app.dataframe if column in d.value.columns]
    return table


def log_in(app: AppTest, username: str, password: str) -> AppTest:
    """Fill the login form and submit it, as a person would."""
    widget(app.text_input, "用户名").input(username)
    widget(app.text_input, "密码").input(password)
    widget(app.button, "登录").click()
    return app.run()
