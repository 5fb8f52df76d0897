"""kpi: what the cards say (value, colour, change from last month, tooltip) and the league
table, against metrics and ranking for the same months."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from liushou_dash import catalog
from liushou_dash.catalog import columns
from liushou_dash.core import filtering
from liushou_dash.indicators import cards, ranking, stored, targets
from tests.demo_db import LATEST, PREVIOUS, demo_engine  # noqa: F401  (a fixture)


@pytest.fixture(scope="module")
def months(demo_engine):
    table = stored.township_table(demo_engine, filtering.Filter((PREVIOUS, LATEST)))
    return (table[table["period"] == LATEST].reset_index(drop=True),
            table[table["period"] == PREVIOUS].reset_index(drop=True))


def test_card_values_are_the_county_summary_coloured_against_the_target(demo_engine, months):
    summary = stored.county_summary(demo_engine, filtering.Filter((LATEST,)))
    for card in cards.cards(*months, LATEST):
        text = columns.format_value(card.key, summary[card.key])
        status = targets.status(card.key, summary[card.key], LATEST)
        assert card.status == status
        assert card.value == (f":{targets.COLOURS[status]}[{text}]" if status else text)
        assert card.label == catalog.INDICATORS_BY_KEY[card.key].label
        assert card.help.startswith(catalog.INDICATORS_BY_KEY[card.key].formula())


def one(key, latest, previous):
    (card,) = cards.cards(latest, previous, LATEST, (key,))
    return card


def test_changes_compare_the_townships_counted_this_month(months):
    """Last month is taken over the townships counted now (the demo has townships missing
    and returned in the latest month); the note under the cards says so."""
    latest, previous = months
    counted = set(latest.loc[latest["reported"] > 0, "township_code"])
    assert len(counted) < len(latest)
    now = latest[latest["township_code"].isin(counted)]
    before = previous[previous["township_code"].isin(counted) & (previous["reported"] > 0)]
    fresh = now[~now["township_code"].isin(before["township_code"])]
    then = pd.concat([before, fresh])
    change = int(now["left_behind"].sum()) - int(then["left_behind"].sum())
    card = one("left_behind", latest, previous)
    assert card.delta == (f"{change:+,}" if change else "持平")
    assert card.delta_color in ("inverse", "off")   # fewer left-behind children is better
    rate = (now["paired"].sum() / now["left_behind"].sum()
            - then["paired"].sum() / then["left_behind"].sum())
    assert one("paired_rate", latest, previous).delta == f"{rate * 100:+.1f} 个百分点"
    note = cards.cards(latest, previous, LATEST).note
    assert f"{len(counted)}/{len(latest)}个乡镇已报" in note
    assert f"按本月已报的{len(counted)}个乡镇同口径" in note


def test_the_reporting_rate_changes_over_every_township(months):
    latest, previous = months
    change = latest["reported"].mean() - previous["reported"].mean()
    assert one("report_rate", latest, previous).delta == (
        f"{change * 100:+.1f} 个百分点")


def test_a_change_too_small_to_show_is_no_change():
    assert columns.change_text("paired_rate", 0.95001, 0.95) == "持平"
    assert columns.change_text("left_behind", 12, 12) == "持平"
    assert columns.change_text("mentor_load", 2.51, 2.49) == "持平"
    assert columns.change_text("paired_rate", 0.96, 0.95) == "+1.0 个百分点"
    assert columns.change_text("left_behind", 1200, 1234) == "-34"
    assert columns.change_text("paired_rate", 0.9, math.nan) is None


def test_money_cards_show_wan_yuan_and_the_paced_disbursement_rate(months):
    latest, previous = months
    allocated, disbursed, rate = cards.money_cards(latest, previous, LATEST)
    assert allocated.value == columns.format_wan_yuan(latest["allocated"].sum())
    assert f"{latest['disbursed'].sum():,.2f} 元" in disbursed.help
    assert rate.key == "disbursement_rate" and "均衡进度" in rate.help


def test_the_league_table_is_the_ranking_of_the_month(demo_engine, months):
    league = cards.league_table(*months)
    expected = ranking.ranking(demo_engine, LATEST)
    assert list(league["township_name"]) == list(expected["township_name"])
    assert league["score"].tolist() == pytest.approx(expected["score"].tolist(), nan_ok=True)
    assert league["rank"].astype("float").tolist() == pytest.approx(
        expected["rank"].astype("float").tolist(), nan_ok=True)
    assert list(league.columns[:4]) == ["rank", "township_name", "score", "rank_change"]
    assert "guardian_none" in league.columns
