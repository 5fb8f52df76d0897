"""总览: the county's headline numbers for the latest month and the township table.

Layout only: every number comes from liushou_dash.ui (cached readers over metrics)."""
import streamlit as st

from liushou_dash import ui

if ui.is_demo():
    st.info(ui.DEMO_BANNER, icon=":material/science:")

st.title("留守儿童关爱工作总览")

period = ui.latest_period()
if period is None:
    st.info(ui.NO_DATA_MESSAGE, icon=":material/info:")
    st.stop()

latest = ui.Filter((period,))
st.caption(f"数据截至 {ui.period_label(period)}")

cards = ui.headline_cards(ui.county_summary(latest))
for column, card in zip(st.columns(len(cards)), cards):
    column.metric(card.label, card.value, help=card.help, border=True)

st.subheader("各乡镇情况")
table, column_config = ui.township_board(ui.township_table(latest))
st.dataframe(table, column_config=column_config, hide_index=True, placeholder=ui.NOT_AVAILABLE)
