"""Measures and indicators: what the dashboards, the bulletin and the map compute from the
fields (see fields.py), each declared once."""
from __future__ import annotations

from dataclasses import dataclass

from liushou_dash.catalog.fields import (
    SCHOOL_COUNT_KEYS,
    SCHOOL_TALLY_KEYS,
    SHEETS,
    TALLY_LABELS,
)

# --- Measures and indicators -------------------------------------------------------------

@dataclass(frozen=True)
class Measure:
    """A summable quantity per org unit and period that is not a raw school count."""
    key: str
    label: str
    unit: str = "个"
    money: bool = False
    over_time: str = "last"  # a stock "as of" the month; reporting counts add up ("sum")
    year_to_date: bool = False  # counted from January (the ledger's year)
    stored: bool = True      # False: judged when read (on_time by the deadline of the day,
                             # returned by the review status), not a stored column


MEASURES = (
    Measure("villages", "村(居)数"),
    Measure("villages_with_home", "有之家的村(居)数"),
    Measure("schools", "学校数", unit="所"),
    Measure("schools_with_home", "有之家的学校数", unit="所"),
    Measure("homes", "留守儿童之家数"),
    Measure("homes_standardized", "标准化之家数"),
    Measure("allocated", "年度累计下达资金", unit="元", money=True, year_to_date=True),
    Measure("disbursed", "年度累计支出资金", unit="元", money=True, year_to_date=True),
    Measure("expected", "应报单位数", over_time="sum"),
    Measure("reported", "已报单位数", over_time="sum"),
    Measure("on_time", "按时上报单位数", over_time="sum", stored=False),
    Measure("returned", "已退回待重报单位数", over_time="sum", stored=False),
)
MEASURES_BY_KEY = {m.key: m for m in MEASURES}


# Where an indicator is shown. Every surface reads this declaration: the cockpit's and the
# meeting screen's cards, the trend charts (cockpit and bulletin), the bulletin's 表1 主要指标
# (and its workbook, and `figures --json`), the map's choices. The ranking's indicators and
# weights, and the pass marks of the alerts, are the county's and live in rules.toml.
CARD, TREND, BULLETIN, MAP = "card", "trend", "bulletin", "map"
SURFACES = (CARD, TREND, BULLETIN, MAP)


@dataclass(frozen=True)
class Indicator:
    key: str
    label: str
    numerator: str                     # a school count key or a measure key
    denominator: str | None = None     # None: the indicator is the numerator itself
    target: float | None = None
    better: str = "higher"             # "higher", "lower" or "zero" (alert above 0)
    unit: str = "%"                    # "%" for shares; "人" for counts and per-head ratios
    levels: tuple[str, ...] = ("township", "school")
    surfaces: tuple[str, ...] = (MAP,)
    short_label: str = ""              # for narrow columns (the ranking's); the label if empty
    approved_label: str = ""           # its name over approved returns only, if it differs
    year_to_date: bool = False         # counted from January: not comparable across a new year
    paced: bool = False                # the target is reached by the year's end: within the
                                       # year a value is judged against the even pace

    def __post_init__(self):
        unknown = set(self.surfaces) - set(SURFACES)
        if unknown:
            raise ValueError(f"{self.key}: unknown surfaces {sorted(unknown)}")

    @property
    def short(self) -> str:
        return self.short_label or self.label

    @property
    def is_rate(self) -> bool:
        return self.denominator is not None

    @property
    def is_percent(self) -> bool:
        return self.is_rate and self.unit == "%"

    @property
    def from_returns(self) -> bool:
        """Computed from the schools' returns (not homes, funds or reporting): it covers
        the townships whose return is counted."""
        return self.numerator in (*SCHOOL_COUNT_KEYS, *SCHOOL_TALLY_KEYS)

    def formula(self) -> str:
        """The formula in words, shown to users as a tooltip."""
        num = label_of(self.numerator)
        if not self.is_rate:
            return f"{self.label} = Σ {num}"
        return f"{self.label} = {num} ÷ {label_of(self.denominator)}"


_EVERYWHERE = (CARD, TREND, BULLETIN, MAP)

INDICATORS = (
    Indicator("left_behind", "留守儿童数", "left_behind", better="lower", unit="人",
              surfaces=(CARD, BULLETIN, MAP)),
    Indicator("left_behind_rate", "留守率", "left_behind", "students", better="lower"),
    Indicator("both_away_share", "双亲外出占比", "both_parents_away", "left_behind",
              better="lower"),
    Indicator("guardian_none", "无人监护人数", "guardian_none", target=0, better="zero",
              unit="人", surfaces=(CARD, BULLETIN, MAP)),
    Indicator("archived_rate", "建档率", "archived", "left_behind", target=1.0,
              surfaces=_EVERYWHERE),
    Indicator("paired_rate", "结对率", "paired", "left_behind", target=1.0,
              surfaces=_EVERYWHERE),
    Indicator("mentor_load", "人均帮扶", "paired", "mentors", target=3, better="lower",
              unit="人"),
    Indicator("visit_rate", "月走访率", "visited", "paired", target=1.0, short_label="走访率",
              surfaces=_EVERYWHERE),
    Indicator("contact_rate", "亲情联系率", "parent_contact", "left_behind", target=1.0,
              surfaces=_EVERYWHERE),
    Indicator("village_coverage", "之家村(居)覆盖率", "villages_with_home", "villages",
              target=1.0, levels=("township",), short_label="之家村覆盖率",
              surfaces=(CARD, BULLETIN, MAP)),
    Indicator("school_coverage", "之家学校覆盖率", "schools_with_home", "schools",
              target=1.0, levels=("township",), surfaces=(BULLETIN, MAP)),
    Indicator("standardized_rate", "之家标准化率", "homes_standardized", "homes",
              levels=("township",)),
    Indicator("disbursement_rate", "资金拨付率", "disbursed", "allocated", target=1.0,
              levels=("township",), year_to_date=True, paced=True, surfaces=_EVERYWHERE),
    Indicator("report_rate", "上报率", "reported", "expected", target=1.0,
              levels=("township",), surfaces=_EVERYWHERE, approved_label="审核率"),
    Indicator("on_time_rate", "及时率", "on_time", "expected", target=1.0,
              levels=("township",), surfaces=(BULLETIN, MAP),
              approved_label="及时率（已审核）"),
)
INDICATORS_BY_KEY = {i.key: i for i in INDICATORS}


def on(surface: str) -> tuple[str, ...]:
    """The keys of the indicators shown on `surface`, in catalogue order."""
    return tuple(i.key for i in INDICATORS if surface in i.surfaces)


# Identifying columns of every table a user downloads or reads.
ID_LABELS = {"period": "月份", "township_code": "乡镇代码", "township_name": "乡镇名称",
             "school_code": "学校代码", "school_name": "学校名称", "school_type": "学校类型"}


def label_of(key: str) -> str:
    """The Chinese label of any id column, school field, measure or indicator key."""
    if key in ID_LABELS:
        return ID_LABELS[key]
    for sheet in SHEETS:
        for f in sheet.fields:
            if f.key == key:
                return f.label
    if key in MEASURES_BY_KEY:
        return MEASURES_BY_KEY[key].label
    if key in TALLY_LABELS:
        return TALLY_LABELS[key]
    return INDICATORS_BY_KEY[key].label
