"""What the KPI cards and the league table say, as plain data (the pages only draw them).

A card shows an indicator of the county (or the chosen townships) for a month: its value
coloured against the target, the change from the month before (like for like: over the
townships that reported in both months), and as its tooltip the formula, the target and the
numerator and denominator behind the value.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from liushou_dash import catalog
from liushou_dash.catalog import columns, messages
from liushou_dash.catalog.rules import load_rules
from liushou_dash.core import periods
from liushou_dash.indicators import ranking, ratios, targets

COCKPIT_KEYS = ("left_behind", "guardian_none", "archived_rate", "paired_rate", "visit_rate",
                "contact_rate", "village_coverage", "disbursement_rate", "report_rate")
TREND_KEYS = ("archived_rate", "paired_rate", "visit_rate", "contact_rate", "report_rate")
MEETING_LEAGUE_COLUMNS = ["rank", "township_name", "score", "rank_change", "paired_rate",
                          "visit_rate"]  # what a projector has room for: the heaviest weights


@dataclass(frozen=True)
class Card:
    key: str
    label: str
    value: str          # formatted, coloured with Markdown when the indicator has a target
    delta: str | None   # the change from the previous month, formatted; None without one
    delta_color: str    # st.metric's: "normal" (up is good), "inverse" (down is good), "off"
                        # (no change: grey, and no arrow)
    help: str
    status: str | None  # targets.MET / NEAR / MISSED


def change_text(key: str, value, before) -> str | None:
    """+1.2 个百分点 for a percentage, +35 for a count, 持平 when the change does not show at
    the precision shown; None when either month lacks a value."""
    if pd.isna(value) or pd.isna(before):
        return None
    difference = float(value) - float(before)
    kind = columns.column_kind(key)
    if kind == columns.PERCENT:
        shown, unit = round(difference * 100, 1), f"{{:+.1f}} {messages.PERCENT_POINTS}"
    elif kind == columns.RATIO:
        shown, unit = round(difference, 1), "{:+.1f}"
    else:
        shown, unit = round(difference), "{:+,}"
    return _change(shown, unit)


def _change(shown: float, unit: str) -> str:
    """`shown` (a change rounded as displayed) in `unit`'s format, or 持平 when it is 0."""
    return messages.UNCHANGED if shown == 0 else unit.format(shown)


def _delta_colour(delta: str | None, better: str) -> str:
    if delta == messages.UNCHANGED:
        return "off"
    return "normal" if better == "higher" else "inverse"


def _help(indicator: catalog.Indicator, summary: Mapping, period: str) -> str:
    lines = [indicator.formula()]
    if indicator.is_rate:
        lines.append("，".join(f"{catalog.label_of(key)} "
                              f"{columns.format_value(key, summary.get(key))}"
                              for key in (indicator.numerator, indicator.denominator)))
    goal = targets.target(indicator.key, period)
    if goal is not None:
        pace = f"（{messages.EVEN_PACE}）" if indicator.key in targets.PACED else ""
        lines.append(f"{messages.TARGET}：{columns.format_value(indicator.key, goal)}{pace}")
    return "\n\n".join(lines)


def cockpit_indicators() -> tuple[str, ...]:
    """Every indicator the cockpit shows or alerts on: its cards, its league table (the
    weighted indicators and 无人监护), its alerts (the pass marks, the funds) and its trend.
    The cockpit reads only these and what they are computed from (stored.inputs_of)."""
    rules = load_rules()
    return tuple(dict.fromkeys((*COCKPIT_KEYS, *rules.weights, "guardian_none",
                                *rules.pass_marks, "disbursement_rate", *TREND_KEYS)))


def _from_returns(indicator: catalog.Indicator) -> bool:
    return indicator.numerator in columns.COUNT_KEYS


def comparable(latest: pd.DataFrame, previous: pd.DataFrame) -> tuple[dict, dict]:
    """Totals of both months over the townships that reported in both: a township missing
    in one month would otherwise show up as a fall (or rise) of all its children."""
    both = set(latest.loc[latest["reported"] > 0, "township_code"]) & set(
        previous.loc[previous["reported"] > 0, "township_code"])
    return (ratios.totals(latest[latest["township_code"].isin(both)]),
            ratios.totals(previous[previous["township_code"].isin(both)]))


@dataclass(frozen=True)
class Sums:
    """What the cards of two months add up, once for all of them: each month's totals, and
    both months' over the townships that reported in both (see `comparable`)."""
    latest: dict
    previous: dict
    latest_alike: dict
    previous_alike: dict

    @classmethod
    def of(cls, latest: pd.DataFrame, previous: pd.DataFrame) -> Sums:
        return cls(ratios.totals(latest), ratios.totals(previous),
                   *comparable(latest, previous))


def card(key: str, latest: pd.DataFrame, previous: pd.DataFrame, period: str,
         sums: Sums | None = None) -> Card:
    """The card of indicator `key` from one month's township rows and the month before's.
    Indicators from the returns change like for like (see `comparable`)."""
    indicator = catalog.INDICATORS_BY_KEY[key]
    sums = sums or Sums.of(latest, previous)
    value = ratios.indicator_value(sums.latest, indicator)
    now, before = ((sums.latest_alike, sums.previous_alike) if _from_returns(indicator)
                   else (sums.latest, sums.previous))
    delta = change_text(key, ratios.indicator_value(now, indicator),
                        ratios.indicator_value(before, indicator))
    status = targets.status(key, value, period)
    text = columns.format_value(key, value)
    shown = f":{targets.COLOURS[status]}[{text}]" if status else text
    return Card(key, indicator.label, shown, delta, _delta_colour(delta, indicator.better),
                _help(indicator, sums.latest, period), status)


def cards(latest: pd.DataFrame, previous: pd.DataFrame, period: str,
          keys: Sequence[str] = COCKPIT_KEYS) -> list[Card]:
    sums = Sums.of(latest, previous)
    return [card(key, latest, previous, period, sums) for key in keys]


def league_table(latest: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """One month's townships ranked by the composite score (ranking.rank_townships with the
    county's weights): rank, township_name, score, rank_change, then the indicators the
    score weighs and 无人监护人数."""
    weights = load_rules().weights
    ranked = ranking.rank_townships(latest.reset_index(drop=True), weights,
                                    None if previous is None else previous.reset_index(drop=True))
    values = latest.set_index("township_code")[[*weights, "guardian_none"]]
    frame = ranked[["township_code", "rank", "township_name", "score", "rank_change"]].join(
        values, on="township_code")
    return frame.drop(columns="township_code")


MONEY_KEYS = ("allocated", "disbursed")


def money_cards(latest: pd.DataFrame, previous: pd.DataFrame, period: str) -> list[Card]:
    """The fund's year to date in 万元, then the disbursement rate against the even pace.
    (January's change is from December, the previous year's ledger.)"""
    now, before = ratios.totals(latest), ratios.totals(previous)
    found = []
    for key in MONEY_KEYS:
        label = catalog.MEASURES_BY_KEY[key].label
        change = now[key] - before[key]
        delta = None if pd.isna(change) else _change(round(change / 10000, 2), "{:+,.2f} 万元")
        found.append(Card(key, label, columns.format_wan_yuan(now[key]), delta,
                          _delta_colour(delta, "higher"),
                          f"截至{periods.period_label(period)}本年度资金台账合计 "
                          f"{now[key]:,.2f} 元", None))
    return [*found, card("disbursement_rate", latest, previous, period)]
