"""总览: headline indicators against their targets, what needs action now, the township
league table and the year's trend. Layout only: numbers come from liushou_dash."""
import streamlit as st

from liushou_dash import catalog
from liushou_dash.indicators import cards, ratios
from liushou_dash.web import cache, charts, views

flt = views.page_start("留守儿童关爱工作总览")
period = flt.latest

shown = cards.cockpit_indicators()  # the cockpit reads only what it shows
latest, before = cache.month_pair(flt, shown)
views.show_cards(cards.cards(latest, before, period, approved_only=flt.approved_only))
st.caption("卡片数值按目标着色：绿色达标，橙色接近目标，红色未达标。箭头为较上月变化，"
           "口径见上一行；悬停问号查看计算公式、分子分母、目标和上月值。")

st.subheader("需要立即处理")
views.show_alerts(cache.month_alerts(flt), period, cache.alert_files(flt))

st.subheader("乡镇排名")
st.caption("按综合得分排名（各项比率达到目标的程度加权平均，权重见监测规则）；"
           "点击列标题可排序，单元格颜色表示是否达到目标。")
views.show_board(cards.league_table(latest, before), period, height="all", key="league")

st.subheader("月度趋势")
trend = ratios.county_by_period(cache.township_table(cache.trend_filter(flt), shown))
views.show(charts.county_trend(trend, catalog.on(catalog.TREND)))
