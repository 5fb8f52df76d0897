"""关爱阵地: how far the homes for left-behind children cover villages and schools, how well
they are equipped, the list of homes, and who still has none. Layout only."""
import streamlit as st

from liushou_dash.indicators import cards, homes
from liushou_dash.web import cache, charts, views

CARD_KEYS = ("village_coverage", "school_coverage", "standardized_rate")

flt = views.page_start("关爱阵地：留守儿童之家")
period = flt.latest
latest, before = cache.month_pair(flt)
views.show_cards(cards.cards(latest, before, period, CARD_KEYS,
                             approved_only=flt.approved_only), per_row=len(CARD_KEYS))
colours = cache.township_colours()

st.subheader("覆盖情况")
left, right = st.columns(2)
with left:
    views.show(charts.township_values(latest, "village_coverage", colours, period))
with right:
    views.show(charts.township_values(latest, "school_coverage", colours, period))
views.show(charts.township_values(latest, "standardized_rate", colours, period))

listed = cache.home_list(flt)
st.subheader("设施配备")
if listed.empty:
    st.info("所选乡镇尚无留守儿童之家。")
else:
    st.caption(f"设施标准：亲情电话、视频设备、图书不少于{homes.BOOKS_STANDARD}册、"
               f"每周开放不少于{homes.HOURS_STANDARD}小时，四项齐全为达标。")
    views.show(charts.equipment_shares(homes.county_equipment(listed), homes.EQUIPMENT_LABELS,
                                       period))
    views.show_board(homes.equipment_by_township(listed).drop(columns="township_code"),
                     period, "all", key="homes_equipment", labels=homes.EQUIPMENT_LABELS,
                     kinds=homes.EQUIPMENT_KINDS)

    st.subheader(f"之家名单（{len(listed)}所）")
    views.show_board(homes.readable(listed), period, height=420, key="homes_list",
                     labels=homes.LIST_LABELS, kinds=homes.LIST_KINDS)

st.subheader("尚无之家的村(居)和学校")
villages = homes.uncovered_villages(cache.villages(flt), listed)
schools = homes.uncovered_schools(cache.schools(flt), listed)
left, right = st.columns(2)
with left:
    st.markdown(f"**村(居)：{len(villages)}个**")
    views.show_board(villages[["township_name", "village_name"]], height=360,
                     key="homes_villages", labels=homes.UNCOVERED_LABELS)
with right:
    st.markdown(f"**学校：{len(schools)}所**")
    views.show_board(schools[["township_name", "school_name", "school_type"]], height=360,
                     key="homes_schools")
