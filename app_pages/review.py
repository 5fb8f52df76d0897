"""审核 (staff, admin): the queue, what changed, approve or return; roll back and unlock.

Layout only. Every action goes through liushou_dash.workflow with the acting user (which
checks the role and audits), then clears the cached readers so every page shows it at once.
"""
import streamlit as st

from liushou_dash.web import cache, markup, session
from liushou_dash.workflow import administration, changes, review, verification

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


ASKING = "review_asking_approval"   # the submission whose approval awaits 确认


def ask_approval(submission_id: int) -> None:
    st.session_state[ASKING] = submission_id


def stop_asking() -> None:
    st.session_state.pop(ASKING, None)


@st.dialog("确认审核通过", on_dismiss=stop_asking)
def confirm_approval(submission: dict, comment: str) -> None:
    """Approving locks the month, so it is never one click or keystroke: the dialog names
    the township and month, and only 确认 records it. It stays open while the session says
    so, because a click inside it reruns the script (and AppTest reruns all of it)."""
    st.markdown(markup.escaped(changes.approval_question(submission, comment)))
    confirm, cancel = st.columns(2)
    if confirm.button("确认", type="primary", icon=":material/task_alt:"):
        stop_asking()
        session.act(review.approve, actor, submission["id"], comment,
                    done="已审核通过，该月数据已锁定。")
    if cancel.button("取消"):
        stop_asking()
        st.rerun()


def decide(submission: dict) -> None:
    """The comment box and the two decisions, outside any form: Ctrl+Enter in the box only
    keeps the text (a form would submit its first button, and a half-written comment is no
    decision). The box is keyed by submission, so it starts empty for the next one."""
    submission_id = submission["id"]
    comment = st.text_area("审核意见（退回时必填，填报员会看到）", max_chars=500,
                           key=f"review_comment_{submission_id}")
    left, right = st.columns(2)
    left.button("审核通过（锁定该月数据）", type="primary", icon=":material/task_alt:",
                on_click=ask_approval, args=(submission_id,))
    if right.button("退回乡镇修改", icon=":material/undo:"):
        session.act(review.return_submission, actor, submission_id, comment,
                    done="已退回，填报员将在数据上报页看到退回意见。")
    if st.session_state.get(ASKING) == submission_id:
        confirm_approval(submission, comment)


def flagged_values(submission: dict) -> None:
    """The values the plausibility checks flag, with 已核实 marks; a reviewer other than the
    submitter confirms one with a note (audited). No form, as for the decisions below: Enter
    in the note must not confirm a half-written one."""
    found, table = verification.submission_table(engine, submission["id"])
    st.markdown(f"**需核实的数据**（{len(found)} 处）")
    if not found:
        st.caption("数据合理性检查未发现需要核实的数据。")
        return
    session.table(table)
    open_ones = verification.unverified_choices(found, table)
    if not open_ones or not review.may_review(actor, submission["username"]):
        return
    chosen = st.selectbox("核实的数据", list(open_ones), format_func=open_ones.get,
                          key=f"verify_value_{submission['id']}")
    note = st.text_input("核实说明（必填，例如：已电话核实，学校合并）", max_chars=200,
                         key=f"verify_note_{submission['id']}")
    if st.button("标记为已核实", icon=":material/verified:"):
        f = found[chosen]
        session.act(verification.verify, actor, submission["id"], f.school_code, f.check,
                    verification.key_of(f), note, done="已标记为已核实，并记入审计日志。")


def pending_section() -> None:
    queue = review.pending(engine, actor)
    st.subheader(f"待审核的提交（{len(queue)}）")
    if queue.empty:
        st.info("目前没有待审核的提交。")
        return
    session.table(changes.queue_table(queue))
    labels = changes.choices(queue)
    chosen = st.selectbox("选择要审核的提交", list(labels), format_func=labels.get)
    shown = changes.review_of(engine, actor, chosen)
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
        flagged_values(shown.submission)
    if review.may_review(actor, shown.submission["username"]):
        decide(shown.submission)
    else:
        st.info(review.OWN_SUBMISSION + "。", icon=":material/group:")


def history_section() -> None:
    st.subheader("回退与解锁")
    townships = administration.townships(engine)
    left, right = st.columns(2)
    township = left.selectbox("乡镇", list(townships), format_func=townships.get)
    periods = changes.periods_of(engine, actor, township)
    if not periods:
        st.info("该乡镇还没有任何提交。")
        return
    period = right.selectbox("月份", periods, format_func=cache.period_label)
    month = changes.month_history(engine, actor, township, period)
    session.table(month.table)
    if month.approved:
        st.caption("该月数据已审核锁定：解锁后乡镇可以重新上传，也才能回退。")
        if st.button("解锁该月数据", icon=":material/lock_open:"):
            session.act(review.unlock, actor, township, period,
                        done="已解锁，该月数据恢复为“已提交”。")
    if month.earlier:
        target = st.selectbox("回退到较早的提交（成为该月当前有效数据）", list(month.earlier),
                              format_func=month.earlier.get)
        if st.button("回退", icon=":material/history:", disabled=month.approved):
            session.act(review.roll_back, actor, target, done=f"已回退到第 {target} 号提交。")


session.show_flash()
st.title("审核")
pending_section()
st.divider()
history_section()
