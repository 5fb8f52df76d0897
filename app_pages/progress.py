"""上报进度: where every township's monthly return stands, the reporting and on-time rates,
and the chase list (催报名单) for the month being collected now. Layout only."""
import streamlit as st

from liushou_dash.core import periods
from liushou_dash.indicators import cards, ratios
from liushou_dash.web import cache, charts, session, views
from liushou_dash.web.navigation import COUNTY
from liushou_dash.workflow import progress, verification

flt = views.page_start("上报进度", whole_span=True, roles=COUNTY)
period = flt.latest
latest, before = cache.month_pair(flt)
views.show_cards(cards.cards(latest, before, period, ("report_rate", "on_time_rate"),
                             approved_only=flt.approved_only), per_row=4)

st.subheader("乡镇 × 月份上报状态")
found = cache.statuses(flt)
counts = progress.status_counts(found)
st.caption("；".join(f"{status} {count} 个" for status, count in counts.items())
           + "。未报：尚未到截止日；逾期：截止日已过仍未报送；已退回：县级审核退回待重报。")
views.show_matrix(progress.matrix(found))

st.subheader("上报率与及时率")
table = cache.township_table(flt)
views.show(charts.monthly_rates(ratios.county_by_period(table),
                                ("report_rate", "on_time_rate"), "每月上报率与及时率"))
st.caption(f"下表为{views.span_text(flt)}各乡镇合计：应报、已报和按时上报的月数及比率。")
views.show_board(ratios.collapse_periods(table)[
    ["township_name", "expected", "reported", "on_time", "report_rate", "on_time_rate"]],
    height="all", key="progress_rates")

reporting, chase = cache.chase_list(flt)
st.subheader(f"催报名单：{periods.period_label(reporting)}月报")
if chase.empty:
    st.success(f"{periods.period_label(reporting)}月报已全部报送，无需催报。")
else:
    st.caption("剩余天数为负数表示已逾期的天数；已退回的月报需按退回意见修改后重新报送。")
    shown = chase.drop(columns="township_code")
    views.show_board(shown, labels=progress.CHASE_LABELS, kinds=progress.CHASE_KINDS,
                     key="progress_chase")
    views.download_buttons(shown, f"催报名单_{reporting}", "催报名单", progress.CHASE_KINDS,
                           progress.CHASE_LABELS, what="chase_list")

flagged = verification.period_table(session.engine(), reporting)
st.subheader(f"需核实的数据：{periods.period_label(reporting)}月报")
if flagged.empty:
    st.success("已报送的月报未发现需要核实的数据。")
else:
    st.caption("数据合理性检查：较上月变化过大、在校学生数与学籍不符、疑似照抄上月；"
               "可在审核页逐条标记“已核实”。")
    session.table(progress.flagged_counts(flagged))
    with st.expander(f"逐条查看（{len(flagged)} 处）"):
        session.table(flagged)
