"""审核 (staff, admin): the queue, what changed, approve or return; roll back and unlock.

Layout only. Every action goes through liushou_dash.workflow with the acting user (which
checks the role and audits), then clears the cached readers so every page shows it at once.
"""
import streamlit as st

from liushou_dash import admin, review, session, ui, workflow

actor = session.page_actor("staff", "admin")
engine = session.engine()


def show_diff(diff, nothing: str) -> None:
    if diff is None:
        st.info(nothing)
        return
    st.caption(f"比较对象：{diff.base_label}")
    if diff.unchanged:
        st.info("各工作表内容与比较对象完全相同。")
    for title, table in diff.sections.items():
        st.markdown(f"**{title}**（{len(table)} 条）")
        session.table(table)
    with st.expander("学校月报合计对比"):
        session.table(diff.totals)


def decide(submission_id: int) -> None:
    with st.form("decide", clear_on_submit=True):
        comment = st.text_area("审核意见（退回时必填，填报员会看到）", max_chars=500)
        left, right = st.columns(2)
        approve = left.form_submit_button("审核通过（锁定该月数据）", type="primary",
                                          icon=":material/task_alt:")
        send_back = right.form_submit_button("退回乡镇修改", icon=":material/undo:")
    if approve:
        session.act(workflow.approve, actor, submission_id, comment,
                    done="已审核通过，该月数据已锁定。")
    if send_back:
        session.act(workflow.return_submission, actor, submission_id, comment,
                    done="已退回，填报员将在数据上报页看到退回意见。")


def pending_section() -> None:
    queue = workflow.pending(engine, actor)
    st.subheader(f"待审核的提交（{len(queue)}）")
    if queue.empty:
        st.info("目前没有待审核的提交。")
        return
    session.table(review.queue_table(queue))
    labels = review.choices(queue)
    chosen = st.selectbox("选择要审核的提交", list(labels), format_func=labels.get)
    shown = review.review_of(engine, actor, chosen)
    same_month, last_month, warnings = st.tabs(
        ["与本月上次提交比较", "与上月比较", f"警告（{len(shown.warnings)}）"])
    with same_month:
        show_diff(shown.against_previous, "这是该乡镇本月的第一次提交，没有可比较的上次提交。")
    with last_month:
        show_diff(shown.against_last_month, "该乡镇上月没有有效数据，无法与上月比较。")
    with warnings:
        if shown.warnings.empty:
            st.info("校验没有发现需要提醒的问题。")
        else:
            session.table(shown.warnings)
    if workflow.may_review(actor, shown.submission["username"]):
        decide(chosen)
    else:
        st.info(workflow.OWN_SUBMISSION + "。", icon=":material/group:")


def history_section() -> None:
    st.subheader("回退与解锁")
    townships = admin.townships(engine)
    left, right = st.columns(2)
    township = left.selectbox("乡镇", list(townships), format_func=townships.get)
    periods = review.periods_of(engine, actor, township)
    if not periods:
        st.info("该乡镇还没有任何提交。")
        return
    period = right.selectbox("月份", periods, format_func=ui.period_label)
    month = review.month_history(engine, actor, township, period)
    session.table(month.table)
    if month.approved:
        st.caption("该月数据已审核锁定：解锁后乡镇可以重新上传，也才能回退。")
        if st.button("解锁该月数据", icon=":material/lock_open:"):
            session.act(workflow.unlock, actor, township, period,
                        done="已解锁，该月数据恢复为“已提交”。")
    if month.earlier:
        target = st.selectbox("回退到较早的提交（成为该月当前有效数据）", list(month.earlier),
                              format_func=month.earlier.get)
        if st.button("回退", icon=":material/history:", disabled=month.approved):
            session.act(workflow.roll_back, actor, target, done=f"已回退到第 {target} 号提交。")


session.show_flash()
st.title("审核")
pending_section()
st.divider()
history_section()
