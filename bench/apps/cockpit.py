"""app.py itself, for a session already logged in as the demo leader, plus /hello.

The benchmarks time how long the cockpit takes to show its numbers, not how long somebody
takes to type a password, so each session starts logged in; then app.py runs unchanged (the
gate re-reads the account, the navigation is built for the role, the sidebar draws the
filters, the page runs). Two things differ, both because this file is not app.py: page
paths are resolved against the project root, and the navigation gets one more page, /hello,
the one-line page the cockpit is compared with on the same server.
"""
import datetime as dt
import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from liushou_dash.core.actors import Actor  # noqa: E402
from liushou_dash.web import session  # noqa: E402

if session.ACTOR not in st.session_state:
    st.session_state[session.ACTOR] = Actor("leader", "leader")
    st.session_state[session.LAST_SEEN] = dt.datetime.now()

page_of_app, navigation_of_app = st.Page, st.navigation


def hello():
    st.write("hello")


def page(source, **options):
    return page_of_app(ROOT / source if isinstance(source, str) else source, **options)


def navigation(pages, **options):
    return navigation_of_app({**pages, "bench": [page_of_app(hello, title="hello",
                                                             url_path="hello")]}, **options)


st.Page, st.navigation = page, navigation
try:
    runpy.run_path(str(ROOT / "app.py"), run_name="__main__")
finally:
    st.Page, st.navigation = page_of_app, navigation_of_app
