"""总览 (app_pages/cockpit.py) through AppTest: the cards are the county summary (colour
by target), the alerts, the league table is the month's ranking, the trend is the county
month by month and drawn without plotly. Every number is computed here from
liushou_dash.indicators for the same filter, independently of the page."""
from __future__ import annotations

import datetime as dt

import pytest

from liushou_dash import catalog
from liushou_dash.core import filtering, periods
from liushou_dash.indicators import alerts, ranking, ratios, stored, targets
from tests.apptest import (
    DEFAULT_FROM,
    YEAR,
    account,
    card_texts,
    shown,
    table_with,
    two_townships,
    vega_charts_of,
)
from tests.apptest import app_on, demo_app  # noqa: F401  (fixtures)
from tests.demo_db import LATEST
from tests.fixtures import OTHER_TOWNSHIP, school_frame


def test_cockpit_cards_are_the_county_summary_of_the_latest_month(engine, app_on):
    april = two_townships(engine)
    own = school_frame(engine, OTHER_TOWNSHIP)

    app = app_on(engine, account(engine, "admin"))

    summary = stored.county_summary(engine, filtering.Filter(("2026-04",)))
    assert summary["left_behind"] == april.left_behind.sum() + own.left_behind.sum()
    cards = card_texts(app)
    for key in ("left_behind", "archived_rate", "paired_rate", "village_coverage",
                "disbursement_rate", "report_rate"):
        assert cards[catalog.INDICATORS_BY_KEY[key].label] == shown(key, summary[key]), key
    helps = {m.label: m.proto.help for m in app.metric}
    assert helps["建档率"].startswith(catalog.INDICATORS_BY_KEY["archived_rate"].formula())
    assert any("2026年4月" in c.value for c in app.caption)


def test_the_cockpit_of_the_demo_county(demo_app, demo_county):
    app = demo_app()

    summary = stored.county_summary(demo_county, YEAR)
    cards = card_texts(app)
    assert len(cards) == len(catalog.on(catalog.CARD))
    for card in app.metric:
        key = next(i.key for i in catalog.INDICATORS if i.label == card.label)
        assert cards[card.label] == shown(key, summary[key]), key
        status = targets.status(key, summary[key], LATEST)
        if status:
            assert card.value.startswith(f":{targets.COLOURS[status]}["), key
    assert app.query_params == {"from": DEFAULT_FROM, "to": LATEST}


def test_the_cockpit_lists_unguarded_children_and_missing_returns(demo_app, demo_county):
    app = demo_app()
    found = alerts.alerts(demo_county, LATEST, today=dt.date.today())
    unguarded = [a.message for a in found if a.kind == alerts.UNGUARDED]
    missing = [a.message for a in found if a.kind == alerts.MISSING_RETURN]
    assert unguarded and missing
    [error] = app.error
    assert all(message in error.value for message in unguarded)
    assert any(all(message in w.value for message in missing) for w in app.warning)


def test_the_cockpit_league_table_is_the_months_ranking(demo_app, demo_county):
    table = table_with(demo_app(), "综合得分")
    expected = ranking.ranking(demo_county, LATEST)
    assert list(table["乡镇"]) == list(expected["township_name"])
    assert table["综合得分"].tolist() == pytest.approx(expected["score"].tolist(), nan_ok=True)
    by_name = table.set_index("乡镇")
    month = stored.township_table(demo_county, filtering.Filter((LATEST,)))
    row = month.dropna(subset=["paired_rate"]).iloc[0]
    assert by_name.loc[row["township_name"], "结对率"] == pytest.approx(row["paired_rate"] * 100)


def test_the_cockpit_trend_is_the_county_month_by_month(demo_app, demo_county):
    [(spec, data)] = [c for c in vega_charts_of(demo_app())
                      if c[0]["title"]["text"] == "全县主要指标月度趋势"]
    series = ratios.county_by_period(stored.township_table(demo_county, YEAR))
    paired = data[data["指标"] == "结对率"]
    assert paired["比率"].tolist() == pytest.approx(series["paired_rate"].tolist())
    assert paired["月份"].tolist() == [periods.period_label(p) for p in YEAR.periods]
    assert spec["encoding"]["y"]["axis"]["format"] == ".1%"


def test_the_cockpit_loads_no_plotly(demo_app):
    """The landing page: plotly.js would cost a new tab about a second before it paints."""
    app = demo_app()
    assert app.get("vega_lite_chart") and not app.get("plotly_chart")
