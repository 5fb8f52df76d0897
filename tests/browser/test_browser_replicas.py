"""Two Streamlit replicas on one PostgreSQL database, as behind nginx: a return stored
elsewhere (through the core, as a third replica or the command line stores it) shows on both
replicas' meeting screens within seconds, though each had the old reading cached (ui's data
version; see README "PostgreSQL 与多个 Streamlit 副本"). Needs LIUSHOU_TEST_PG_URL.
"""
from __future__ import annotations

import datetime as dt
import os
import time

import pytest

from liushou_dash.core.actors import Actor
from liushou_dash.core.db import transaction
from liushou_dash.ingest.store import store_submission
from liushou_dash.workflow import accounts
from tests.browser.test_browser import (  # noqa: F401
    browser,
    exceptions,
    screenshot,
    streamlit_server,
)
from tests.browser.test_browser_accounts import MEETING_PASSWORD, meeting_screen
from tests.fixtures import OTHER_TOWNSHIP, TOWNSHIP, county_engine, school_frame

pytestmark = pytest.mark.browser
PG_URL = os.environ.get("LIUSHOU_TEST_PG_URL")
PERIOD = "2026-04"
FIRST, LATER = dt.datetime(2026, 5, 9, 10, 0), dt.datetime(2026, 5, 10, 8, 30)
# What the cards' coverage line says before and after the second township's return.
SHOWN = {FIRST: "1/29个乡镇已报", LATER: "2/29个乡镇已报"}
VIEWERS = ("replica_a", "replica_b")     # one leader per replica
WAIT_MS = 20_000   # a bound on the wait, not a claim about speed


def store(engine, township: str, at: dt.datetime) -> None:
    with transaction(engine) as session:
        store_submission(session, township_code=township, period=PERIOD,
                         frames={"schools": school_frame(engine, township)}, submitted_at=at)


@pytest.fixture(scope="module")
def county():
    """The demo county on PostgreSQL with one township's April, and the two leaders."""
    if not PG_URL:
        pytest.skip("LIUSHOU_TEST_PG_URL is not set: replicas share a PostgreSQL database")
    engine = county_engine(PG_URL)
    store(engine, TOWNSHIP, FIRST)
    for name in VIEWERS:
        accounts.create_user(engine, Actor.system(), name, "leader", MEETING_PASSWORD)
    yield engine
    engine.dispose()


def test_a_write_shows_on_every_replica_within_seconds(county, browser):
    """The screens' own timer (one second on these servers) redraws them; nobody clicks."""
    with (streamlit_server(PG_URL, LIUSHOU_MEETING_REFRESH_SECONDS="1") as one,
          streamlit_server(PG_URL, LIUSHOU_MEETING_REFRESH_SECONDS="1") as two):
        screens = [meeting_screen(browser, url, name) for url, name in zip((one, two), VIEWERS)]
        for page in screens:                      # both replicas hold the old reading
            assert SHOWN[FIRST] in page.inner_text("[data-testid='stMain']")

        store(county, OTHER_TOWNSHIP, LATER)
        stored = time.monotonic()
        for page, name in zip(screens, VIEWERS):
            page.get_by_text(SHOWN[LATER]).wait_for(timeout=WAIT_MS)
            print(f"{name}: shown by {time.monotonic() - stored:.1f} s after the write")
        for page, name in zip(screens, VIEWERS):
            assert not exceptions(page)
            screenshot(page, f"replica_{name}")
            page.context.close()
