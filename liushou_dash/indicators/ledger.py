"""The special fund's ledger (资金台账) as of a month: the entries, allocated against
disbursed by township, category or source, and the cumulative curve through the year.

Entries are those township_table sums into `allocated` and `disbursed`: the ledger of each
township's current submission as of the month within its year, dated up to the month's end.
Amounts stay in yuan here; the pages show 万元 for summaries and exact yuan for entries.
"""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from sqlalchemy import Float, cast, select
from sqlalchemy.engine import Engine

from liushou_dash import catalog
from liushou_dash.catalog import columns
from liushou_dash.catalog.columns import MONEY
from liushou_dash.core import periods
from liushou_dash.core.filtering import Filter
from liushou_dash.core.models import FundingEntry, Township
from liushou_dash.core.periods import period_in
from liushou_dash.indicators import readers

ENTRY_KEYS = tuple(f.key for f in catalog.FUNDING.fields)
DIMENSIONS = {"township_name": "乡镇", "category": catalog.FUNDING.field("category").label,
              "source": catalog.FUNDING.field("source").label}
CURVE_LABELS = {"disbursed": "累计支出", "allocated": "累计下达", "even_pace": "均衡进度"}


def entries(engine: Engine, period: str, approved_only: bool = False) -> pd.DataFrame:
    """Every ledger entry of the county for the year of `period` up to its end, by township,
    date and voucher: township_code, township_name and the sheet's columns (amount in yuan)."""
    chosen = readers.sheet_submissions(engine, Filter((period,), approved_only=approved_only),
                                       "funding")
    funding = FundingEntry.__table__
    columns = [funding.c[key] if key != "amount" else cast(funding.c.amount, Float).label(key)
               for key in ENTRY_KEYS]
    statement = (select(funding.c.township_code, Township.name.label("township_name"), *columns)
                 .join(Township, Township.code == funding.c.township_code)
                 .where(funding.c.submission_id.in_([int(i) for i in chosen["submission_id"]]),
                        funding.c.date <= periods.period_end(period))
                 .order_by(funding.c.township_code, funding.c.date, funding.c.id))
    with engine.connect() as conn:
        result = conn.execute(statement)
        return pd.DataFrame(result.all(), columns=list(result.keys()))


def summary(ledger: pd.DataFrame, by: str) -> pd.DataFrame:
    """allocated, disbursed and disbursement_rate per value of `by` (a DIMENSIONS key)."""
    sums = ledger.pivot_table(index=by, columns="kind", values="amount", aggfunc="sum",
                              fill_value=0.0, observed=True)
    sums = sums.reindex(columns=list(catalog.FUNDING_KINDS), fill_value=0.0)
    sums.columns = ["allocated", "disbursed"]
    frame = sums.reindex(_dimension_order(by, ledger[by].unique())).reset_index()
    rate = catalog.INDICATORS_BY_KEY["disbursement_rate"]
    return frame.assign(disbursement_rate=frame[rate.numerator]
                        / frame[rate.denominator].where(frame[rate.denominator] > 0))


def _dimension_order(by: str, present: Iterable[str]) -> list[str]:
    """Categories and sources in the catalogue's order; townships as the ledger lists them
    (by code)."""
    present = list(present)
    choices = {"category": catalog.FUNDING_CATEGORIES, "source": catalog.FUNDING_SOURCES}
    if by not in choices:
        return present
    return [c for c in choices[by] if c in present] + [c for c in present
                                                       if c not in choices[by]]


def cumulative(ledger: pd.DataFrame, period: str) -> pd.DataFrame:
    """One row per month of the year of `period`: month (1–12), allocated and disbursed
    cumulated to the month's end (missing after `period`), and even_pace, the money an even
    spending of everything allocated so far would have disbursed by then."""
    year, last = periods.parse_period(period)
    dates = pd.to_datetime(ledger["date"])
    months = pd.Series(range(1, 13), name="month")
    monthly = (ledger.assign(month=dates.dt.month)
               .pivot_table(index="month", columns="kind", values="amount", aggfunc="sum",
                            fill_value=0.0)
               .reindex(index=months, columns=list(catalog.FUNDING_KINDS), fill_value=0.0)
               .cumsum())
    allocated_so_far = float(ledger.loc[ledger["kind"] == catalog.ALLOCATED_KIND, "amount"].sum())
    frame = pd.DataFrame({"month": months,
                          "allocated": monthly[catalog.ALLOCATED_KIND].to_numpy(),
                          "disbursed": monthly[catalog.DISBURSED_KIND].to_numpy(),
                          "even_pace": allocated_so_far * months / 12})
    future = frame["month"] > last
    frame.loc[future, ["allocated", "disbursed"]] = float("nan")
    return frame.assign(period=[period_in(year, m) for m in months])


def pick(ledger: pd.DataFrame, kinds=(), sources=(), categories=(), text: str = "") -> pd.DataFrame:
    """The entries of the chosen kinds, sources and categories (empty: all) whose summary or
    voucher contains `text`."""
    chosen = pd.Series(True, index=ledger.index)
    for column, values in (("kind", kinds), ("source", sources), ("category", categories)):
        if values:
            chosen &= ledger[column].isin(values)
    text = text.strip()
    if text:
        words = ledger["description"].fillna("") + " " + ledger["voucher"].fillna("")
        chosen &= words.str.contains(text, regex=False)
    return ledger[chosen].reset_index(drop=True)


ENTRY_COLUMNS = ["township_name", *ENTRY_KEYS]
ENTRY_KINDS = {"amount": columns.YUAN}  # exact yuan, as the ledger has it
EXPORT_KINDS = {"amount": MONEY}  # in the files: two decimals


def year_to_date(period: str) -> str:
    """2026年1月至10月: the span a ledger as of `period` covers."""
    year, month = periods.parse_period(period)
    return f"{year}年1月至{month}月"


def readable(ledger: pd.DataFrame) -> pd.DataFrame:
    """The entries' columns for people, dates as text."""
    frame = ledger[ENTRY_COLUMNS].copy()
    frame["date"] = frame["date"].map(str)
    return frame
