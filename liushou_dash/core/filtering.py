"""The filter every reader is asked for: months, townships, school types, approved data only.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from liushou_dash.core.periods import parse_period, periods_between


def _optional_tuple(values: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)


@dataclass(frozen=True)
class Filter:
    """What every reader is asked for. None means "all" (townships, school types)."""
    periods: tuple[str, ...]
    townships: tuple[str, ...] | None = None
    school_types: tuple[str, ...] | None = None
    approved_only: bool = False

    def __post_init__(self):
        # Sorted and deduplicated so that equal filters hash equally (Streamlit's cache key).
        periods = tuple(sorted(set(self.periods)))
        if not periods:
            raise ValueError("至少选择一个月份")
        for period in periods:
            parse_period(period)
        object.__setattr__(self, "periods", periods)
        object.__setattr__(self, "townships", _optional_tuple(self.townships))
        object.__setattr__(self, "school_types", _optional_tuple(self.school_types))

    @classmethod
    def between(cls, first: str, last: str, **options) -> Filter:
        return cls(periods_between(first, last), **options)

    @property
    def latest(self) -> str:
        return self.periods[-1]

    def only(self, period: str) -> Filter:
        return replace(self, periods=(period,))
