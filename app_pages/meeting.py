"""会议大屏: the joint meeting's projector, one 1920 × 1080 screen with the sidebar folded and
nothing to scroll: the headline cards in one row; under them the township ranking's top and
bottom five, the map, and the urgent alerts themselves (无人监护, 逾期未报), all in large type.

It redraws itself every cache.MEETING_REFRESH_SECONDS from the shared cache, so many open
screens cost the database one query per refresh. Each redraw passes the gate
(session.fragment): a leader's screen whose session has ended shows the login; a screen
opened by a meeting link (session.meeting_gate, no login) shows why the link no longer
holds once it is revoked or has expired. Layout only."""
import streamlit as st

from liushou_dash import catalog
from liushou_dash.catalog import messages
from liushou_dash.core import periods
from liushou_dash.indicators import alerts
from liushou_dash.indicators import cards
from liushou_dash.web import cache, maps, session, views
from liushou_dash.web.markup import escaped

TITLE = "留守儿童关爱工作 · 联席会议大屏"
MAP_CANVAS = (600, 370)  # the map's column of a 1920 × 1080 projector
RANKED = 5               # the ranking's top and bottom rows shown
# Lines per kind of alert (a 无人监护 line takes two); the rest counted in a line under them.
ALERT_LINES = {alerts.UNGUARDED: 5, alerts.MISSING_RETURN: 4}
# The meeting screen's own spacing: less white above and between blocks than the other
# pages, so that everything fits one projector screen (static CSS, nothing from data).
FIT_SCREEN = """<style>
.block-container { padding-top: 3rem; padding-bottom: 0.5rem;
                   padding-left: 2rem; padding-right: 2rem; }
[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] { gap: 0.55rem; }
[data-testid="stAlertContainer"] p, [data-testid="stAlertContainer"] li {
  font-size: 1.15rem; line-height: 1.45; }
[data-testid="stAlertContainer"] ul { margin-bottom: 0; }
[data-testid="stMetric"] { padding: 0.5rem 0.6rem; }
[data-testid="stMetricLabel"] p { font-size: 1.05rem; }
[data-testid="stMetricLabel"] [data-testid="stTooltipIcon"] { display: none; }
h1 { padding-bottom: 0 !important; }
h3 { padding-top: 0.2rem !important; padding-bottom: 0.2rem !important; }
</style>"""


def start():
    """The title and the filter: a leader's from the sidebar (views.page_start checks the
    role); a meeting link's is the one session.meeting_gate built from the link."""
    if session.meeting_link() is None:
        return views.page_start(TITLE)
    st.title(TITLE)
    flt = st.session_state.get(cache.FILTER_KEY)
    if flt is None:
        st.info(messages.NO_DATA)
        st.stop()
    st.caption(views.scope_text(flt))
    return flt


flt = start()
views.large_type()
st.html(FIT_SCREEN)


def ranking(latest, before, period: str) -> None:
    league = cards.league_table(latest, before)
    ranked = league[league["rank"].notna()][cards.MEETING_LEAGUE_COLUMNS]
    title = f"{periods.period_label(period)}乡镇排名"
    if len(ranked) <= 2 * RANKED:
        st.subheader(title)
        views.show_table(ranked, period)
    else:
        st.subheader(f"{title} · 前{RANKED}名")
        views.show_table(ranked.head(RANKED), period)
        st.markdown(f"**后{RANKED}名**（共{len(ranked)}个乡镇参与排名）")
        views.show_table(ranked.tail(RANKED), period)
    unranked = league.loc[league["rank"].isna(), "township_name"]
    if len(unranked):
        st.caption(f"未参与排名（本月未报送或{messages.RESUBMIT}）："
                   f"{escaped('、'.join(unranked))}")


def alert_list(urgent: list, period: str) -> None:
    st.subheader("需要立即处理")
    if not urgent:
        st.success(f"{periods.period_label(period)}没有无人监护的留守儿童，也没有逾期未报的乡镇。")
        return
    for kind in cache.URGENT_KINDS:
        chosen = [a for a in urgent if a.kind == kind]
        if not chosen:
            continue
        room = ALERT_LINES.get(kind, 4)
        lines = [f"- {escaped(a.message)}" for a in chosen[:room]]
        if len(chosen) > room:
            lines.append(f"- ……另有{len(chosen) - room}条，完整清单见总览页")
        box = st.error if kind == alerts.UNGUARDED else st.warning
        box(f"**{alerts.KIND_LABELS[kind]}（{len(chosen)}条）**\n\n" + "\n".join(lines))


@session.fragment(run_every=cache.MEETING_REFRESH_SECONDS)
def screen():
    period = flt.latest
    st.markdown(f"**{views.as_of_text(flt)}**")
    latest, before = cache.month_pair(flt)
    found = cards.cards(latest, before, period, approved_only=flt.approved_only)
    views.fit_cards(len(found))
    views.show_cards(found, per_row=max(len(found), 1))  # one row, however many declared
    left, middle, right = st.columns([1.15, 1, 1.05], gap="medium")
    with left:
        ranking(latest, before, period)
    with middle:
        key = st.selectbox("地图着色指标", maps.MAP_KEYS, format_func=catalog.label_of,
                           index=maps.MAP_KEYS.index("paired_rate"), key="meeting_indicator",
                           label_visibility="collapsed")
        maps.show(maps.township_map(cache.boundaries(flt), latest, key, period,
                                    canvas=MAP_CANVAS, projector=True), height=MAP_CANVAS[1])
    with right:
        alert_list(cache.urgent_alerts(flt), period)


screen()
