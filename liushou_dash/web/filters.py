"""The dashboards' global filter as the user picks it, and its round trip through the URL.

A `Selection` is what the sidebar widgets hold (a month range, townships, school types,
approved data only); `Options` is what the database lets them pick. Both are plain data, so
the parsing of a pasted link is tested without Streamlit. Every value is always written into
the query string (not only the non-default ones), so a link copied today still opens the same
months after next month's returns arrive and the default moves on.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from liushou_dash import catalog
from liushou_dash.core.filtering import Filter
from liushou_dash.core.periods import periods_between

QUERY_FROM, QUERY_TO, QUERY_TOWNSHIP, QUERY_TYPE, QUERY_APPROVED = (
    "from", "to", "township", "type", "approved")
QUERY_KEYS = (QUERY_FROM, QUERY_TO, QUERY_TOWNSHIP, QUERY_TYPE, QUERY_APPROVED)
TRUE_WORDS = ("1", "true", "yes", "是")
TREND_MONTHS = 12  # the default range: a year of trend ending with the latest month


@dataclass(frozen=True)
class Selection:
    """The filter as picked: () means every township / every school type."""
    period_from: str
    period_to: str
    townships: tuple[str, ...] = ()
    school_types: tuple[str, ...] = ()
    approved_only: bool = False

    def to_filter(self) -> Filter:
        return Filter.between(self.period_from, self.period_to,
                              townships=self.townships or None,
                              school_types=self.school_types or None,
                              approved_only=self.approved_only)

    def to_query(self) -> dict[str, str | list[str]]:
        """The query string's parameters; repeated keys for the lists."""
        query: dict[str, str | list[str]] = {QUERY_FROM: self.period_from,
                                             QUERY_TO: self.period_to}
        if self.townships:
            query[QUERY_TOWNSHIP] = list(self.townships)
        if self.school_types:
            query[QUERY_TYPE] = list(self.school_types)
        if self.approved_only:
            query[QUERY_APPROVED] = "1"
        return query


@dataclass(frozen=True)
class Options:
    """What can be picked: the months from the first to the latest with data, the county's
    townships (codes, in code order) and the school types of the catalogue."""
    periods: tuple[str, ...]
    townships: tuple[str, ...]
    school_types: tuple[str, ...] = catalog.SCHOOL_TYPES

    @classmethod
    def spanning(cls, first: str, latest: str, townships: Iterable[str]) -> Options:
        return cls(periods_between(first, latest), tuple(townships))

    def default(self) -> Selection:
        start = self.periods[max(0, len(self.periods) - TREND_MONTHS)]
        return Selection(start, self.periods[-1])

    def parse(self, query: Mapping[str, Iterable[str]]) -> Selection:
        """The selection a query string asks for. Whatever is missing, unknown or malformed
        (a hand-edited or outdated link) falls back to the default rather than failing."""
        default = self.default()
        first = self._period(query, QUERY_FROM, default.period_from)
        last = self._period(query, QUERY_TO, default.period_to)
        first, last = min(first, last), max(first, last)
        return Selection(first, last, self._known(query, QUERY_TOWNSHIP, self.townships),
                         self._known(query, QUERY_TYPE, self.school_types),
                         _last(query, QUERY_APPROVED, "").strip().lower() in TRUE_WORDS)

    def _period(self, query, key: str, default: str) -> str:
        value = _last(query, key, default)
        return value if value in self.periods else default

    @staticmethod
    def _known(query, key: str, choices: tuple[str, ...]) -> tuple[str, ...]:
        """The values of `key` that are among `choices`, in the choices' order."""
        wanted = set(_values(query, key))
        return tuple(choice for choice in choices if choice in wanted)


def _values(query: Mapping[str, Iterable[str]], key: str) -> list[str]:
    values = query.get(key, ())
    return [values] if isinstance(values, str) else list(values)


def _last(query: Mapping[str, Iterable[str]], key: str, default: str) -> str:
    values = _values(query, key)
    return values[-1] if values else default


def restrict(table: pd.DataFrame, townships: tuple[str, ...] | None) -> pd.DataFrame:
    """The rows of the chosen townships. Every township's numbers are computed on their own,
    so restricting a county-wide table equals asking SQL for those townships; the pages read
    the county once and switch townships without reading again."""
    if townships is None:
        return table.reset_index(drop=True)
    return table[table["township_code"].isin(townships)].reset_index(drop=True)
