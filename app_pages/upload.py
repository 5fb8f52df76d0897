"""数据上报 (clerk): template, upload, verdict, the workbook handed back marked, history.

Layout only. liushou_dash.uploads checks the township and runs the ingest; a file is checked
first (dry run) and stored only when the clerk confirms the same bytes. The file is read, and
the marked copy built, in the reader worker (liushou_dash/ingest/worker.py): whatever a clerk
uploads, this server and every other session carry on.
"""
import streamlit as st

from liushou_dash.ingest import handback, worker
from liushou_dash.web import cache, markup, session, views
from liushou_dash.workflow import administration, uploads

CHECKED, ROUND = "upload_checked", "upload_round"

actor = session.page_actor("clerk")
engine = session.engine()
worker.warm()  # the file is read in a worker process: have one ready before it is chosen
township = actor.township_code
township_name = administration.townships(engine).get(township, township)

session.show_flash()
st.title("数据上报")
st.caption(f"本乡镇：{markup.escaped(township_name)}（{township}）")

period = st.selectbox("报表月份", uploads.recent_periods(), format_func=cache.period_label,
                      help="默认为上个月；被退回的月份也可在此选择后重新上传")
notice = uploads.period_notice(engine, actor, township, period)
if notice:
    st.warning(markup.escaped(notice))

st.subheader("① 下载模板")
views.audited_download(
    "下载本月模板（已预填本乡镇学校、之家和资金台账）",
    lambda: uploads.template(engine, actor, township, period),
    uploads.template_name(township_name, period), views.MIME_TYPES["xlsx"], "template",
    {"township": township, "period": period}, icon=":material/download:")

st.subheader("② 上传填好的文件")
upload_round = st.session_state.get(ROUND, 0)  # a new key empties the uploader after storing
uploaded = st.file_uploader("选择文件（.xlsx、.xls 或 .csv，不超过 20 MB）",
                            type=["xlsx", "xlsm", "xls", "csv"], key=f"upload_{upload_round}")


def check(data: bytes, file_name: str):
    """The dry run's verdict and the marked workbook, once per file and month."""
    key = (uploads.fingerprint(data), period)
    held = st.session_state.get(CHECKED)
    if held is None or held[0] != key:
        with st.status("正在读取并校验文件…", expanded=True) as status:
            st.write("读取文件、识别表头并逐项校验…")
            report = uploads.upload(engine, actor, township, period, data, file_name,
                                    dry_run=True)
            marked = None
            if report.errors or report.warnings:
                st.write("在原文件上标注有问题的单元格…")
                marked = handback.hand_back(data, file_name, report.errors, report.warnings)
            status.update(label="校验完成", state="complete", expanded=False)
        held = st.session_state[CHECKED] = (key, report, marked)
    return held[1], held[2]


def offer(marked) -> None:
    if marked is None:
        return
    if marked.data is None:
        st.info(marked.note)
        return
    st.caption(marked.note)
    views.audited_download("下载已标注问题的文件", marked.data, marked.file_name, marked.mime,
                           "handback", {"township": township, "period": period},
                           icon=":material/edit_note:")


def confirm(data: bytes, file_name: str) -> None:
    stored = uploads.upload(engine, actor, township, period, data, file_name, dry_run=False)
    if not stored.accepted:  # e.g. the month was approved meanwhile
        st.error("提交未成功，数据未保存：")
        session.table(uploads.issue_table(stored.errors))
        return
    st.session_state.pop(CHECKED, None)
    st.session_state[ROUND] = upload_round + 1
    cache.clear_caches()
    session.flash(f"已提交 {cache.period_label(period)} 数据（提交编号 {stored.submission_id}），"
                  "等待县级审核。")
    st.rerun()


if uploaded is not None:
    data = uploaded.getvalue()
    report, marked = check(data, uploaded.name)
    if report.accepted:
        st.success(f"校验通过：{uploads.rows_summary(report)}。请核对下列合计，确认无误后提交。")
        if report.warnings:
            st.warning(f"有 {len(report.warnings)} 条警告，不影响提交，但请核实：")
            session.table(uploads.issue_table(report.warnings))
            offer(marked)
        session.table(uploads.totals_table(report))
        if st.button("确认提交", type="primary", icon=":material/send:"):
            confirm(data, uploaded.name)
    else:
        st.error(f"未通过校验，数据未保存：共 {len(report.errors)} 处错误。"
                 "请按下表或标注后的文件逐条修改，再重新上传。")
        session.table(uploads.issue_table(report.errors))
        offer(marked)

st.subheader("③ 本乡镇上报记录")
session.table(uploads.history(engine, actor, township))
