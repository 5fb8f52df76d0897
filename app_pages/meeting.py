"""会议大屏: the headline indicators, the township league table and the map in large type for
the joint meeting's projector. It redraws itself every minute from the shared cache, so many
open screens cost the database one query per refresh; each redraw passes the login gate
(session.fragment), so a screen whose session has ended shows the login. Layout only."""
import streamlit as st

from liushou_dash import catalog
from liushou_dash.core import periods
from liushou_dash.indicators import cards
from liushou_dash.web import cache, maps, session, views

MAP_CANVAS = (640, 600)  # the map's part of a 1920 × 1080 projector with the sidebar folded

flt = views.page_start("留守儿童关爱工作 · 联席会议大屏")
views.large_type()


@session.fragment(run_every=cache.MEETING_REFRESH_SECONDS)
def screen():
    period = flt.latest
    st.subheader(views.as_of_text(flt))
    latest, before = cache.month_pair(flt)
    views.show_cards(cards.cards(latest, before, period), per_row=5)
    urgent = cache.urgent_alerts(flt)
    if urgent:
        st.error(f"需要立即处理：{len(urgent)}条（无人监护、逾期未报），详见总览页。")
    left, right = st.columns([3, 2])
    with left:
        st.subheader(f"{periods.period_label(period)}乡镇排名")
        views.show_table(cards.league_table(latest, before)[cards.MEETING_LEAGUE_COLUMNS], period)
    with right:
        key = st.selectbox("地图着色指标", maps.MAP_KEYS, format_func=catalog.label_of,
                           index=maps.MAP_KEYS.index("paired_rate"), key="meeting_indicator")
        views.show_map(maps.township_map(cache.boundaries(flt), latest, key, period,
                                         canvas=MAP_CANVAS), height=MAP_CANVAS[1])


screen()
