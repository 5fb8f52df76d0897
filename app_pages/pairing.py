"""结对帮扶: pairing, mentor load, home visits and contact with parents, by township and by
school, the units below target first. Layout only: numbers come from liushou_dash."""
import streamlit as st

from liushou_dash.indicators import cards, targets
from liushou_dash.web import cache, charts, views

KEYS = ("paired_rate", "mentor_load", "visit_rate", "contact_rate")
COUNTS = ["left_behind", "paired", "mentors", "visited", "parent_contact"]

flt = views.page_start("结对帮扶")
period = flt.latest
latest, before = cache.month_pair(flt)
views.show_cards(cards.cards(latest, before, period, KEYS,
                             approved_only=flt.approved_only), per_row=len(KEYS))
st.caption("人均帮扶为每名帮扶责任人结对的留守儿童数，政策上限为3人；其余三项目标均为100%。")

st.subheader("各乡镇情况")
colours = cache.township_colours()
for row in (KEYS[:2], KEYS[2:]):
    for column, key in zip(st.columns(2), row):
        with column:
            views.show(charts.township_values(latest, key, colours, period))

st.subheader("未达标的学校排在前面")
schools = cache.school_table(flt.only(period))
st.caption("“未达标项数”为结对率、人均帮扶、月走访率、亲情联系率中未达到目标的项数，"
           "多的排在前面，同数时按结对率从低到高。")
views.show_board(targets.below_target_first(
    schools[["township_name", "school_name", *KEYS, *COUNTS]], KEYS, period, first=2),
    period, height=460, key="pairing_schools")

st.subheader("各乡镇明细")
views.show_board(targets.below_target_first(latest[["township_name", *KEYS, *COUNTS]], KEYS,
                                            period, first=1),
                 period, "all", key="pairing_townships")
