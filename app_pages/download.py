"""数据下载: the filtered table at township or school level, with the columns the user
ticks, as CSV (UTF-8 with BOM) and XLSX — the same files `python -m liushou_dash export`
writes. Layout only."""
import streamlit as st

from liushou_dash import catalog
from liushou_dash.catalog.columns import value_columns
from liushou_dash.web import cache, views
from liushou_dash.web.navigation import COUNTY

LEVELS = {"township": "乡镇", "school": "学校"}

flt = views.page_start("数据下载", whole_span=True, roles=COUNTY)
level = st.radio("数据级别", list(LEVELS), format_func=LEVELS.get, horizontal=True,
                 key="download_level")
picked = st.multiselect("选择要下载的指标列（不选即为全部列；月份、乡镇和学校的代码与名称总会包含）",
                        value_columns(level), format_func=catalog.label_of,
                        placeholder="全部列", key=f"download_columns_{level}")
columns = tuple(picked) or None

frame = cache.export_frame(flt, level, columns)
st.caption(f"共 {len(frame)} 行、{len(frame.columns)} 列。CSV 以字段代码为列名（UTF-8 带 BOM，"
           "Excel 可直接打开），Excel 文件以中文为列名；比率在文件中为小数（0.9731 即 97.31%）。")
views.file_buttons(cache.export_files(flt, level, columns),
                   f"留守儿童{LEVELS[level]}数据_{flt.periods[0]}_{flt.latest}", what=level)

st.subheader("预览（前 100 行）")
views.show_board(frame.head(100), key="download_preview")
