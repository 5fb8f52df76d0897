"""Plotly figures built from metric frames, each with the sentence that says what it shows;
the cockpit's trend is a Vega-Lite chart instead (see VegaChart).

Rules every chart keeps (the pages rely on them): a Chinese title and axis titles, one fixed
colour per township in every chart (assigned in code order over the whole county, so a filter
never repaints a township), percentages with one decimal, money in 万元 with two decimals.
Townships run down the vertical axis, so their names stay horizontal and readable.
Only plain plotly.graph_objects traces: nothing that fetches map outlines or fonts.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from liushou_dash import catalog
from liushou_dash.catalog import columns, messages
from liushou_dash.core.periods import parse_period, period_label, span_label
from liushou_dash.indicators import composition, targets
from liushou_dash.indicators.ledger import CURVE_LABELS, DIMENSIONS, year_to_date

# Muted qualitative colours, enough for a county's townships before any repeats.
PALETTE = tuple(dict.fromkeys(qualitative.T10 + qualitative.Safe + qualitative.Vivid
                              + qualitative.Pastel))
PART_PALETTE = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2")
ALLOCATED_COLOUR, DISBURSED_COLOUR, PACE_COLOUR = "#A9B8CE", "#C0392B", "#555555"
TARGET_COLOUR = "#2E7D32"
HEIGHT = 400
ROW_HEIGHT = 24   # per township, in charts with one row per township
WAN = 10000
MONEY_HOVER = "%{x:,.2f} 万元"


@dataclass(frozen=True)
class Chart:
    figure: go.Figure
    caption: str   # one sentence under the chart: what it shows


def township_colours(townships: pd.DataFrame) -> dict[str, str]:
    """township_name -> colour, by code order over every township of the county."""
    ordered = townships.sort_values("township_code")["township_name"]
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(ordered)}


# --- Shared layout ------------------------------------------------------------------------------

def _figure(title: str, x_title: str, y_title: str, height: int = HEIGHT) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(
        title=dict(text=title, x=0, xanchor="left"), height=height,
        margin=dict(l=10, r=10, t=70, b=10), hovermode="closest",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1,
                    traceorder="normal"),
        xaxis=dict(title=dict(text=x_title)), yaxis=dict(title=dict(text=y_title)))
    return figure


def _township_figure(title: str, value_title: str, count: int) -> go.Figure:
    """Townships down the side, the first at the top."""
    figure = _figure(title, value_title, "", height=max(280, 110 + ROW_HEIGHT * count))
    figure.update_yaxes(autorange="reversed", automargin=True)
    return figure


def _is_percent(key: str) -> bool:
    return columns.column_kind(key) == columns.PERCENT


def _axis_format(key: str) -> dict:
    return dict(tickformat=".1%") if _is_percent(key) else dict(rangemode="tozero")


def _hover_value(key: str, axis: str = "y") -> str:
    if _is_percent(key):
        return f"%{{{axis}:.1%}}"
    if columns.column_kind(key) == columns.RATIO:
        return f"%{{{axis}:.1f}}"
    return f"%{{{axis}:,.0f}}"


def _unit_label(key: str) -> str:
    indicator = catalog.INDICATORS_BY_KEY.get(key)
    unit = indicator.unit if indicator else "人"
    return catalog.label_of(key) if unit == "%" else f"{catalog.label_of(key)}（{unit}）"


def month_ticks(periods: Sequence[str]) -> list[str]:
    """Short month labels: the year only under the first month and under each January."""
    ticks = []
    for i, period in enumerate(periods):
        year, month = parse_period(period)
        ticks.append(f"{month}月<br>{year}年" if i == 0 or month == 1 else f"{month}月")
    return ticks


def _span(periods: Sequence[str]) -> str:
    return span_label(periods[0], periods[-1])


def _target_line(figure: go.Figure, key: str, period: str | None, vertical: bool = False):
    goal = targets.target(key, period)
    if goal is None:
        return
    line = dict(line_dash="dash", line_color=TARGET_COLOUR,
                annotation_text=f"{messages.TARGET} {columns.format_value(key, goal)}",
                annotation_font_color=TARGET_COLOUR)
    if vertical:
        figure.add_vline(x=goal, annotation_position="top", **line)
    else:
        figure.add_hline(y=goal, annotation_position="top left", **line)


# --- Trends -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VegaChart:
    """A chart drawn by Streamlit's own Vega-Lite (st.vega_lite_chart) instead of plotly.
    For the cockpit, the page everybody lands on: a new browser tab evaluates plotly.js
    (about 1 s of a 2-core PC's main thread) before it paints anything of the page, Vega in
    a third of that (measured in bench/, page_vs_hello)."""
    data: pd.DataFrame  # long form: one row per point
    spec: dict          # Vega-Lite, without data
    caption: str        # one sentence under the chart: what it shows


TREND_MONTH, TREND_INDICATOR, TREND_VALUE, TREND_COVERAGE = "月份", "指标", "比率", "已报乡镇"


def _coverage(series: pd.DataFrame) -> list[str]:
    """"27/29" per month: how many townships each month's county figures count."""
    return [f"{int(r)}/{int(e)}" for r, e in zip(series["reported"], series["expected"])]


def coverage_note(series: pd.DataFrame) -> str:
    """The months whose county figures leave townships out (not reported, or returned),
    said under every county trend: a dip there may be the missing townships."""
    short = [f"{period_label(p)}（{c}）" for p, c, r, e in zip(
        series["period"], _coverage(series), series["reported"], series["expected"]) if r < e]
    if not short:
        return "各月均已全部乡镇计入。"
    return f"{'、'.join(short)}有乡镇未报或月报已退回，当月合计只含已报乡镇。"


def county_trend(series: pd.DataFrame, keys: Sequence[str]) -> VegaChart:
    """The county's rates month by month (`series`: ratios.county_by_period), one line per
    indicator, as a Vega-Lite chart (see VegaChart)."""
    labels = [catalog.label_of(k) for k in keys]
    months = [period_label(p) for p in series["period"]]
    data = pd.DataFrame({
        TREND_MONTH: months * len(keys),
        TREND_INDICATOR: [label for label in labels for _ in months],
        TREND_VALUE: pd.concat([series[k].astype("float64") for k in keys], ignore_index=True),
        TREND_COVERAGE: _coverage(series) * len(keys)})
    spec = {
        "title": {"text": "全县主要指标月度趋势", "anchor": "start"},
        "height": HEIGHT - 70,  # the plot area: HEIGHT is plotly's, title and margins included
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": TREND_MONTH, "type": "ordinal", "sort": months, "title": "月份",
                  "axis": {"labelAngle": 0}},
            "y": {"field": TREND_VALUE, "type": "quantitative", "title": "比率",
                  "axis": {"format": ".1%"}, "scale": {"zero": False}},
            "color": {"field": TREND_INDICATOR, "type": "nominal", "sort": labels,
                      "scale": {"domain": labels,
                                "range": [PART_PALETTE[i % len(PART_PALETTE)]
                                          for i in range(len(labels))]},
                      "legend": {"orient": "top", "title": None}},
            "tooltip": [{"field": TREND_MONTH, "type": "ordinal"},
                        {"field": TREND_INDICATOR, "type": "nominal"},
                        {"field": TREND_VALUE, "type": "quantitative", "format": ".1%"},
                        {"field": TREND_COVERAGE, "type": "nominal"}]}}
    return VegaChart(data, spec, f"{_span(series['period'].tolist())}全县{'、'.join(labels)}"
                                 "逐月变化，比率均由各乡镇分子、分母合计后重新计算，目标均为100%。"
                                 + coverage_note(series))


def count_and_rate(series: pd.DataFrame, count_key: str, rate_key: str) -> Chart:
    """A count as bars and a rate as a line on a second axis, month by month (county)."""
    count_label, rate_label = catalog.label_of(count_key), catalog.label_of(rate_key)
    figure = _figure(f"全县{count_label}与{rate_label}", "月份", _unit_label(count_key))
    months = month_ticks(series["period"])
    figure.add_trace(go.Bar(x=months, y=series[count_key].astype("float64"), name=count_label,
                            marker_color=PART_PALETTE[0],
                            hovertemplate=f"{count_label}：%{{y:,.0f}}人<extra></extra>"))
    figure.add_trace(go.Scatter(
        x=months, y=series[rate_key].astype("float64"), name=rate_label, yaxis="y2",
        mode="lines+markers", line=dict(color=PART_PALETTE[1]),
        hovertemplate=f"{rate_label}：%{{y:.1%}}<extra></extra>"))
    figure.update_layout(yaxis2=dict(title=dict(text=rate_label), overlaying="y", side="right",
                                     showgrid=False, tickformat=".1%", rangemode="tozero"))
    return Chart(figure, f"{_span(series['period'].tolist())}全县{count_label}（柱，左轴）和"
                         f"{rate_label}（线，右轴）。{coverage_note(series)}")


def township_trend(table: pd.DataFrame, key: str, colours: Mapping[str, str]) -> Chart:
    """One line per township of indicator `key` over the months of `table`."""
    label = catalog.label_of(key)
    figure = _figure(f"各乡镇{label}月度趋势", "月份", _unit_label(key), height=460)
    figure.update_yaxes(**_axis_format(key))
    figure.update_layout(legend=dict(orientation="v", x=1.02, xanchor="left", y=1,
                                     yanchor="top"))
    periods = sorted(table["period"].unique())
    for name, rows in table.groupby("township_name", sort=False):
        figure.add_trace(go.Scatter(
            x=month_ticks(periods), y=rows.set_index("period")[key].reindex(periods)
            .astype("float64"), mode="lines", name=name, line=dict(color=colours.get(name)),
            hovertemplate=f"{name}：{_hover_value(key)}<extra></extra>"))
    return Chart(figure, f"{_span(periods)}各乡镇{label}的逐月变化；点击右侧图例可隐藏乡镇，"
                         "双击只看一个乡镇，颜色在所有图中固定代表同一乡镇。")


def monthly_rates(series: pd.DataFrame, keys: Sequence[str], title: str) -> Chart:
    """Rates of the county month by month as grouped bars (e.g. reporting and on time)."""
    figure = _figure(title, "月份", "比率")
    figure.update_yaxes(tickformat=".1%", range=[0, 1.08])
    for i, key in enumerate(keys):
        figure.add_trace(go.Bar(
            x=month_ticks(series["period"]), y=series[key].astype("float64"),
            name=catalog.label_of(key), marker_color=PART_PALETTE[i],
            hovertemplate=f"{catalog.label_of(key)}：%{{y:.1%}}<extra></extra>"))
    _target_line(figure, keys[0], None)
    labels = "、".join(catalog.label_of(k) for k in keys)
    return Chart(figure, f"{_span(series['period'].tolist())}每月全县{labels}，虚线为目标值；"
                         "悬停查看数值。")


# --- Townships ----------------------------------------------------------------------------------

def township_values(table: pd.DataFrame, key: str, colours: Mapping[str, str],
                    period: str | None = None) -> Chart:
    """One bar per township of indicator `key` (one month's rows), in its township's colour,
    the townships furthest from the target at the top, with the target as a line."""
    indicator = catalog.INDICATORS_BY_KEY[key]
    shown = table[table[key].notna()].sort_values(key, ascending=indicator.better == "higher",
                                                  kind="stable")
    figure = _township_figure(f"各乡镇{indicator.label}", _unit_label(key), len(shown))
    figure.update_xaxes(**_axis_format(key))
    if _is_percent(key) and not shown.empty:  # room for the labels right of a full bar
        figure.update_xaxes(range=[0, max(1.0, float(shown[key].max())) * 1.15])
    figure.add_trace(go.Bar(
        y=shown["township_name"], x=shown[key].astype("float64"), orientation="h",
        marker_color=[colours.get(n) for n in shown["township_name"]], showlegend=False,
        texttemplate=_hover_value(key, "x"), textposition="outside", cliponaxis=False,
        customdata=_fraction(shown, indicator),
        hovertemplate=f"%{{y}}<br>{indicator.label}：{_hover_value(key, 'x')}"
                      f"{_fraction_hover(indicator)}<extra></extra>"))
    _target_line(figure, key, period, vertical=True)
    missing = len(table) - len(shown)
    note = f"；另有{missing}个乡镇无数据（未上报）" if missing else ""
    return Chart(figure, f"{_period_text(period)}各乡镇{indicator.formula()}，"
                         f"离目标最远的排在最上面{note}。")


def _fraction(rows: pd.DataFrame, indicator: catalog.Indicator):
    if not indicator.is_rate:
        return None
    return rows[[indicator.numerator, indicator.denominator]].astype("float64").to_numpy()


def _fraction_hover(indicator: catalog.Indicator) -> str:
    if not indicator.is_rate:
        return ""
    return (f"<br>{catalog.label_of(indicator.numerator)}：%{{customdata[0]:,.0f}}"
            f"<br>{catalog.label_of(indicator.denominator)}：%{{customdata[1]:,.0f}}")


def _period_text(period: str | None) -> str:
    return period_label(period) if period else ""


def stacked_parts(long: pd.DataFrame, dimension: str, period: str) -> Chart:
    """Children of each township split by the parts of one composition dimension
    (`long`: composition.by_township), townships with most children at the top."""
    order = long.groupby("township_name", sort=False)["count"].sum().sort_values(
        ascending=False).index.tolist()
    figure = _township_figure(f"各乡镇留守儿童{dimension}构成", "人数（人）", len(order))
    for i, (part, label) in enumerate(composition.DIMENSIONS[dimension].items()):
        rows = long[long["part"] == part].set_index("township_name").reindex(order)
        figure.add_trace(go.Bar(
            y=order, x=rows["count"], name=label, orientation="h",
            marker_color=PART_PALETTE[i],
            hovertemplate=f"%{{y}}<br>{label}：%{{x:,.0f}}人<extra></extra>"))
    figure.update_layout(barmode="stack")
    return Chart(figure, f"{period_label(period)}各乡镇留守儿童按{dimension}分组的人数，"
                         "条长为该乡镇留守儿童总数，留守儿童多的乡镇排在最上面。")


def composition_bars(parts: pd.DataFrame, period: str) -> Chart:
    """One 100% bar per dimension (`parts`: composition.composition)."""
    figure = _figure("留守儿童构成", "占留守儿童数的比例", "", height=300)
    figure.update_yaxes(autorange="reversed")
    for dimension, rows in parts.groupby("dimension", sort=False):
        for i, row in enumerate(rows.itertuples(index=False)):
            figure.add_trace(go.Bar(
                y=[dimension], x=[row.share], orientation="h", name=row.label,
                marker_color=PART_PALETTE[i], showlegend=False,
                text=f"{row.label} {columns.format_percent(row.share)}",
                textposition="inside", insidetextanchor="middle",
                hovertemplate=f"{dimension}·{row.label}：{columns.format_count(row.count)}人，"
                              f"{columns.format_percent(row.share)}<extra></extra>"))
    figure.update_layout(barmode="stack", xaxis=dict(tickformat=".1%", range=[0, 1]))
    return Chart(figure, f"{period_label(period)}全部留守儿童分别按监护类型、学段、性别"
                         "和父母外出情况分组的占比，每一行合计为100%；悬停查看人数。")


# --- Homes --------------------------------------------------------------------------------------

def equipment_shares(row: Mapping, labels: Mapping[str, str], period: str) -> Chart:
    """The share of homes that have each item of the equipment standard (one row of
    homes.equipment_by_township)."""
    items = list(labels)
    figure = _figure("留守儿童之家设施配备情况", "占之家总数的比例", "", height=300)
    figure.update_yaxes(autorange="reversed")
    figure.add_trace(go.Bar(
        y=[labels[i] for i in items], x=[row[i] for i in items], orientation="h",
        marker_color=PART_PALETTE[0], texttemplate="%{x:.1%}", textposition="outside",
        hovertemplate="%{y}：%{x:.1%}<extra></extra>"))
    figure.update_layout(xaxis=dict(tickformat=".1%", range=[0, 1.12]))
    return Chart(figure, f"截至{period_label(period)}，{row['township_name']}"
                         f"{row['homes']}所留守儿童之家中配有各项设施的比例。")


# --- Money --------------------------------------------------------------------------------------

def funding_bars(summary: pd.DataFrame, by: str, period: str,
                 colours: Mapping[str, str] | None = None) -> Chart:
    """Allocated (a wide grey bar) against disbursed (a narrow bar inside it) per township,
    category or source (`summary`: ledger.summary), in 万元."""
    names = summary[by].tolist()
    label = DIMENSIONS[by]
    figure = _township_figure(f"按{label}的资金下达与支出", "金额（万元）", len(names))
    figure.add_trace(go.Bar(y=names, x=summary["allocated"] / WAN, name="年度累计下达",
                            orientation="h", marker_color=ALLOCATED_COLOUR,
                            hovertemplate=f"%{{y}}<br>下达：{MONEY_HOVER}<extra></extra>"))
    disbursed = [colours.get(n) for n in names] if colours else DISBURSED_COLOUR
    figure.add_trace(go.Bar(
        y=names, x=summary["disbursed"] / WAN, orientation="h", marker_color=disbursed,
        name="年度累计支出" + ("（乡镇颜色）" if colours else ""), width=0.45,
        customdata=summary["disbursement_rate"].astype("float64"),
        hovertemplate=f"%{{y}}<br>支出：{MONEY_HOVER}<br>拨付率：%{{customdata:.1%}}"
                      "<extra></extra>"))
    figure.update_layout(barmode="overlay")
    return Chart(figure, f"{year_to_date(period)}按{label}累计下达（灰色宽条）与已支出（窄条）"
                         "的资金，单位万元，悬停可看拨付率。")


def cumulative_curve(curve: pd.DataFrame, period: str) -> Chart:
    """Money disbursed cumulated month by month against the even pace (ledger.cumulative)."""
    months = [f"{m}月" for m in curve["month"]]
    figure = _figure(f"{parse_period(period)[0]}年资金累计支出进度", "月份", "金额（万元）")
    for key, colour, dash in (("allocated", ALLOCATED_COLOUR, None),
                              ("disbursed", DISBURSED_COLOUR, None),
                              ("even_pace", PACE_COLOUR, "dash")):
        figure.add_trace(go.Scatter(
            x=months, y=curve[key] / WAN, name=CURVE_LABELS[key], mode="lines+markers",
            line=dict(color=colour, dash=dash),
            hovertemplate=f"{CURVE_LABELS[key]}：%{{y:,.2f}} 万元<extra>%{{x}}</extra>"))
    return Chart(figure, "红线为当年逐月累计支出，灰色虚线为把已下达资金在全年均衡支出时"
                         "应达到的进度，红线低于虚线即支出慢于均衡进度；浅色线为累计下达。")
