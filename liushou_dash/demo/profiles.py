"""The demo window and how each township behaves in it: which townships lag, submit late,
skip a month or have not yet sent the latest one."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from liushou_dash.core.periods import month_number, period_of, period_of_month_number

# Left-behind share of enrolment by kind of township: towns keep more parents at home.
SHARE_BY_KIND = {"街道": 0.27, "镇": 0.35, "乡": 0.41}


def demo_periods(months: int, today: dt.date) -> list[str]:
    """`months` periods (YYYY-MM) ending with the last complete month before `today`."""
    last = month_number(period_of(today)) - 1
    return [period_of_month_number(n) for n in range(last - months + 1, last + 1)]


def window_progress(n_periods: int) -> np.ndarray:
    """0 at the first period, 1 at the last: the position of a month in the demo window."""
    return np.linspace(0.0, 1.0, n_periods) if n_periods > 1 else np.ones(1)


def township_kind(name: str) -> str:
    return "街道" if name.endswith("街道") else "乡" if name.endswith("乡") else "镇"


@dataclass(frozen=True)
class Profile:
    """How one township behaves over the demo window."""
    code: str
    name: str
    kind: str
    share: float                          # its typical left-behind share of enrolment
    lagging: bool = False                 # low pairing and visiting, slow homes, slow spending
    late_prone: bool = False              # usually submits after the deadline
    skipped: frozenset[int] = frozenset()  # period indexes with no submission at all
    latest_missing: bool = False          # the latest month is not yet in
    returned_latest: bool = False         # the county sent the latest month back

    @property
    def clerk(self) -> str:
        return f"clerk{self.code[-3:]}"


def township_profiles(townships: pd.DataFrame, n_periods: int,
                      rng: np.random.Generator) -> dict[str, Profile]:
    """Give a handful of townships each kind of misbehaviour, drawn from disjoint groups
    (except that one late township has also not yet sent its latest month)."""
    codes = list(townships["code"])
    names = dict(zip(townships["code"], townships["name"]))
    rural = [c for c in codes if township_kind(names[c]) != "街道"]
    lagging = {str(c) for c in rng.choice(rural, size=3, replace=False)}
    order = [str(c) for c in rng.permutation(codes)]
    late, skippers, returned = order[:3], order[3:5], order[5:7]
    latest_missing = {late[0], skippers[0]}
    profiles = {}
    for code in codes:
        kind = township_kind(names[code])
        skipped = frozenset()
        if code in skippers and n_periods >= 3:
            # "now and then": about one month in eight, never the first or the latest
            count = max(1, round((n_periods - 2) / 8))
            skipped = frozenset(int(i) for i in rng.choice(
                np.arange(1, n_periods - 1), size=count, replace=False))
        profiles[code] = Profile(
            code=code, name=names[code], kind=kind,
            share=float(np.clip(SHARE_BY_KIND[kind] + rng.normal(0, 0.03), 0.22, 0.46)),
            lagging=code in lagging, late_prone=code in late, skipped=skipped,
            latest_missing=code in latest_missing,
            returned_latest=code in returned)
    return profiles
