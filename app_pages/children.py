"""留守儿童: how many children, how they divide up, where they are, how that changes, and a
drill-down from a township to its schools. Layout only: numbers come from liushou_dash."""
import streamlit as st

from liushou_dash.core import periods
from liushou_dash.indicators import cards, composition, ratios
from liushou_dash.web import cache, charts, markup, views

CARD_KEYS = ("left_behind", "left_behind_rate", "both_away_share", "guardian_none")
SCHOOL_COLUMNS = ["school_name", "school_type", "students", "left_behind", "left_behind_rate",
                  "both_parents_away", "guardian_none", "guardian_grandparents",
                  "guardian_relatives", "guardian_other", "boarding", "in_difficulty",
                  "archived_rate", "paired_rate"]

flt = views.page_start("留守儿童")
period = flt.latest
latest, before = cache.month_pair(flt)
views.show_cards(cards.cards(latest, before, period, CARD_KEYS,
                             approved_only=flt.approved_only), per_row=len(CARD_KEYS))

st.subheader("构成")
views.show(charts.composition_bars(composition.composition(ratios.totals(latest)), period))

st.subheader("各乡镇分布")
dimension = st.segmented_control("分组方式", list(composition.DIMENSIONS), required=True,
                                 default=next(iter(composition.DIMENSIONS)),
                                 key="children_dimension")
views.show(charts.stacked_parts(composition.by_township(latest, dimension), dimension, period))

st.subheader("趋势")
trend = cache.township_table(cache.trend_filter(flt))
views.show(charts.count_and_rate(ratios.county_by_period(trend), "left_behind",
                                 "left_behind_rate"))
views.show(charts.township_trend(trend, "left_behind", cache.township_colours()))

st.subheader("学校明细")
names = cache.township_names()
township = st.selectbox("选择乡镇，查看其各学校情况", latest["township_code"],
                        format_func=names.get, key="children_township")
chosen = cache.township_schools(flt, township)
where = markup.escaped(names.get(township)) + periods.period_label(period)
if chosen.empty:
    st.info(f"{where}没有符合筛选条件的学校数据。")
else:
    st.caption(f"{where}各学校留守儿童情况，点击列标题可排序。")
    views.show_board(chosen[SCHOOL_COLUMNS], period, key="children_schools")
