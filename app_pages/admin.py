"""管理 (admin): users, master data and boundaries, the deadline, the audit log.

Layout only. Every write goes through a core function that checks the administrator role
and leaves an audit row (auth, liushou_dash.admin); session.act shows the result.
"""
import datetime as dt

import streamlit as st

from liushou_dash.core import settings
from liushou_dash.reports import export
from liushou_dash.web import session, views
from liushou_dash.workflow import administration, auth

actor = session.page_actor("admin")
engine = session.engine()
townships = administration.townships(engine)
NO_TOWNSHIP = ""


def users_tab() -> None:
    users = administration.users_table(engine, actor)
    session.table(users)
    with st.form("create_user", clear_on_submit=True):
        st.markdown("**新建账号**")
        left, right = st.columns(2)
        username = left.text_input("用户名", help="2–50 位小写字母、数字或 _ . -")
        display_name = right.text_input("姓名")
        role = left.selectbox("角色", auth.ROLES, format_func=auth.ROLE_LABELS.get)
        township = right.selectbox("所属乡镇（仅乡镇填报员）", [NO_TOWNSHIP, *townships],
                                   format_func=lambda c: townships.get(c, "（不指定）"))
        password = left.text_input("初始密码", type="password", help=auth.PASSWORD_RULES)
        if st.form_submit_button("创建", type="primary"):
            session.act(auth.create_user, actor, username, role, password, township or None,
                        display_name, done=lambda user: f"已创建账号 {user.username}")
    st.markdown("**管理已有账号**")
    name = st.selectbox("账号", users["用户名"].tolist())
    left, right = st.columns(2)
    new_password = left.text_input("重置为新密码", type="password", key="reset_password",
                                   help=f"{auth.PASSWORD_RULES}；该账号已有的登录随即结束")
    if left.button("重置密码"):
        session.act(auth.reset_password, actor, name, new_password, done=f"已重置 {name} 的密码")
    if left.button("解除登录等待", help="密码多次输错后，该账号每次登录前须等待片刻（最长 "
                   f"{auth.ACCOUNT_DELAY.cap.seconds} 秒）；解除后可立即登录"):
        session.act(auth.unlock_user, actor, name, done=f"已解除 {name} 的登录等待")
    if right.button("停用账号"):
        session.act(auth.set_active, actor, name, False, done=f"已停用 {name}")
    if right.button("启用账号"):
        session.act(auth.set_active, actor, name, True, done=f"已启用 {name}")


def master_tab() -> None:
    counts = administration.master_counts(engine)
    for column, (label, key) in zip(st.columns(4), (
            ("乡镇", "townships"), ("村(居)", "villages"), ("学校", "schools"),
            ("有边界的乡镇", "boundaries"))):
        column.metric(label, counts[key], border=True)
    master = st.file_uploader("导入主数据：townships.csv、villages.csv、schools.csv，"
                              "或含“乡镇”“村居”“学校”工作表的 .xlsx", type=["csv", "xlsx"])
    if master is not None and st.button("导入主数据", type="primary"):
        session.act(administration.load_master_file, actor, master.getvalue(), master.name,
                    done=lambda n: f"已导入乡镇 {n['townships']} 个、村(居) {n['villages']} 个、"
                                   f"学校 {n['schools']} 所")
    shapes = st.file_uploader("导入乡镇边界（GeoJSON，要素属性 code 为 9 位乡镇代码）",
                              type=["geojson", "json"])
    if shapes is not None and st.button("导入乡镇边界", type="primary"):
        session.act(administration.load_boundaries, actor, shapes.getvalue(),
                    done=lambda r: f"已导入 {r['stored']} 个乡镇边界" +
                    (f"；仍缺边界：{'、'.join(r['without'])}" if r["without"] else ""))
    if townships:
        township = st.selectbox("查看乡镇的学校", list(townships), format_func=townships.get)
        session.table(administration.schools_of(engine, township))


def deadline_tab() -> None:
    low, high = administration.DEADLINE_RANGE
    with st.form("deadline"):
        day = st.number_input("每月数据的报送截止日（次月几号）", min_value=low, max_value=high,
                              value=settings.deadline_day(engine), step=1)
        if st.form_submit_button("保存", type="primary"):
            session.act(administration.set_deadline_day, actor, int(day),
                        done=f"已保存：每月数据须在次月 {int(day)} 日前报送")


def audit_tab() -> None:
    users, actions = administration.audit_choices(engine, actor)
    left, middle, right = st.columns(3)
    who = left.selectbox("用户", ["", *users], format_func=lambda u: u or "（全部）")
    what = middle.multiselect("操作", actions, format_func=administration.action_label,
                              placeholder="全部操作")
    today = dt.date.today()
    when = right.date_input("日期", (today - dt.timedelta(days=30), today))
    since, until = (list(when) + [None, None])[:2]
    log = administration.audit_log(engine, actor, who or None, what, since, until)
    st.caption(f"共 {len(log)} 条（最多显示 {administration.AUDIT_LIMIT} 条，按时间倒序）")
    session.table(log)
    views.audited_download("下载审计日志（CSV）", export.to_csv(log.astype("string")),
                           f"审计日志_{today:%Y%m%d}.csv", views.MIME_TYPES["csv"], "audit_log",
                           {"user": who, "actions": what, "since": since, "until": until},
                           icon=":material/download:")


session.show_flash()
st.title("管理")
users, master, deadline, log = st.tabs(["用户", "主数据", "上报截止日", "审计日志"])
with users:
    users_tab()
with master:
    master_tab()
with deadline:
    deadline_tab()
with log:
    audit_tab()
