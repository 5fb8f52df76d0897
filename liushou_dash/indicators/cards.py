"""What the KPI cards and the league table say, as plain data (the pages only draw them).

A card shows a figure (figures.py: the one computation every surface reads) of the county
(or the chosen townships) for a month: its value coloured against the target, the change
from the month before over the same townships, and as its tooltip the formula, the parts
behind the value, the target and the basis of the change. Under the cards, one line says
which townships they cover.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from liushou_dash import catalog
from liushou_dash.catalog import columns, messages
from liushou_dash.catalog.rules import load_rules
from liushou_dash.core import periods
from liushou_dash.indicators import figures, ranking, ratios, targets

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


@dataclass(frozen=True)
class Cards:
    """A row of cards and the line under them: what they cover, and the basis of change."""
    cards: list[Card]
    note: str

    def __iter__(self):
        return iter(self.cards)

    def __len__(self) -> int:
        return len(self.cards)


def _delta_colour(delta: str | None, better: str) -> str:
    if delta == messages.UNCHANGED:
        return "off"
    return "normal" if better == "higher" else "inverse"


def _help(figure: figures.Figure, period: str) -> str:
    indicator = figure.indicator
    lines = [indicator.formula()]
    if figure.parts:
        lines.append("，".join(f"{catalog.label_of(key)} {columns.format_value(key, value)}"
                              for key, value in figure.parts.items()))
    goal = targets.target(indicator.key, period)
    if goal is not None:
        pace = f"（{messages.EVEN_PACE}）" if indicator.paced else ""
        lines.append(f"{messages.TARGET}：{columns.format_value(indicator.key, goal)}{pace}")
    lines.append(f"{figure.basis}：{columns.format_value(indicator.key, figure.previous)}")
    return "\n\n".join(lines)


def cockpit_indicators() -> tuple[str, ...]:
    """Every indicator the cockpit shows or alerts on: its cards, its league table (the
    weighted indicators and 无人监护), its alerts (the pass marks, the funds) and its trend.
    The cockpit reads only these and what they are computed from (stored.inputs_of)."""
    rules = load_rules()
    return tuple(dict.fromkeys((*catalog.on(catalog.CARD), *rules.weights, "guardian_none",
                                *rules.pass_marks, "disbursement_rate",
                                *catalog.on(catalog.TREND))))


def card(figure: figures.Figure, period: str) -> Card:
    """How a figure is drawn as a card."""
    delta = columns.change_text(figure.key, figure.value, figure.previous)
    text = figure.text
    shown = f":{targets.COLOURS[figure.status]}[{text}]" if figure.status else text
    return Card(figure.key, figure.label, shown, delta,
                _delta_colour(delta, figure.indicator.better), _help(figure, period),
                figure.status)


def note(found: figures.MonthFigures) -> str:
    """The line under the cards: coverage, then the basis of the changes (the returns' one;
    homes, funds and reporting cover every township)."""
    from_returns = [f for f in found.figures if f.indicator.from_returns]
    basis = from_returns[0].basis if from_returns else found.figures[0].basis
    return f"{found.coverage.text()}。{basis}。"


def cards(latest: pd.DataFrame, previous: pd.DataFrame, period: str,
          keys: Sequence[str] | None = None, approved_only: bool = False) -> Cards:
    """The cards of `keys` (default: the catalogue's cockpit cards) of the month, over
    approved returns only when `approved_only` (the tables were read so)."""
    found = figures.month_figures(latest, previous, period,
                                  tuple(keys or catalog.on(catalog.CARD)), approved_only)
    return Cards([card(f, period) for f in found.figures], note(found))


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


def money_cards(latest: pd.DataFrame, previous: pd.DataFrame, period: str,
                approved_only: bool = False) -> Cards:
    """The fund's year to date in 万元, then the disbursement rate against the even pace.
    (In January the ledger starts a new year: no change from December.)"""
    now, before = ratios.totals(latest), ratios.totals(previous)
    new_year = periods.starts_year(period)
    found = []
    for key in MONEY_KEYS:
        label = catalog.MEASURES_BY_KEY[key].label
        change = now[key] - before[key]
        delta = (None if new_year or pd.isna(change)
                 else columns.format_change("allocated", change))
        found.append(Card(key, label, columns.format_wan_yuan(now[key]), delta,
                          _delta_colour(delta, "higher"),
                          f"截至{periods.period_label(period)}本年度资金台账合计 "
                          f"{now[key]:,.2f} 元", None))
    rate = cards(latest, previous, period, ("disbursement_rate",), approved_only)
    return Cards([*found, *rate], rate.note)
