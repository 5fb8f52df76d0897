"""管理 (admin): users, master data and boundaries, the deadline, meeting-screen links, the
audit log. Layout only: the tabs are drawn by liushou_dash.web.administration."""
import streamlit as st

from liushou_dash.web import administration as tabs
from liushou_dash.web import session
from liushou_dash.workflow import administration

actor = session.page_actor("admin")
engine = session.engine()
townships = administration.townships(engine)

session.show_flash()
st.title("管理")
users, master, deadline, links, log = st.tabs(
    ["用户", "主数据", "上报截止日", tabs.LINKS_TAB, "审计日志"],
    default=st.session_state.pop(tabs.OPEN_TAB, None))
with users:
    tabs.show_users(engine, actor, townships)
with master:
    tabs.show_master(engine, actor, townships)
with deadline:
    tabs.show_deadline(engine, actor)
with links:
    tabs.show_meeting_links(engine, actor, townships)
with log:
    tabs.show_audit(engine, actor)
