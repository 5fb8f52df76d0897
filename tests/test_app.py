"""The app through Streamlit's AppTest: the cockpit against a real test database."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from liushou_dash import catalog, metrics
from liushou_dash.db import dispose_engines, make_engine, session_maker, transaction
from liushou_dash.ingest.store import store_submission
from liushou_dash.models import Setting, Township
from tests.fixtures import OTHER_TOWNSHIP, TOWNSHIP, funding_frame, home_frame, school_frame

APP = str(Path(__file__).resolve().parent.parent / "app.py")
HEADLINE = ("left_behind", "archived_rate", "paired_rate", "village_coverage",
            "disbursement_rate", "report_rate")


def url_of(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def use_database(monkeypatch):
    """Point the app at a database; the caches (Streamlit's and the engines) start empty."""
    urls = []

    def point_at(engine):
        url = url_of(engine)
        urls.append(url)
        monkeypatch.setenv("LIUSHOU_DATABASE_URL", url)
        st.cache_data.clear()
        return engine

    yield point_at
    st.cache_data.clear()
    dispose_engines()


def run_app() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def fill(engine):
    """March for one township, April for two (April is the latest month)."""
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


def shown(key: str, value) -> str:
    """How the cockpit must show a value, written out here rather than borrowed."""
    if pd.isna(value):
        return "—"
    if catalog.INDICATORS_BY_KEY[key].is_rate:
        return f"{value * 100:.1f}%"
    return f"{int(value):,}"


def test_cockpit_shows_the_county_summary_of_the_latest_month(engine, use_database):
    april = fill(use_database(engine))
    own = school_frame(engine, OTHER_TOWNSHIP)

    app = run_app()

    summary = metrics.county_summary(engine, metrics.Filter(("2026-04",)))
    assert summary["left_behind"] == april.left_behind.sum() + own.left_behind.sum()
    metrics_shown = {m.label: m for m in app.metric}
    for key in HEADLINE:
        indicator = catalog.INDICATORS_BY_KEY[key]
        card = metrics_shown[indicator.label]
        assert card.value == shown(key, summary[key]), key
        assert card.proto.help == indicator.formula()
    assert any("2026年4月" in c.value for c in app.caption)


def test_cockpit_shows_the_township_table(engine, use_database):
    april = fill(use_database(engine))

    table = run_app().dataframe[0].value

    assert "乡镇" in table.columns
    assert {catalog.label_of("left_behind"), catalog.label_of("archived_rate")} <= set(
        table.columns)
    by_name = table.set_index("乡镇")
    assert len(by_name) == len(metrics.township_table(engine, metrics.Filter(("2026-04",))))
    with session_maker(engine)() as session:
        township_name = session.get(Township, TOWNSHIP).name
    assert by_name.loc[township_name, "留守儿童数"] == april.left_behind.sum()
    expected_rate = april.archived.sum() / april.left_behind.sum() * 100
    assert by_name.loc[township_name, "建档率"] == pytest.approx(expected_rate)


def test_demo_banner_only_when_the_demo_flag_is_set(engine, use_database):
    fill(use_database(engine))
    assert not any("示例数据" in info.value for info in run_app().info)

    with transaction(engine) as session:
        session.merge(Setting(key="demo", value="1"))
    st.cache_data.clear()
    assert any("示例数据" in info.value for info in run_app().info)


def test_empty_database_shows_a_friendly_message(engine, use_database):
    use_database(engine)  # master data, no returns

    app = run_app()

    assert any("暂无" in info.value for info in app.info)
    assert not app.metric


def test_database_without_schema_shows_a_friendly_message(tmp_path, use_database):
    use_database(make_engine(f"sqlite:///{tmp_path / 'blank.db'}"))

    app = run_app()

    assert any("暂无" in info.value for info in app.info)
