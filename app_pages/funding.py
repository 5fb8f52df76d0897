"""资金: the special fund allocated against disbursed by township, purpose and source, the
year's cumulative spending against an even pace, and the ledger itself. Layout only."""
import streamlit as st

from liushou_dash import catalog
from liushou_dash.indicators import cards, ledger
from liushou_dash.web import cache, charts, views

flt = views.page_start("资金：关爱专项资金")
period = flt.latest
entries = cache.ledger_entries(flt)
if entries.empty:
    st.info(f"所选乡镇{ledger.year_to_date(period)}暂无资金台账。")
    st.stop()
latest, before = cache.month_pair(flt)
views.show_cards(cards.money_cards(latest, before, period, flt.approved_only), per_row=3)
st.caption("金额单位为万元（保留两位小数），台账明细为精确到分的元；资金拨付率按全年均衡进度"
           "判断是否达标。")

st.subheader("按乡镇")
views.show(charts.funding_bars(ledger.summary(entries, "township_name"), "township_name",
                               period, cache.township_colours()))

st.subheader("按用途和来源")
left, right = st.columns(2)
with left:
    views.show(charts.funding_bars(ledger.summary(entries, "category"), "category", period))
with right:
    views.show(charts.funding_bars(ledger.summary(entries, "source"), "source", period))

st.subheader("累计支出进度")
views.show(charts.cumulative_curve(ledger.cumulative(entries, period), period))

st.subheader("资金台账")
columns = st.columns([1, 1, 2, 2])
kinds = columns[0].multiselect(catalog.FUNDING.field("kind").label, catalog.FUNDING_KINDS,
                               placeholder="全部", key="ledger_kinds")
sources = columns[1].multiselect(catalog.FUNDING.field("source").label,
                                 catalog.FUNDING_SOURCES, placeholder="全部",
                                 key="ledger_sources")
categories = columns[2].multiselect(catalog.FUNDING.field("category").label,
                                    catalog.FUNDING_CATEGORIES, placeholder="全部",
                                    key="ledger_categories")
text = columns[3].text_input("摘要或凭证号包含", key="ledger_text")
picked = ledger.readable(ledger.pick(entries, kinds, sources, categories, text))
st.caption(f"{ledger.year_to_date(period)}的台账共{len(picked)}条，金额单位为元。")
views.show_board(picked, period, height=420, key="ledger_table", kinds=ledger.ENTRY_KINDS)
views.download_buttons(picked, f"资金台账_{period}", "资金台账", ledger.EXPORT_KINDS,
                       what="ledger")
