"""Entry point: page setup and routing only; pages and roles are declared in navigation.py."""
import streamlit as st

from liushou_dash.web import session, sidebar, views
from liushou_dash.web.navigation import pages_for

st.set_page_config(page_title="留守儿童关爱工作监测平台", page_icon="🧒", layout="wide")

if session.meeting_token() is not None:  # a meeting-screen link: that screen alone, no login
    page = session.meeting_gate()
    views.chinese_widgets()
    views.demo_banner()
else:
    actor = session.gate()  # the login screen, until somebody is logged in
    groups = pages_for(role=actor.role)
    page = st.navigation({group: [st.Page(spec.path, title=spec.title,
                                          default=(spec.path == "app_pages/cockpit.py"))
                                  for spec in specs]
                          for group, specs in groups.items()})
    sidebar.render_for(page)  # the demo banner; the dashboards' filters (kept in the URL)
page.run()
