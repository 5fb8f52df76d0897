"""会议大屏 (app_pages/meeting.py) through AppTest: the data stamp, the cards, the league
table and the map; forty screens refreshing share one reading through the cache."""
from __future__ import annotations

import streamlit as st

from liushou_dash import catalog
from liushou_dash.core import audit
from liushou_dash.indicators import ranking, readers, stored
from tests.apptest import fine
from tests.apptest import demo_app  # noqa: F401  (fixtures)
from tests.demo_db import LATEST


def test_the_meeting_screen(demo_app, demo_county):
    """The stamp of the last change that moved a figure, the cards, the ranking's top and
    bottom five, the map and the alerts themselves."""
    app = demo_app("app_pages/meeting.py")
    stamp = audit.last_figure_change(demo_county)
    assert any(f"数据截至 {stamp.year}年{stamp.month}月{stamp.day}日 {stamp:%H:%M}" in m.value
               for m in app.markdown)
    assert len(app.metric) == len(catalog.on(catalog.CARD))
    top, bottom = app.table
    ranked = ranking.ranking(demo_county, LATEST)
    ranked = ranked[ranked["rank"].notna()]["township_name"]
    assert list(top.value["乡镇"]) == list(ranked[:5])
    assert list(bottom.value["乡镇"]) == list(ranked[-5:])
    assert app.get("deck_gl_json_chart")
    unguarded = [a for a in app.error if "无人监护" in a.value]
    assert unguarded and "名留守儿童无人监护" in unguarded[0].value


def test_many_meeting_screens_share_one_reading(demo_app, monkeypatch):
    """Forty screens refreshing cost one query: every session reads through the shared
    cache, so a second screen (another session) reaches the database not at all."""
    st.cache_data.clear()
    calls = []
    for module, name in ((stored, "township_table"), (readers, "school_table")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda engine, flt, *more, real=real, name=name,
                            **options: calls.append(name) or real(engine, flt, *more, **options))
    demo_app("app_pages/meeting.py")
    assert calls
    calls.clear()
    second = demo_app("app_pages/meeting.py")
    fine(second.run())             # what the fragment's timer does every minute
    assert calls == []
