"""How the pages draw what liushou_dash gives them: the page's frame, KPI cards, charts with
their sentence, tables, the map with its legend, download buttons, the meeting screen's
large type. Streamlit calls only; the numbers come from ui's cached readers and the core.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import streamlit as st

from liushou_dash.catalog import messages
from liushou_dash.core import cell_text, periods
from liushou_dash.core.filtering import Filter
from liushou_dash.core.periods import period_label
from liushou_dash.indicators import alerts, cards
from liushou_dash.reports import export
from liushou_dash.web import cache, navigation, session, tables
from liushou_dash.web.charts import Chart, VegaChart
from liushou_dash.web.markup import escaped
from liushou_dash.workflow import progress
from liushou_dash.workflow.downloads import audit_download

NOT_AVAILABLE = messages.NOT_AVAILABLE
FORMAT_NAMES = {"csv": "CSV", "xlsx": "Excel"}
MIME_TYPES = {"csv": "text/csv",
              "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
              "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
PLOTLY_CONFIG = {"displaylogo": False, "locale": "zh-CN",
                 "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}
ROW_PIXELS = 35  # st.dataframe's row height
LARGE_TABLE_ROWS = 200  # a city's or a province's townships: cells are not coloured one by
                        # one (pandas' Styler takes seconds over thousands of rows)
LARGE_TABLE_HEIGHT = 20 * ROW_PIXELS
ALERT_LINES = 30        # per box; a province has hundreds: the rest in the download


# --- Page frame --------------------------------------------------------------------------------

def scope_text(flt: Filter, months: str | None = None) -> str:
    """In words: which months (default: the latest), townships, school types and data."""
    kinds = messages.ALL_SCHOOL_TYPES if flt.school_types is None else "、".join(flt.school_types)
    data = messages.APPROVED_ONLY_NOTE if flt.approved_only else messages.ALL_DATA_NOTE
    return " · ".join((months or period_label(flt.latest), _places(flt), kinds, data))


def _places(flt: Filter) -> str:
    """The chosen townships by name; else the county, or a city's or province's counties."""
    if flt.townships is not None:
        names = cache.township_names()
        return "、".join(escaped(names.get(c, c)) for c in flt.townships)
    counties = cache.county_count()
    return (messages.ALL_TOWNSHIPS if counties <= 1
            else messages.ALL_COUNTIES.format(count=counties))


def span_text(flt: Filter) -> str:
    return periods.span_label(flt.periods[0], flt.latest)


# Streamlit's file uploader carries English words of its own ("Upload", "20MB per file •
# XLSX, ..."); CSS puts Chinese ones in their place. The label above every uploader already
# names the file types and the size limit.
UPLOAD_BUTTON, DROP_HINT = "选择文件", "或将文件拖放到此处"
_UPLOADER = "[data-testid='stFileUploaderDropzone']"
CHINESE_WIDGETS_CSS = f"""
{_UPLOADER} [data-testid='stBaseButton-secondary'] [data-testid='stMarkdownContainer'] p,
{_UPLOADER} [data-testid='stFileUploaderDropzoneInstructions'] span {{font-size: 0}}
{_UPLOADER} [data-testid='stBaseButton-secondary'] [data-testid='stMarkdownContainer'] p::after
  {{content: "{UPLOAD_BUTTON}"; font-size: 0.875rem}}
{_UPLOADER} [data-testid='stFileUploaderDropzoneInstructions'] span::after
  {{content: "{DROP_HINT}"; font-size: 0.875rem}}
"""


def chinese_widgets() -> None:
    """Chinese words over the English ones Streamlit's own widgets show (every page)."""
    st.html(f"<style>{CHINESE_WIDGETS_CSS}</style>")


def demo_banner() -> None:
    """示例数据, on every page while the database holds the demo county (app.py draws it
    through sidebar.render_for, above whatever page runs)."""
    if cache.is_demo():
        st.info(messages.DEMO_BANNER)


def page_start(title: str, whole_span: bool = False, roles=navigation.DASHBOARD) -> Filter:
    """The role check (a page reached without st.navigation is refused too), the title and
    the scope line (the latest month, or the whole span for a page that shows every month);
    the filter the sidebar built. Stops the page with a friendly message while the database
    holds no returns."""
    session.page_actor(*roles)
    st.title(title)
    flt = st.session_state.get(cache.FILTER_KEY)
    if flt is None:
        st.info(messages.NO_DATA)
        st.stop()
    st.caption(scope_text(flt, span_text(flt) if whole_span else None))
    return flt


def show_cards(found: cards.Cards, per_row: int = 5) -> None:
    """The cards in rows, and under them what they cover and the basis of their changes."""
    shown = found.cards
    for start in range(0, len(shown), per_row):
        row = shown[start:start + per_row]
        for column, card in zip(st.columns(per_row), row):
            column.metric(card.label, card.value, card.delta, delta_color=card.delta_color,
                          help=card.help, border=True,
                          delta_arrow="off" if card.delta_color == "off" else "auto")
    st.caption(escaped(found.note))


def show(chart: Chart | VegaChart, key: str | None = None) -> None:
    """A chart and, under it, the sentence that says what it shows."""
    if isinstance(chart, VegaChart):
        st.vega_lite_chart(chart.data, chart.spec, width="stretch", key=key)
    else:
        st.plotly_chart(chart.figure, config=PLOTLY_CONFIG, key=key)
    st.caption(chart.caption)


def show_alerts(found: Sequence, period: str, files: Mapping[str, bytes]) -> None:
    """无人监护 schools and missing returns in a box each; the other alerts folded away.
    Each list shows its first ALERT_LINES; the whole list (`files`, as cache.alert_files
    makes them) is a download under them."""
    if not any(a.kind in cache.URGENT_KINDS for a in found):
        st.success(f"{period_label(period)}没有无人监护的留守儿童，也没有逾期未报的乡镇。")
    for kind in cache.URGENT_KINDS:
        chosen = [a for a in found if a.kind == kind]
        if chosen:
            box = st.error if kind == alerts.UNGUARDED else st.warning
            box(_alert_list(alerts.KIND_LABELS[kind], chosen))
    others = [a for a in found if a.kind not in cache.URGENT_KINDS]
    if others:
        with st.expander(f"其他提醒（{len(others)}条）：连续未达标、资金拨付滞后"):
            st.markdown(_bullets(others))
    if len(found) > ALERT_LINES:
        file_buttons(files, f"预警清单_{period}", what="alerts")


def _bullets(found: Sequence) -> str:
    lines = [f"- {escaped(a.message)}" for a in found[:ALERT_LINES]]
    if len(found) > ALERT_LINES:
        lines.append(messages.MORE_ALERTS.format(count=len(found) - ALERT_LINES))
    return "\n".join(lines)


def _alert_list(title: str, chosen: Sequence) -> str:
    return f"**{title}（{len(chosen)}条）**\n\n{_bullets(chosen)}"


# --- Tables ------------------------------------------------------------------------------------

def show_table(frame: pd.DataFrame, period: str | None = None,
               labels: Mapping[str, str] | None = None) -> None:
    """A static table (HTML, so the meeting screen's large type applies to it)."""
    styler, _ = tables.styled(frame, period, labels)
    st.table(styler.hide(axis="index"))


def _every_row(rows: int) -> int:
    """The height (px) at which st.dataframe shows a header and `rows` rows unscrolled."""
    return (rows + 1) * ROW_PIXELS + 3


def show_matrix(table: pd.DataFrame) -> None:
    """The township × month reporting matrix, every township in view, statuses coloured
    (the townships' names defused: the index is copied out with the cells)."""
    st.dataframe(progress.styled_matrix(cell_text.defused(table)), height=_every_row(len(table)))


def show_board(frame: pd.DataFrame, period: str | None = None, height="auto",
               key: str | None = None, labels: Mapping[str, str] | None = None,
               kinds: Mapping[str, str] | None = None) -> None:
    """A frame of catalogue keys as tables.styled shapes it, sortable by value. height="all"
    shows every row without scrolling (a township table: the county's ~30 rows). A table of
    more than LARGE_TABLE_ROWS rows is formatted by column, not coloured, and scrolls."""
    large = len(frame) > LARGE_TABLE_ROWS
    if height == "all":
        height = LARGE_TABLE_HEIGHT if large else _every_row(len(frame))
    if large:
        shown, columns = tables.plain(frame, labels, kinds)
        st.caption(messages.LARGE_TABLE_NOTE.format(rows=len(frame)))
    else:
        shown, columns = tables.styled(frame, period, labels, kinds)
    config = {c.label: st.column_config.NumberColumn(
        help=c.help, width="small", format=tables.COLUMN_FORMATS[c.kind] if large else None)
        if c.numeric else st.column_config.TextColumn() for c in columns}
    st.dataframe(shown, column_config=config, hide_index=True, placeholder=NOT_AVAILABLE,
                 height=height, key=key)


# --- Map ---------------------------------------------------------------------------------------

# --- Downloads ---------------------------------------------------------------------------------

# Data leaves the app one way: through these buttons, whose files come from the defused
# writers (export, bulletin_render) and whose every click leaves an audit row. The tables'
# own "Download as CSV" (and copying out of them) is off: client.disableDataExport in
# .streamlit/config.toml.

def download_buttons(frame: pd.DataFrame, name: str, title: str,
                     kinds: Mapping[str, str] | None = None,
                     labels: Mapping[str, str] | None = None, what: str = "table") -> None:
    """CSV (UTF-8 with BOM, keys as headers) and XLSX (Chinese headers) of `frame` through
    liushou_dash.export."""
    files = {fmt: export.frame_bytes(frame, fmt, title, kinds, labels, labelled=True)
             for fmt in export.FORMATS}
    file_buttons(files, name, what)


def file_buttons(files: Mapping[str, bytes], name: str, what: str) -> None:
    """One audited download button per format of the same table."""
    with st.container(horizontal=True):
        for fmt, data in files.items():
            audited_download(f"下载 {FORMAT_NAMES[fmt]}", data, f"{name}.{fmt}", MIME_TYPES[fmt],
                             what, key=f"{name}_{fmt}")


def audited_download(label: str, data: bytes, file_name: str, mime: str, what: str,
                     detail: Mapping | None = None, where=st, **look) -> None:
    """A download button (drawn in `where`, styled by `look`) whose click records who took
    `what`: the file's name and `detail` (which filter) go into the audit row. Nobody logged
    in, no button: an unaudited download is what this is here to prevent."""
    actor = cache.current_actor()
    if actor is None:
        return
    where.download_button(label, data, file_name=file_name, mime=mime, on_click=audit_download,
                          args=(cache.engine(), actor, what),
                          kwargs={"file": file_name, **(detail or {})}, **look)


# --- The meeting screen ------------------------------------------------------------------------

LARGE_TYPE = """<style>
[data-testid="stMetricValue"] { font-size: 3rem; }
[data-testid="stMetricLabel"] p { font-size: 1.15rem; }
[data-testid="stMetricDelta"] { font-size: 1.05rem; }
[data-testid="stTable"] td, [data-testid="stTable"] th {
  font-size: 1.2rem; padding: 0.3rem 0.5rem; }
[data-testid="stTable"] p { white-space: nowrap; }
h1 { font-size: 2.6rem !important; }
</style>"""


def large_type() -> None:
    """Projector-sized text for the page that calls it (static CSS, nothing from data)."""
    st.html(LARGE_TYPE)


ROW_OF_CARDS = 9  # how many cards of LARGE_TYPE one projector row holds without cutting a value


def fit_cards(count: int) -> None:
    """LARGE_TYPE's cards scaled down so that `count` of them fit one row: a card added to
    the catalogue must not cut "98.6%" to "98.…" on the projector."""
    scale = min(1.0, ROW_OF_CARDS / max(count, 1))
    st.html(f"<style>[data-testid='stMetricValue'] {{ font-size: {3 * scale:.2f}rem; }}\n"
            f"[data-testid='stMetricDelta'] {{ font-size: {1.05 * scale:.2f}rem; }}</style>")


def as_of_text(flt: Filter) -> str:
    stamp = cache.data_as_of()
    when = (messages.NOT_AVAILABLE if stamp is None
            else f"{stamp.year}年{stamp.month}月{stamp.day}日 {stamp:%H:%M}")
    return f"{messages.DATA_AS_OF} {when}（最近一次上报、审核、退回或回退的时间）"
