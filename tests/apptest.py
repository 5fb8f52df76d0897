"""How the tests drive app.py through Streamlit's AppTest (one helper for all of them),
logged in as the login gate (liushou_dash.web.session) would have it after a login; and how
they read what a page shows.

The gate re-reads the account from the database on every run, so a signed-in account must
exist in it, under the session epoch it was logged in with (tests.fixtures.make_user, or
`account` here).

Two fixtures open the app:
- `app_on(engine, actor, page, ...)`: on any database, with the caches emptied first;
- `demo_app(page, query, role)`: on the seeded demo county that every page test of the
  session shares (conftest.demo_site), the caches left warm from test to test. Tests that
  write to the demo county use their module's own copy (tests.demo_db.demo_engine) instead.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import streamlit as st
from sqlalchemy import select
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from liushou_dash import catalog
from liushou_dash.core.actors import Actor
from liushou_dash.core.db import dispose_engines, session_maker, transaction
from liushou_dash.core.filtering import Filter
from liushou_dash.core.models import User
from liushou_dash.ingest.store import store_submission
from liushou_dash.web.session import ACTOR, LAST_SEEN
from liushou_dash.workflow import auth
from tests.demo_db import LATEST
from tests.fixtures import (
    OTHER_TOWNSHIP,
    PASSWORD,
    TOWNSHIP,
    funding_frame,
    home_frame,
    make_user,
    school_frame,
)

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 60  # seconds a single run may take before AppTest gives up (not an assertion)
ROLES = ("admin", "leader", "staff", "clerk")
CLERK_TOWNSHIP = TOWNSHIP  # the township of the clerk demo_app logs in (张家湾镇)
# What the dashboards' filters start with on the demo county: the year up to its latest month.
DEFAULT_FROM = "2025-11"
YEAR = Filter.between(DEFAULT_FROM, LATEST)


def url_of(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def run_app(actor: Actor | None = None, page: str | None = None,
            query: dict | None = None, idle: dt.timedelta = dt.timedelta()) -> AppTest:
    """app.py against the database LIUSHOU_DATABASE_URL names, as a person opening a link:
    `actor` signed in (last active `idle` ago; nobody when None), the link's `query`
    parameters set, run once on `page` (a path under app_pages/; None: the default page),
    checked to have raised nothing. A page the navigation does not offer this actor is a
    ValueError, not the default page in its place."""
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if actor is not None:
        sign_in(app, actor, idle)
    for key, value in (query or {}).items():
        app.query_params[key] = value
    if page:
        app.switch_page(page)   # before the first run: straight to the page, as a link opens it
    fine(app.run())
    if page:                    # after it: ValueError unless st.navigation offered it to actor
        app.switch_page(page)
    return app


def run_page_alone(page: str, actor: Actor | None = None) -> AppTest:
    """A page file (a path under app_pages/) run by itself, without app.py, against the
    database LIUSHOU_DATABASE_URL names: as when a URL reaches it around st.navigation."""
    app = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
    if actor is not None:
        sign_in(app, actor)
    return fine(app.run())


@pytest.fixture
def app_on(monkeypatch):
    """open(engine, actor=None, page=None, idle=0, query=None): run_app against `engine`,
    the caches emptied first (each test's database is new, the cache is the process's)."""
    def open_app(engine, actor: Actor | None = None, page: str | None = None,
                 idle: dt.timedelta = dt.timedelta(), query: dict | None = None) -> AppTest:
        monkeypatch.setenv("LIUSHOU_DATABASE_URL", url_of(engine))
        st.cache_data.clear()
        return run_app(actor, page, query, idle)
    yield open_app
    st.cache_data.clear()
    dispose_engines()


@pytest.fixture
def demo_app(demo_site, monkeypatch):
    """open(page=None, query=None, role="admin"): run_app on the shared demo county, an
    account of `role` logged in; the cache is not emptied (one database for the session)."""
    engine, people = demo_site
    monkeypatch.setenv("LIUSHOU_DATABASE_URL", url_of(engine))

    def open_page(page: str | None = None, query: dict | None = None,
                  role: str = "admin") -> AppTest:
        return run_app(people[role], page, query)
    return open_page


def fine(app: AppTest) -> AppTest:
    """`app`, after checking that its last run raised nothing."""
    assert not app.exception, [e.value for e in app.exception]
    return app


def account(engine, role: str, township: str | None = None) -> Actor:
    """A logged-in account of `role` (and township, for a clerk), made once per database.
    Made first and logged into if it exists, not the other way round: a failed login would
    count toward this machine's login delay, and a module asking for many roles would
    come to wait."""
    username = f"{role}{township or ''}x"
    with session_maker(engine)() as session:
        made = session.scalar(select(User.id).where(User.username == username)) is not None
    return auth.authenticate(engine, username, PASSWORD) if made else make_user(
        engine, username, role, township)


def sign_in(app: AppTest, actor: Actor, idle: dt.timedelta = dt.timedelta()) -> AppTest:
    """`app` with `actor` logged in, last active `idle` ago."""
    app.session_state[ACTOR] = actor
    app.session_state[LAST_SEEN] = dt.datetime.now() - idle
    return app


def log_in(app: AppTest, username: str, password: str) -> AppTest:
    """Fill the login form and submit it, as a person would."""
    widget(app.text_input, "用户名").input(username)
    widget(app.text_input, "密码").input(password)
    widget(app.button, "登录").click()
    return app.run()


def two_townships(engine) -> pd.DataFrame:
    """A small database for the pages: March for one township, April for two (April is the
    latest month), homes and a ledger for one of them only; returns the first township's
    April schools."""
    april = school_frame(engine, seed=2)
    with transaction(engine) as session:
        store_submission(session, township_code=TOWNSHIP, period="2026-03",
                         frames={"schools": school_frame(engine, seed=1)},
                         submitted_at=dt.datetime(2026, 4, 3))
        store_submission(session, township_code=TOWNSHIP, period="2026-04",
                         frames={"schools": april, "homes": home_frame(engine),
                                 "funding": funding_frame(2026)},
                         submitted_at=dt.datetime(2026, 5, 4))
        store_submission(session, township_code=OTHER_TOWNSHIP, period="2026-04",
                         frames={"schools": school_frame(engine, OTHER_TOWNSHIP)},
                         submitted_at=dt.datetime(2026, 5, 9))
    return april


# --- Reading a page ------------------------------------------------------------------------------

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


@pytest.fixture
def downloads(monkeypatch):
    """Every file a page hands to a download button: {file name: bytes}."""
    files = {}
    real = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        files[filename] = path_or_data
        return real(self, path_or_data, mimetype, kind, filename)
    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    return files


def shown(key: str, value) -> str:
    """How a card shows an indicator's value, written out here rather than borrowed from
    the code."""
    if pd.isna(value):
        return "—"
    indicator = catalog.INDICATORS_BY_KEY[key]
    if indicator.is_percent:
        return f"{value * 100:.1f}%"
    if indicator.is_rate:
        return f"{value:.1f}"
    return f"{int(value):,}"


def card_texts(app: AppTest) -> dict[str, str]:
    """label -> the value without its colour markup (":red[61.7%]" -> "61.7%")."""
    return {m.label: m.value.split("[")[-1].rstrip("]") for m in app.metric}


def charts_of(app: AppTest) -> list[dict]:
    """Each plotly chart's figure (data and layout)."""
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def chart_titled(app: AppTest, title: str) -> dict:
    [chart] = [c for c in charts_of(app) if c["layout"]["title"]["text"] == title]
    return chart


def values(field) -> list:
    """A trace's x or y as a list: plotly sends numbers as base64 typed arrays."""
    if isinstance(field, dict) and "bdata" in field:
        return np.frombuffer(base64.b64decode(field["bdata"]), dtype=field["dtype"]).tolist()
    return list(field)


def vega_charts_of(app: AppTest) -> list[tuple[dict, pd.DataFrame]]:
    """Each Vega-Lite chart's spec and the rows sent beside it (Arrow)."""
    return [(json.loads(chart.proto.spec),
             pa.ipc.open_stream(chart.proto.data.data).read_all().to_pandas())
            for chart in app.get("vega_lite_chart")]
