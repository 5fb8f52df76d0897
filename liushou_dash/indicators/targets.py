"""How a value stands against its target: met, near, or missed (the colours of the cards,
the table cells and the map's judgement).

The catalogue holds the goal (建档率 100%, 人均帮扶 ≤ 3, 无人监护 0); rules.toml holds the
county's pass marks, below which a township really lags. Between the two a value is "near".
资金拨付率's goal is 100% by the year's end, so within the year it is judged against the even
pace (month ÷ 12): 60% disbursed in June is on track, in November it is not.
"""
from __future__ import annotations

import pandas as pd

from liushou_dash import catalog
from liushou_dash.catalog import messages
from liushou_dash.catalog.rules import load_rules
from liushou_dash.core import periods

MET, NEAR, MISSED = "met", "near", "missed"
LABELS = {MET: messages.TARGET_MET, NEAR: messages.TARGET_NEAR, MISSED: messages.TARGET_MISSED}
COLOURS = {MET: "green", NEAR: "orange", MISSED: "red"}   # Streamlit's named colours
CELL_STYLES = {MET: "background-color: #e2f3e5", NEAR: "background-color: #fff0d4",
               MISSED: "background-color: #fbdedd"}
# The same three hues, strong enough to fill a township on the map (a pale cell colour would
# not tell a projected township from the grey of one without data).
FILLS = {MET: "#2f9e44", NEAR: "#f59f00", MISSED: "#e03530"}
# Without a pass mark in rules.toml, a value within 5% of its target counts as near.
NEAR_SHARE = 0.05
PACED = tuple(i.key for i in catalog.INDICATORS if i.paced)  # judged against the even pace


def even_pace(period: str) -> float:
    """The share of a year's money that an even pace has spent by the end of `period`."""
    return periods.parse_period(period)[1] / 12


def target(key: str, period: str | None = None) -> float | None:
    """The value `key` should reach in `period` (None: the indicator has no target)."""
    if key in PACED and period is not None:
        return even_pace(period)
    return catalog.INDICATORS_BY_KEY[key].target


def _pass_mark(key: str, goal: float) -> float:
    mark = load_rules().pass_marks.get(key)
    return goal * (1 - NEAR_SHARE) if mark is None or key in PACED else min(mark, goal)


def status(key: str, value, period: str | None = None) -> str | None:
    """MET, NEAR or MISSED for one value of indicator `key`; None when there is no value
    or no target."""
    goal = target(key, period) if key in catalog.INDICATORS_BY_KEY else None
    if goal is None or value is None or pd.isna(value):
        return None
    value = float(value)
    better = catalog.INDICATORS_BY_KEY[key].better
    if better == "zero":
        return MET if value <= 0 else MISSED
    if better == "lower":
        return MET if value <= goal else NEAR if value <= goal * (1 + NEAR_SHARE) else MISSED
    return MET if value >= goal else NEAR if value >= _pass_mark(key, goal) else MISSED


def _threshold(key: str, value: float) -> str:
    """A threshold as a legend writes it: 90%, 83.3%, 3.15, 0人 (no trailing zeros)."""
    indicator = catalog.INDICATORS_BY_KEY[key]
    text = (f"{value * 100:.1f}" if indicator.is_percent else f"{value:.2f}").rstrip("0")
    text = text.rstrip(".")
    if indicator.is_percent:
        return f"{text}%"
    return text if indicator.is_rate else f"{text}{indicator.unit}"


def legend(key: str, period: str | None = None) -> tuple[tuple[str, str], ...]:
    """Each status `status` can give indicator `key` in `period`, with the values it covers,
    best first: ((MET, "达标 ≥100%"), (NEAR, "接近目标 90%–100%"), (MISSED, "未达标 <90%")).
    Empty when the indicator has no target. The bands are the ones `status` draws."""
    goal = target(key, period) if key in catalog.INDICATORS_BY_KEY else None
    if goal is None:
        return ()
    better = catalog.INDICATORS_BY_KEY[key].better
    if better == "zero":
        return ((MET, f"{LABELS[MET]} {_threshold(key, 0)}"),
                (MISSED, f"{LABELS[MISSED]} >{_threshold(key, 0)}"))
    if better == "lower":
        goal_text, near = _threshold(key, goal), _threshold(key, goal * (1 + NEAR_SHARE))
        return ((MET, f"{LABELS[MET]} ≤{goal_text}"),
                (NEAR, f"{LABELS[NEAR]} {goal_text}–{near}"),
                (MISSED, f"{LABELS[MISSED]} >{near}"))
    mark = _pass_mark(key, goal)
    goal_text, mark_text = _threshold(key, goal), _threshold(key, mark)
    if mark >= goal:  # a pass mark at the goal leaves nothing in between
        return ((MET, f"{LABELS[MET]} ≥{goal_text}"), (MISSED, f"{LABELS[MISSED]} <{goal_text}"))
    return ((MET, f"{LABELS[MET]} ≥{goal_text}"),
            (NEAR, f"{LABELS[NEAR]} {mark_text}–{goal_text}"),
            (MISSED, f"{LABELS[MISSED]} <{mark_text}"))


def statuses(column: pd.Series, key: str, period: str | None = None) -> pd.Series:
    return column.map(lambda value: status(key, value, period))


def cell_style(key: str, period: str | None = None):
    """A pandas Styler.map function that colours a table cell of indicator `key`."""
    return lambda value: CELL_STYLES.get(status(key, value, period), "")


def missed_count(frame: pd.DataFrame, keys, period: str | None = None) -> pd.Series:
    """How many of `keys` each row has not met (near or missed)."""
    flags = [statuses(frame[key], key, period).isin((NEAR, MISSED)) for key in keys]
    return pd.concat(flags, axis=1).sum(axis=1).astype("int64")


def below_target_first(frame: pd.DataFrame, keys, period: str | None = None,
                       first: int | None = None) -> pd.DataFrame:
    """`frame` with a `missed` column (inserted at position `first`, default last), the rows
    that miss most targets first (then the worst value of the first key), so the units that
    need a visit head the list."""
    ranked = frame.copy()
    ranked.insert(len(frame.columns) if first is None else first, "missed",
                  missed_count(frame, keys, period))
    worst = catalog.INDICATORS_BY_KEY[keys[0]]
    return ranked.sort_values(["missed", keys[0]], ascending=[False, worst.better == "higher"],
                              kind="stable", na_position="last").reset_index(drop=True)
