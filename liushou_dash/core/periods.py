"""Months as the platform writes them ("YYYY-MM"): parsing, arithmetic, due dates and the
labels people read (2026年11月).
"""
from __future__ import annotations

import calendar
import datetime as dt
import re

DEFAULT_DEADLINE_DAY = 5


_PERIOD = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def period_or_none(period) -> tuple[int, int] | None:
    """(year, month) of a well-formed period; None for anything else (what a clerk typed)."""
    match = _PERIOD.fullmatch(str(period))
    return (int(match.group(1)), int(match.group(2))) if match else None


def parse_period(period: str) -> tuple[int, int]:
    parsed = period_or_none(period)
    if parsed is None:
        raise ValueError(f"月份格式应为 YYYY-MM：{period!r}")
    return parsed


def period_of(day: dt.date) -> str:
    """The month `day` falls in."""
    return period_in(day.year, day.month)


def period_in(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def first_of_year(period: str) -> str:
    """January of `period`'s year: where a year-to-date figure starts."""
    return period_in(parse_period(period)[0], 1)


def starts_year(period: str) -> bool:
    """January: a year-to-date figure has no previous month in the same year."""
    return parse_period(period)[1] == 1


def month_number(period: str) -> int:
    """Months since year 0, so that periods can be compared and subtracted as integers."""
    year, month = parse_period(period)
    return year * 12 + month - 1


def period_of_month_number(number: int) -> str:
    return period_in(number // 12, number % 12 + 1)


def periods_between(first: str, last: str) -> tuple[str, ...]:
    """Every month from `first` to `last`, both included."""
    start, end = month_number(first), month_number(last)
    if start > end:
        raise ValueError(f"起始月份 {first} 晚于结束月份 {last}")
    return tuple(period_of_month_number(n) for n in range(start, end + 1))


def previous_period(period: str) -> str:
    return period_of_month_number(month_number(period) - 1)


def next_period(period: str) -> str:
    return period_of_month_number(month_number(period) + 1)


def period_start(period: str) -> dt.date:
    return dt.date(*parse_period(period), 1)


def period_end(period: str) -> dt.date:
    year, month = parse_period(period)
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def due_date(period: str, deadline_day: int = DEFAULT_DEADLINE_DAY) -> dt.date:
    """The last day on which the return of `period` is on time: `deadline_day` of the next
    month (clamped to that month's length, so 31 means its last day)."""
    year, month = parse_period(next_period(period))
    return dt.date(year, month, min(deadline_day, calendar.monthrange(year, month)[1]))


def period_label(period: str) -> str:
    year, month = parse_period(period)
    return f"{year}年{month}月"


def span_label(first: str, last: str) -> str:
    """2025年11月至2026年10月, or one month's label."""
    return period_label(first) if first == last else f"{period_label(first)}至{period_label(last)}"
