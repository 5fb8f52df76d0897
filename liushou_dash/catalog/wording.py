"""Numbers as running Chinese text (the bulletin, alerts and checks): the same values the
pages show through catalog/columns.format_*, without the space a table cell puts before a unit."""
from __future__ import annotations

import pandas as pd

from liushou_dash.catalog import messages
from liushou_dash.catalog.columns import (
    MISSING_TEXT,
    format_count,
    format_percent,
    format_wan_yuan,
)

count = format_count
percent = format_percent


def wan_yuan(value) -> str:
    return format_wan_yuan(value).replace(" ", "")


def change(value, unit: str = "人") -> str:
    """增加/减少 N 人, or 持平."""
    if pd.isna(value):
        return MISSING_TEXT
    if round(float(value)) == 0:
        return messages.UNCHANGED
    return f"{'增加' if value > 0 else '减少'}{format_count(abs(value))}{unit}"


def points_change(value) -> str:
    """A change of a rate, in percentage points: 提高/下降 N 个百分点, or 持平."""
    if pd.isna(value):
        return MISSING_TEXT
    points = round(float(value) * 100, 1)
    if points == 0:
        return messages.UNCHANGED
    return f"{'提高' if points > 0 else '下降'}{abs(points):.1f}个百分点"


def date_text(day) -> str:
    """2026年11月5日 (no leading zeros, as official documents write dates)."""
    return f"{day.year}年{day.month}月{day.day}日"


def month_day(day) -> str:
    """11月17日: a date within the bulletin's own season, where the year goes without saying."""
    return f"{day.month}月{day.day}日"


def place(township_name: str, school_name: str | None) -> str:
    """A school named so a reader knows where it is, without repeating a township that the
    school's full name (纳雍县阳长镇…小学) already carries."""
    if not school_name:
        return township_name
    return school_name if township_name in school_name else f"{township_name}{school_name}"
