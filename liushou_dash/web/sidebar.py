"""The sidebar's global filters: drawn by app.py for the dashboards, kept across pages and
written into the URL so that a copied link opens the same view.

Which value a widget starts with, in order: what the user picked earlier in this session
(kept here even while a page without the filters is open, since Streamlit forgets the state
of a widget that is not drawn), else what the link asks for, else the default.
"""
from __future__ import annotations

import streamlit as st

from liushou_dash.catalog import messages
from liushou_dash.core.periods import period_label
from liushou_dash.web import cache, views
from liushou_dash.web.filters import QUERY_KEYS, Options, Selection
from liushou_dash.web.navigation import PAGES

FILTERED_TITLES = {spec.title for spec in PAGES if spec.filters}
SELECTION_KEY = "filter_selection"
MONTHS, TOWNSHIPS, TYPES, APPROVED = ("filter_months", "filter_townships", "filter_types",
                                      "filter_approved")


def render_for(page) -> None:
    """What every page of the app shares, drawn before `page` (st.navigation's) runs: Chinese
    words for Streamlit's own widgets, the 示例数据 banner while the database holds demo
    data, and on the dashboards the filters."""
    views.chinese_widgets()
    views.demo_banner()
    if page.title in FILTERED_TITLES:
        render()


def render():
    """Draw the filters; leave the Filter in st.session_state for the page (None while the
    database holds no returns) and return it."""
    options = cache.filter_options()
    if options is None:
        st.session_state[cache.FILTER_KEY] = None
        return None
    start = _starting(options)
    names = cache.township_names()
    # The widgets are keyed, so their identity is the key alone: the starting values below
    # only count when a widget has no state yet (first run, or back from a page without it).
    with st.sidebar:
        st.subheader(messages.FILTER_HEADER)
        months = st.select_slider(messages.FILTER_MONTHS, options=options.periods,
                                  value=(start.period_from, start.period_to),
                                  format_func=period_label, key=MONTHS,
                                  help=messages.FILTER_MONTHS_HELP)
        townships = st.multiselect(messages.FILTER_TOWNSHIPS, options.townships,
                                   default=list(start.townships),
                                   format_func=lambda code: names.get(code, code), key=TOWNSHIPS,
                                   placeholder=messages.FILTER_TOWNSHIPS_HINT)
        types = st.multiselect(messages.FILTER_SCHOOL_TYPES, options.school_types,
                               default=list(start.school_types), key=TYPES,
                               placeholder=messages.FILTER_SCHOOL_TYPES_HINT)
        approved = st.toggle(messages.FILTER_APPROVED, value=start.approved_only, key=APPROVED)
        st.caption(messages.FILTER_LINK_HINT)
    selection = Selection(months[0], months[1], tuple(townships), tuple(types), approved)
    st.session_state[SELECTION_KEY] = selection
    _write_query(selection)
    flt = selection.to_filter()
    st.session_state[cache.FILTER_KEY] = flt
    return flt


def _starting(options: Options) -> Selection:
    """What the user picked earlier in this session, else what the link asks for."""
    saved = st.session_state.get(SELECTION_KEY)
    if saved is not None:
        return options.parse(saved.to_query())  # still valid for today's months?
    return options.parse({key: st.query_params.get_all(key) for key in QUERY_KEYS})


def _write_query(selection: Selection) -> None:
    """Put the selection into the URL, touching only our own parameters."""
    wanted = {key: [value] if isinstance(value, str) else value
              for key, value in selection.to_query().items()}
    for key in QUERY_KEYS:
        current = st.query_params.get_all(key)
        if key in wanted and current != wanted[key]:
            st.query_params[key] = wanted[key]
        elif key not in wanted and current:
            del st.query_params[key]
