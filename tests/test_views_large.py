"""A city's or a province's tables, alert lists and scope line on the pages: thousands of
townships in several counties.

The league table of a province is formatted by column instead of cell by cell (pandas'
Styler took seconds), and alert lists show their first lines with the whole list as a
download. Run through AppTest on small scripts that call liushou_dash.views."""
from __future__ import annotations

from dataclasses import replace

import streamlit as st
from streamlit.testing.v1 import AppTest

from liushou_dash.core.db import transaction
from liushou_dash.core.filtering import Filter
from liushou_dash.core.models import County, Township
from liushou_dash.web import views
from tests.apptest import url_of


def _league(rows: int):
    def script(rows):
        import pandas as pd

        from liushou_dash.web import views
        frame = pd.DataFrame({"rank": range(1, rows + 1),
                              "township_name": [f"乡镇{i}" for i in range(rows)],
                              "paired_rate": [0.5 + i / (2 * rows) for i in range(rows)]})
        views.show_board(frame, "2026-10", height="all", key="league")
    return AppTest.from_function(script, kwargs={"rows": rows}).run()


def test_a_province_league_table_is_formatted_by_column():
    app = _league(2600)
    assert not app.exception
    [table] = app.dataframe
    assert len(table.value) == 2600
    assert "2600行" in app.caption[0].value
    assert table.value.iloc[-1]["结对率"] > 99    # percentages scaled to 0-100 either way


def test_a_county_league_table_stays_coloured_without_a_note():
    app = _league(30)
    assert not app.exception
    assert len(app.dataframe[0].value) == 30
    assert not app.caption


def _alerts(count: int):
    def script(count):
        import streamlit as st

        from liushou_dash.core.actors import Actor
        from liushou_dash.indicators import alerts
        from liushou_dash.web import cache, views
        # the download is drawn for a logged-in user only (views.audited_download)
        st.session_state[cache.ACTOR_KEY] = Actor("leader", "leader")
        found = [alerts.Alert(alerts.UNGUARDED, alerts.DANGER, "520525108", "张家湾镇",
                              f"S{i}", f"学校{i}", f"学校{i}有1名留守儿童无人监护")
                 for i in range(count)]
        views.show_alerts(found, "2026-10", {"csv": b"csv", "xlsx": b"xlsx"})
    return AppTest.from_function(script, kwargs={"count": count}).run()


def test_a_long_alert_list_shows_its_head_and_offers_the_whole_list():
    app = _alerts(45)
    assert not app.exception
    [box] = app.error
    assert "无人监护（45条）" in box.value
    assert "学校29有" in box.value and "学校30有" not in box.value
    assert "另有15条" in box.value
    assert [b.label for b in app.get("download_button")] == ["下载 CSV", "下载 Excel"]


def test_a_short_alert_list_is_shown_whole_without_a_download():
    app = _alerts(3)
    assert "学校2有" in app.error[0].value
    assert not app.get("download_button")


def test_the_scope_line_says_county_or_how_many_counties(engine, monkeypatch):
    monkeypatch.setenv("LIUSHOU_DATABASE_URL", url_of(engine))
    month = Filter(("2026-10",))

    def places() -> str:
        st.cache_data.clear()
        return views.scope_text(month).split(" · ")[1]
    assert places() == "全县"                      # the demo county alone
    with transaction(engine) as session:           # a city: a second county's township
        session.add(County(code="520526", name="邻县"))
        session.add(Township(code="520526100", name="邻镇", county_code="520526"))
    assert places() == "全部2个县（市、区）"
    assert views.scope_text(replace(month, townships=("520526100",))).split(" · ")[1] == "邻镇"
