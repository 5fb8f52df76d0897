"""app.py as a whole through Streamlit's AppTest (tests/apptest.py): a database without
tables, the data version that moves every replica's cache on after a write (README,
"PostgreSQL 与多个 Streamlit 副本"), and the sidebar's filters, kept across pages and written
into the link. What each page shows is tested in tests/test_pages.py (every page of
navigation.PAGES, every role) and tests/test_pages_<page>.py."""
from __future__ import annotations

import pytest
import streamlit as st

from liushou_dash.core import filtering
from liushou_dash.core.db import make_engine, transaction
from liushou_dash.indicators import stored
from liushou_dash.ingest.store import store_submission
from liushou_dash.web import cache
from liushou_dash.workflow import auth
from liushou_dash.workflow.downloads import audit_download
from tests.apptest import (
    DEFAULT_FROM,
    account,
    card_texts,
    fine,
    run_app,
    shown,
    two_townships,
)
from tests.apptest import app_on, demo_app  # noqa: F401  (fixtures)
from tests.demo_db import LATEST
from tests.fixtures import OTHER_TOWNSHIP, TOWNSHIP, school_frame


def test_database_without_schema_shows_a_friendly_message(tmp_path, app_on):
    blank = make_engine(f"sqlite:///{tmp_path / 'blank.db'}")

    app = app_on(blank)  # nobody can log in yet

    assert any("init-db" in error.value for error in app.error)
    blank.dispose()


def _store_more(engine) -> str:
    """A correction of one township's April stored through the core, as another replica or
    the command line would; returns the card the county's 留守儿童数 then shows."""
    more = school_frame(engine, TOWNSHIP, seed=7)
    with transaction(engine) as session:
        store_submission(session, township_code=TOWNSHIP, period="2026-04",
                         frames={"schools": more})
    return shown("left_behind", more.left_behind.sum()
                 + school_frame(engine, OTHER_TOWNSHIP).left_behind.sum())


def test_a_write_elsewhere_shows_once_the_data_version_is_read_again(engine, app_on,
                                                                     monkeypatch):
    two_townships(engine)
    monkeypatch.setattr(cache, "VERSION_SECONDS", 3600)   # the version read below is trusted
    before = card_texts(app_on(engine, account(engine, "admin")))["留守儿童数"]
    expected = _store_more(engine)
    assert expected != before

    app = run_app(account(engine, "admin"))          # another session; no cache emptied
    assert card_texts(app)["留守儿童数"] == before        # the version not read again
    monkeypatch.setattr(cache, "VERSION_SECONDS", 0)      # ... until it is: nobody cleared a cache
    assert card_texts(fine(app.run()))["留守儿童数"] == expected


def test_a_write_on_this_replica_shows_on_its_next_run(engine, app_on, monkeypatch):
    two_townships(engine)
    monkeypatch.setattr(cache, "VERSION_SECONDS", 3600)
    app = app_on(engine, account(engine, "admin"))
    expected = _store_more(engine)

    cache.clear_caches()                                          # what every writer calls
    assert card_texts(fine(app.run()))["留守儿童数"] == expected


def test_logins_and_downloads_leave_the_cached_readings_alone(engine, app_on, monkeypatch):
    """A login (or a stranger's failed guesses, or a download) moves no data, so it must not
    make every replica re-read its dashboards."""
    two_townships(engine)
    monkeypatch.setattr(cache, "VERSION_SECONDS", 0)
    app_on(engine, account(engine, "admin"))
    admin = account(engine, "admin")              # made already: this only logs in
    version = cache.data_version()
    account(engine, "admin")
    with pytest.raises(auth.LoginError):
        auth.authenticate(engine, admin.username, "wrong password")
    audit_download(engine, admin, "export", level="school")
    assert cache.data_version() == version
    _store_more(engine)
    assert cache.data_version() != version


# --- The sidebar's filters and the link, on the demo county -----------------------------------

def test_a_copied_link_opens_the_same_numbers_on_any_page(demo_app, demo_county):
    query = {"from": "2026-04", "to": "2026-09", "township": ["520525108", "520525101"],
             "type": ["小学", "教学点"], "approved": "1"}
    flt = filtering.Filter.between("2026-04", "2026-09", townships=("520525101", "520525108"),
                                 school_types=("小学", "教学点"), approved_only=True)
    summary = stored.county_summary(demo_county, flt)

    for page in ("app_pages/cockpit.py", "app_pages/children.py"):
        app = demo_app(page, query)
        cards = card_texts(app)
        assert cards["留守儿童数"] == shown("left_behind", summary["left_behind"]), page
        assert cards["无人监护人数"] == shown("guardian_none", summary["guardian_none"]), page
        assert app.query_params == {"from": "2026-04", "to": "2026-09",
                                    "township": ["520525101", "520525108"],
                                    "type": ["小学", "教学点"], "approved": "1"}
        assert "骔岭镇、张家湾镇 · 小学、教学点 · 仅已审核数据" in app.caption[0].value


def test_filters_are_kept_across_pages_and_written_into_the_link(demo_app, demo_county):
    app = demo_app()
    app.multiselect(key="filter_townships").set_value(["520525108"]).run()
    app.select_slider(key="filter_months").set_value(("2026-01", "2026-06")).run()
    assert app.query_params == {"from": "2026-01", "to": "2026-06", "township": "520525108"}

    fine(app.switch_page("app_pages/review.py").run())   # a page without the filters
    fine(app.switch_page("app_pages/homes.py").run())
    assert app.multiselect(key="filter_townships").value == ["520525108"]
    assert app.select_slider(key="filter_months").value == ("2026-01", "2026-06")
    flt = filtering.Filter.between("2026-01", "2026-06", townships=("520525108",))
    coverage = stored.county_summary(demo_county, flt)["village_coverage"]
    assert card_texts(app)["之家村(居)覆盖率"] == shown("village_coverage", coverage)


def test_choosing_townships_reads_nothing_again(demo_app, monkeypatch):
    """The cockpit reads the county once per month; choosing townships cuts the cached
    tables, and going back to a range already seen reads nothing."""
    st.cache_data.clear()
    calls = []
    real = stored.township_table
    monkeypatch.setattr(stored, "township_table",
                        lambda engine, flt, *shown: calls.append(flt.periods)
                        or real(engine, flt, *shown))
    app = demo_app()
    first = len(calls)
    assert first > 0

    app.multiselect(key="filter_townships").set_value(["520525108"]).run()
    app.multiselect(key="filter_townships").set_value(["520525108", "520525101"]).run()
    assert len(calls) == first

    app.select_slider(key="filter_months").set_value(("2025-10", LATEST)).run()
    assert calls[first:] == [("2025-10",)]   # only the month not read before
    app.select_slider(key="filter_months").set_value((DEFAULT_FROM, LATEST)).run()
    assert len(calls) == first + 1
