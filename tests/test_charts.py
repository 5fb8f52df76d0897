"""charts, maps and tables: what a reader of a chart, the map or a table is promised — Chinese
titles and axes, a sentence under every chart, one colour per township everywhere, one
decimal for percentages — and a map that asks the network for nothing."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from streamlit.elements.deck_gl_json_chart import _get_pydeck_tooltip

from liushou_dash import catalog
from liushou_dash.catalog.columns import format_percent
from liushou_dash.core import filtering, orgunits, periods
from liushou_dash.indicators import composition, homes, ledger, ratios, stored
from liushou_dash.web import charts, maps, tables
from tests.demo_db import LATEST, demo_engine  # noqa: F401  (a fixture)

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def month(demo_engine):
    return stored.township_table(demo_engine, filtering.Filter((LATEST,)))


@pytest.fixture(scope="module")
def year(demo_engine):
    return stored.township_table(
        demo_engine, filtering.Filter(periods.periods_between("2025-11", LATEST)))


@pytest.fixture(scope="module")
def colours(demo_engine):
    return charts.township_colours(orgunits.townships(demo_engine))


@pytest.fixture(scope="module")
def every_chart(demo_engine, month, year, colours):
    entries = ledger.entries(demo_engine, LATEST)
    listed = homes.home_list(demo_engine, LATEST)
    series = ratios.county_by_period(year)
    return {
        "count_and_rate": charts.count_and_rate(series, "left_behind", "left_behind_rate"),
        "township_trend": charts.township_trend(year, "left_behind", colours),
        "monthly_rates": charts.monthly_rates(series, ("report_rate", "on_time_rate"), "上报"),
        "township_values": charts.township_values(month, "paired_rate", colours, LATEST),
        "mentor_load": charts.township_values(month, "mentor_load", colours, LATEST),
        "stacked_parts": charts.stacked_parts(composition.by_township(month, "学段"), "学段",
                                              LATEST),
        "composition": charts.composition_bars(
            composition.composition(ratios.totals(month)), LATEST),
        "equipment": charts.equipment_shares(homes.county_equipment(listed),
                                             homes.EQUIPMENT_LABELS, LATEST),
        "funding": charts.funding_bars(ledger.summary(entries, "township_name"),
                                       "township_name", LATEST, colours),
        "funding_category": charts.funding_bars(ledger.summary(entries, "category"),
                                                "category", LATEST),
        "curve": charts.cumulative_curve(ledger.cumulative(entries, LATEST), LATEST),
    }


def test_every_chart_has_a_chinese_title_axes_and_a_sentence(every_chart):
    for name, chart in every_chart.items():
        layout = chart.figure.layout
        assert CJK.search(layout.title.text), name
        assert CJK.search(layout.xaxis.title.text or layout.yaxis.title.text or ""), name
        assert CJK.search(chart.caption) and chart.caption.endswith("。"), name
        assert len(chart.figure.data) > 0, name


def test_percentages_show_one_decimal(every_chart):
    assert every_chart["monthly_rates"].figure.layout.yaxis.tickformat == ".1%"
    bars = every_chart["township_values"].figure
    assert bars.layout.xaxis.tickformat == ".1%"
    assert ":.1%}" in bars.data[0].hovertemplate and bars.data[0].texttemplate == "%{x:.1%}"


def test_the_cockpit_trend_draws_each_rate_of_each_month_in_chinese(year):
    series = ratios.county_by_period(year)
    keys = ("archived_rate", "paired_rate")
    chart = charts.county_trend(series, keys)
    spec, data = chart.spec, chart.data

    assert CJK.search(spec["title"]["text"]) and chart.caption.endswith("。")
    for axis in ("x", "y"):
        assert CJK.search(spec["encoding"][axis]["title"])
    assert spec["encoding"]["y"]["axis"]["format"] == ".1%"
    assert spec["encoding"]["tooltip"][2]["format"] == ".1%"
    assert spec["encoding"]["tooltip"][3]["field"] == charts.TREND_COVERAGE   # "27/29" a month
    assert list(data[charts.TREND_COVERAGE][:len(series)]) == [
        f"{r}/{e}" for r, e in zip(series["reported"], series["expected"])]
    assert spec["encoding"]["x"]["sort"] == [periods.period_label(p) for p in series["period"]]
    assert len(data) == len(series) * len(keys)
    for key in keys:  # every point is the county's rate of that month
        drawn = data[data[charts.TREND_INDICATOR] == catalog.label_of(key)]
        assert list(drawn[charts.TREND_MONTH]) == [periods.period_label(p)
                                                   for p in series["period"]]
        np.testing.assert_allclose(drawn[charts.TREND_VALUE], series[key].astype(float))
    assert spec["encoding"]["color"]["scale"]["domain"] == [catalog.label_of(k) for k in keys]
    assert "data" not in spec  # the rows travel as Arrow, beside the spec


def test_a_township_keeps_its_colour_whatever_else_is_chosen(demo_engine, month, colours):
    chosen = month[month["township_code"].isin(["520525108", "520525101"])]
    wide = charts.township_values(month, "paired_rate", colours, LATEST).figure.data[0]
    narrow = charts.township_values(chosen, "paired_rate", colours, LATEST).figure.data[0]
    everywhere = dict(zip(wide.y, wide.marker.color))
    for name, colour in zip(narrow.y, narrow.marker.color):
        assert everywhere[name] == colour == colours[name]
    assert len(set(colours.values())) == len(colours)  # no two townships share a colour


def test_township_bars_carry_the_table_values_worst_first(month, every_chart):
    bars = every_chart["township_values"].figure.data[0]
    expected = month.dropna(subset=["paired_rate"]).sort_values("paired_rate")
    assert list(bars.y) == list(expected["township_name"])
    assert np.allclose(bars.x, expected["paired_rate"].astype(float))
    assert bars.customdata[0][0] == expected["paired"].iloc[0]   # the hover's numerator
    load = every_chart["mentor_load"].figure.data[0]
    assert load.x[0] == max(load.x)    # per-head load: the highest is the worst


def test_money_is_shown_in_wan_yuan(month, every_chart):
    funding = every_chart["funding"].figure
    allocated = dict(zip(funding.data[0].y, funding.data[0].x))
    row = month.iloc[0]
    assert allocated[row["township_name"]] == pytest.approx(row["allocated"] / 10000)
    assert "万元" in funding.layout.xaxis.title.text
    assert ":,.2f} 万元" in funding.data[1].hovertemplate


def test_month_ticks_name_the_year_only_where_it_changes():
    assert charts.month_ticks(["2025-11", "2025-12", "2026-01", "2026-02"]) == [
        "11月<br>2025年", "12月", "1月<br>2026年", "2月"]


# --- The map -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def township_map(demo_engine, month):
    return maps.township_map(orgunits.boundaries(demo_engine), month, "paired_rate", LATEST,
                             homes=homes.home_list(demo_engine, LATEST),
                             schools=orgunits.schools(demo_engine))


def test_the_map_needs_no_base_map_no_tiles_and_no_style(township_map):
    spec = json.loads(township_map.deck.to_json())
    assert "mapStyle" not in spec and "mapProvider" not in spec
    assert [view["@@type"] for view in spec["views"]] == ["OrthographicView"]
    assert not re.search(r"https?://", township_map.deck.to_json())


def test_the_tooltip_says_name_value_and_fraction_in_chinese(township_map, month):
    # the tooltip as Streamlit hands it to deck.gl: plain text, never HTML
    assert _get_pydeck_tooltip(township_map.deck) == {"text": "{tooltip}"}
    spec = json.loads(township_map.deck.to_json())
    polygons = next(layer for layer in spec["layers"] if layer["id"] == "townships")
    row = month.dropna(subset=["paired_rate"]).iloc[0]
    tooltip = next(p["tooltip"] for p in polygons["data"]
                   if p["tooltip"].startswith(row["township_name"] + "\n"))
    judged = "达标" if row["paired_rate"] >= 1 else "接近目标" if row["paired_rate"] >= 0.9 \
        else "未达标"                 # the table cell's judgement, with rules.toml's 90% mark
    assert tooltip == (f"{row['township_name']}\n结对率：{format_percent(row['paired_rate'])}"
                       f"（{judged}）"
                       f"\n已结对帮扶/留守儿童数：{row['paired']:,} / {row['left_behind']:,}")


def test_homes_and_schools_are_layers_of_their_own(township_map, demo_engine):
    ids = [layer.id for layer in township_map.deck.layers]
    assert ids == ["townships", "homes", "schools", "names"]
    without = maps.township_map(orgunits.boundaries(demo_engine),
                                stored.township_table(demo_engine, filtering.Filter((LATEST,))),
                                "left_behind", LATEST)
    assert [layer.id for layer in without.deck.layers] == ["townships", "names"]
    assert [e.colour for e in without.legend[:5]] == list(maps.DESCRIBED)


def test_classes_are_equal_intervals_over_the_values():
    values = pd.Series([0.5, 0.6, 0.7, 0.8, 0.9, 1.0, np.nan])
    edges = maps.class_edges(values)
    assert np.allclose(edges, np.linspace(0.5, 1.0, 6))
    assert list(maps.classify(values, edges)) == [0, 1, 2, 3, 4, 4, -1]
    assert list(maps.classify(pd.Series([0.7, 0.7]), maps.class_edges(
        pd.Series([0.7, 0.7])))) == [0, 0]


def test_labels_that_would_overlap_are_left_out_larger_townships_first():
    labels = [{"position": [0, 0], "name": "小镇", "area": 1.0},
              {"position": [0.1, 0], "name": "大乡", "area": 50.0},
              {"position": [100, 100], "name": "远乡", "area": 5.0}]
    assert [label["name"] for label in maps.unclashing(labels, zoom=3)] == ["大乡", "远乡"]


# --- Tables -------------------------------------------------------------------------------------

def test_a_table_keeps_numbers_to_sort_by_and_formats_them_for_reading(month):
    frame = month[["township_name", "left_behind", "paired_rate", "allocated"]]
    styler, columns = tables.styled(frame, LATEST)
    assert [c.label for c in columns] == ["乡镇", "留守儿童数", "结对率", "年度累计下达资金（万元）"]
    shown = styler.data
    assert shown["结对率"].iloc[0] == pytest.approx(month["paired_rate"].iloc[0] * 100)
    assert shown["年度累计下达资金（万元）"].iloc[0] == pytest.approx(month["allocated"].iloc[0] / 1e4)
    html = styler.to_html()
    assert format_percent(month["paired_rate"].iloc[0]) in html
    assert "background-color" in html          # cells coloured against the target
    assert columns[2].help == catalog.INDICATORS_BY_KEY["paired_rate"].formula()
