"""综合得分 and the township ranking of a month (README "评分规则"; the
monthly bulletin ranks townships and names laggards).

score = Σ wᵢ · min(rateᵢ ÷ targetᵢ, 1) ÷ Σ wᵢ × 100 over the weighted indicators the township
has a value for. Weights come from rules.toml; targets are targets.target's (the catalogue's,
and for 资金拨付率 the even pace of the year, since 100% is due only in December). An
indicator without a value (its denominator is 0, e.g. no money allocated yet) drops out with
its weight rather than counting as 0, so a township is not punished for what it could not do;
a township without a return for the month gets no score and no rank (it is named under
missing returns instead). Scores are rounded to SCORE_DECIMALS before ranking, so townships
that show the same score share a rank (1, 2, 2, 4).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from liushou_dash.catalog.rules import load_rules
from liushou_dash.core import filtering, periods
from liushou_dash.indicators import stored, targets

SCORE_DECIMALS = 2


def _period(table) -> str | None:
    """The month of a one-month table or row (None when it has no period column)."""
    if isinstance(table, pd.DataFrame):
        return str(table["period"].iloc[0]) if "period" in table and len(table) else None
    return table.get("period")


def attainment(table: pd.DataFrame, weights: Mapping[str, float]) -> pd.DataFrame:
    """Each weighted rate as a share of its target, capped at 1: beating a target earns
    nothing extra, so one strong indicator cannot hide a weak one."""
    period = _period(table)
    return pd.DataFrame({
        key: (table[key].astype("float64") / targets.target(key, period)).clip(upper=1)
        for key in weights}, index=table.index)


def scores(table: pd.DataFrame, weights: Mapping[str, float]) -> pd.Series:
    """The composite score (0–100) of every row; NaN for a township without a return."""
    shares = attainment(table, weights)
    weight = pd.Series(weights, dtype="float64")
    present = shares.notna().mul(weight, axis=1).sum(axis=1)
    earned = shares.fillna(0).mul(weight, axis=1).sum(axis=1)
    score = (earned / present.where(present > 0) * 100).round(SCORE_DECIMALS)
    return score.where(table["reported"].astype("int64") > 0)


def ranks(score: pd.Series) -> pd.Series:
    """Competition ranking: equal scores share the better rank; no score, no rank."""
    return score.rank(method="min", ascending=False).astype("Int64")


def rank_townships(table: pd.DataFrame, weights: Mapping[str, float],
                   previous: pd.DataFrame | None = None) -> pd.DataFrame:
    """One month's township rows (a stored.township_table of one period) ranked: ids,
    reported, the weighted rates, score, rank, tied, previous_rank and rank_change
    (positive = moved up), and the period when the table has one. Ranked townships first,
    best first; then the unranked."""
    ids = [c for c in ("period", "township_code", "township_name") if c in table.columns]
    frame = table[[*ids, "reported", *weights]].copy()
    frame["score"] = scores(table, weights)
    frame["rank"] = ranks(frame["score"])
    frame["tied"] = frame["rank"].notna() & frame["rank"].duplicated(keep=False)
    before = pd.Series(dtype="Int64") if previous is None else ranks(
        scores(previous, weights)).set_axis(previous["township_code"])
    frame["previous_rank"] = frame["township_code"].map(before).astype("Int64")
    frame["rank_change"] = frame["previous_rank"] - frame["rank"]
    order = frame.assign(_unranked=frame["rank"].isna()).sort_values(
        ["_unranked", "rank", "township_code"], kind="stable")
    return order.drop(columns="_unranked").reset_index(drop=True)


def ranking(engine: Engine, period: str, approved_only: bool = False,
            weights: Mapping[str, float] | None = None) -> pd.DataFrame:
    """rank_townships for `period` against the month before, from the township table the
    export writes too, so the bulletin's figures are the export's."""
    weights = load_rules().weights if weights is None else weights
    previous = periods.previous_period(period)
    table = stored.township_table(engine, filtering.Filter((previous, period), approved_only=approved_only))
    return rank_townships(table[table["period"] == period].reset_index(drop=True), weights,
                          table[table["period"] == previous].reset_index(drop=True))


def shortfalls(row: Mapping, weights: Mapping[str, float]) -> list[tuple[str, float]]:
    """(indicator key, points lost) of one township, the heaviest loss first: what pulls its
    score down. Indicators without a value or at target are left out."""
    present = {k: w for k, w in weights.items() if not pd.isna(row.get(k))}
    total, period = sum(present.values()), _period(row)
    lost = []
    for key, weight in present.items():
        share = min(float(row[key]) / targets.target(key, period), 1.0)
        if share < 1:
            lost.append((key, weight / total * (1 - share) * 100))
    return sorted(lost, key=lambda item: -item[1])


def bottom(ranked: pd.DataFrame, count: int = 3) -> pd.DataFrame:
    """The `count` lowest-ranked townships (more when the last place is shared)."""
    scored = ranked[ranked["rank"].notna()]
    if scored.empty:
        return scored
    cutoff = np.sort(scored["rank"].to_numpy())[::-1][:count].min()
    return scored[scored["rank"] >= cutoff]
