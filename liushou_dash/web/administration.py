"""The tabs of 管理 (the administrator's page), drawn: users, master data and boundaries, the
deadline, meeting-screen links, the audit log. Every write goes through a core function of
liushou_dash.workflow that checks the administrator role and leaves an audit row;
session.act shows the result. app_pages/admin.py only places the tabs."""
from __future__ import annotations

import datetime as dt

import streamlit as st

from liushou_dash.core import settings
from liushou_dash.core.actors import ROLE_LABELS, ROLES
from liushou_dash.reports import export
from liushou_dash.web import session, views
from liushou_dash.workflow import accounts, administration, meeting_links, passwords, throttle

NO_TOWNSHIP = ""


def show_users(engine, actor, townships: dict) -> None:
    users = administration.users_table(engine, actor)
    session.table(users)
    with st.form("create_user", clear_on_submit=True):
        st.markdown("**新建账号**")
        left, right = st.columns(2)
        username = left.text_input("用户名", help="2–50 位小写字母、数字或 _ . -")
        display_name = right.text_input("姓名")
        role = left.selectbox("角色", ROLES, format_func=ROLE_LABELS.get)
        township = right.selectbox("所属乡镇（仅乡镇填报员）", [NO_TOWNSHIP, *townships],
                                   format_func=lambda c: townships.get(c, "（不指定）"))
        password = left.text_input("初始密码", type="password", help=passwords.PASSWORD_RULES)
        if st.form_submit_button("创建", type="primary"):
            session.act(accounts.create_user, actor, username, role, password, township or None,
                        display_name, done=lambda user: f"已创建账号 {user.username}")
    st.markdown("**管理已有账号**")
    name = st.selectbox("账号", users["用户名"].tolist())
    left, right = st.columns(2)
    new_password = left.text_input("重置为新密码", type="password", key="reset_password",
                                   help=f"{passwords.PASSWORD_RULES}；该账号已有的登录随即结束")
    if left.button("重置密码"):
        session.act(accounts.reset_password, actor, name, new_password,
                    done=f"已重置 {name} 的密码")
    if left.button("解除登录等待", help="密码多次输错后，该账号每次登录前须等待片刻（最长 "
                   f"{throttle.ACCOUNT_DELAY.cap.seconds} 秒）；解除后可立即登录"):
        session.act(accounts.unlock_user, actor, name, done=f"已解除 {name} 的登录等待")
    if right.button("停用账号"):
        session.act(accounts.set_active, actor, name, False, done=f"已停用 {name}")
    if right.button("启用账号"):
        session.act(accounts.set_active, actor, name, True, done=f"已启用 {name}")


def show_master(engine, actor, townships: dict) -> None:
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


def show_deadline(engine, actor) -> None:
    low, high = administration.DEADLINE_RANGE
    with st.form("deadline"):
        day = st.number_input("每月数据的报送截止日（次月几号）", min_value=low, max_value=high,
                              value=settings.deadline_day(engine), step=1)
        if st.form_submit_button("保存", type="primary"):
            session.act(administration.set_deadline_day, actor, int(day),
                        done=f"已保存：每月数据须在次月 {int(day)} 日前报送")


def show_audit(engine, actor) -> None:
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


NEW_LINK = "admin_new_meeting_link"  # st.session_state: the link just made, shown once
OPEN_TAB = "admin_open_tab"          # st.session_state: the tab to show after an action's rerun
LINKS_TAB = "会议大屏链接"


def _made(created: meeting_links.Created) -> str:
    st.session_state[NEW_LINK] = created
    st.session_state[OPEN_TAB] = LINKS_TAB
    return (f"已生成会议大屏链接（编号 {created.id}，有效至 "
            f"{meeting_links.when(created.expires_at)}）")


def _revoked(link_id: int) -> str:
    st.session_state[OPEN_TAB] = LINKS_TAB
    return f"已撤销编号 {link_id} 的会议大屏链接"


def show_meeting_links(engine, actor, townships: dict) -> None:
    st.caption("会议大屏链接让联席会议的电脑不登录即可显示会议大屏：只读，打不开其他页面，也不能下载；"
               "刷新页面（F5）不会退回登录页。链接到期或被撤销后，大屏在下一次自动刷新时显示链接已失效。"
               "每次打开都记入审计日志。")
    created = st.session_state.pop(NEW_LINK, None)
    if created is not None:
        st.warning("链接只在此显示这一次，请立即复制（点右上角的复制按钮），"
                   "在会议室电脑的浏览器中打开；离开或刷新本页后无法再次查看。")
        st.code(session.site_address() + created.path, language=None)
    low, high = meeting_links.HOURS_RANGE
    with st.form("meeting_link", clear_on_submit=True):
        st.markdown("**生成新链接**")
        left, middle, right = st.columns([1, 2, 2])
        hours = left.number_input("有效时长（小时）", min_value=low, max_value=high,
                                  value=meeting_links.DEFAULT_HOURS, step=1)
        note = middle.text_input("说明", max_chars=meeting_links.NOTE_LENGTH,
                                 placeholder="如：2026年12月联席会议")
        places = right.multiselect("显示的乡镇", list(townships), format_func=townships.get,
                                   placeholder="不选即全部乡镇")
        if st.form_submit_button("生成链接", type="primary"):
            session.act(meeting_links.create, actor, int(hours), places, note, done=_made)
    table = meeting_links.links(engine, actor)
    if table.empty:
        st.caption("还没有生成过会议大屏链接。")
        return
    session.table(table)
    live = meeting_links.revocable(table)
    if live:
        left, _ = st.columns([1, 2])
        chosen = left.selectbox("撤销链接", live, format_func=lambda n: f"编号 {n}")
        if left.button("撤销", help="撤销后，正在使用该链接的大屏在下一次自动刷新时显示链接已撤销"):
            session.act(meeting_links.revoke, actor, chosen, done=lambda _: _revoked(chosen))
