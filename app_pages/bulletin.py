"""月度通报: the bulletin of a month, previewed as it reads, with the Word document and the
workbook of its tables to download.

Layout only: the bulletin's content and files come from liushou_dash.bulletin."""
import datetime as dt

import streamlit as st

from liushou_dash.core.db import engine_for
from liushou_dash.reports import bulletin, bulletin_render, bulletin_text
from liushou_dash.reports.bulletin import Heading, Paragraph, Picture, Table
from liushou_dash.web import cache, markup, session, views

PICTURE_WIDTH = 860  # px: the charts are drawn for an A4 page, not a wide screen
SCOPE_NOTE = ("通报覆盖全县各乡镇（街道），不受侧边栏的乡镇、学校类型筛选影响；数据为各乡镇当前"
              "报送的数据（含未审核），与“数据下载”导出的乡镇表一致。")


@st.cache_data(ttl=cache.CACHE_TTL_SECONDS, show_spinner=False)
def periods(url: str, version: tuple) -> list[str]:  # version keys the cache (cache.data_key)
    return bulletin.available_periods(engine_for(url))


# Keyed by the data version (cache.data_key) and by the day: the bulletin carries its date of
# issue and "still missing" as of it.
@st.cache_data(ttl=cache.CACHE_TTL_SECONDS, show_spinner="正在生成通报……")
def build(url: str, version: tuple, period: str, today: dt.date):
    data, blocks, docx, xlsx = bulletin_render.build(engine_for(url), period, today=today)
    return bulletin_text.title(data), blocks, docx, xlsx


def bold_lead(lead: str) -> str:
    """The lead-in in bold. Its closing 。or ： stays outside the asterisks: Markdown does
    not close ** between a CJK full stop and the next character."""
    core = lead.rstrip("。：")
    return f"**{markup.escaped(core)}**{lead[len(core):]}" if core else lead


def show(block) -> None:
    if isinstance(block, Heading):
        st.subheader(block.text)
    elif isinstance(block, Paragraph):
        st.markdown(bold_lead(block.lead) + markup.escaped(block.text))
    elif isinstance(block, Table):
        st.markdown(f"**{block.caption}**")
        session.table(block.frame)
        if block.note:
            st.caption(markup.escaped(block.note))
    elif isinstance(block, Picture):
        st.image(block.png, caption=block.caption, width=PICTURE_WIDTH)


def download(column, label: str, data: bytes, name: str, mime: str, primary: bool = False):
    views.audited_download(label, data, name, mime, "bulletin", where=column, icon="⬇️",
                           width="stretch", type="primary" if primary else "secondary")


session.page_actor("leader", "staff", "admin")
st.title("月度通报")

months = periods(*cache.data_key())
if not months:
    st.info(cache.NO_DATA_MESSAGE, icon="ℹ️")
    st.stop()

chosen = st.session_state.get(cache.FILTER_KEY)
default = chosen.latest if chosen is not None and chosen.latest in months else months[0]
period = st.selectbox("通报月份", months, index=months.index(default),
                      format_func=cache.period_label)
st.caption(SCOPE_NOTE)
title, blocks, docx, xlsx = build(*cache.data_key(), period, cache.today())

left, right = st.columns(2)
download(left, "下载通报（Word）", docx, f"{title}.docx", views.MIME_TYPES["docx"],
         primary=True)
download(right, "下载通报表格（Excel）", xlsx, f"{title}.xlsx", views.MIME_TYPES["xlsx"])

st.header(title, divider="red")
for block in blocks:
    show(block)
