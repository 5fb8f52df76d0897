"""app.py for a session that is already logged in as the demo leader, plus /hello.

The benchmarks time how long the cockpit takes to show its numbers, not how long somebody
takes to type a password, so each session starts logged in; everything after the login
form runs as app.py runs it: the gate re-reads the account, the navigation is built for the
role, the sidebar draws the filters, the page runs. /hello is the one-line page that the
cockpit is compared with, served by the same server.
"""
import datetime as dt
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from liushou_dash import auth, session, sidebar  # noqa: E402
from liushou_dash.navigation import pages_for  # noqa: E402

st.set_page_config(page_title="留守儿童关爱工作监测平台", page_icon="🧒", layout="wide")

if session.ACTOR not in st.session_state:
    st.session_state[session.ACTOR] = auth.Actor("leader", "leader")
    st.session_state[session.LAST_SEEN] = dt.datetime.now()
actor = session.gate()


def hello():
    st.write("hello")


groups = {group: [st.Page(ROOT / spec.path, title=spec.title, icon=spec.icon,
                          default=(spec.path == "pages/cockpit.py")) for spec in specs]
          for group, specs in pages_for(role=actor.role).items()}
groups["bench"] = [st.Page(hello, title="hello", url_path="hello")]
page = st.navigation(groups)
sidebar.render_for(page)
page.run()
