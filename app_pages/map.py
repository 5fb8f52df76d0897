"""乡镇地图: the townships coloured by any indicator (达标 / 接近目标 / 未达标 as in the table
under it), with homes and schools as points. Drawn without a base map or tiles, so it works
on an intranet. Layout only."""
import streamlit as st

from liushou_dash import catalog
from liushou_dash.web import cache, maps, views

flt = views.page_start("乡镇地图")
period = flt.latest
pick, homes_column, schools_column = st.columns([3, 1, 1], vertical_alignment="bottom")
key = pick.selectbox("着色指标", maps.MAP_KEYS, format_func=catalog.label_of,
                     index=maps.MAP_KEYS.index("paired_rate"), key="map_indicator")
show_homes = homes_column.toggle(maps.HOMES_LABEL, value=True, key="map_homes")
show_schools = schools_column.toggle(maps.SCHOOLS_LABEL, key="map_schools")

latest = cache.township_table(flt.only(period))
maps.show(maps.township_map(cache.boundaries(flt), latest, key, period,
                            homes=cache.home_list(flt) if show_homes else None,
                            schools=cache.schools(flt) if show_schools else None))

st.subheader(f"各乡镇{catalog.label_of(key)}")
views.show_board(latest[maps.value_columns(key)], period, "all", key="map_values")
