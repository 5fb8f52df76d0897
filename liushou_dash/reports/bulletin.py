"""The monthly bulletin (月度通报, DOMAIN.md: 每月一通报 ranks townships and names laggards).

`collect` reads everything once, from the same frame `export` writes, so every figure in the
bulletin is the export's for that month; `content` turns it into blocks (headings,
paragraphs, tables, pictures) that bulletin_render writes as DOCX and XLSX and the page 月度通报
previews. Wording follows the usual form of a county bulletin: overall situation, ranking,
the laggards and what pulls them down, the problems to act on, then the requirements.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd
from sqlalchemy import distinct, select
from sqlalchemy.engine import Engine

from liushou_dash import catalog
from liushou_dash.catalog import columns, wording
from liushou_dash.catalog.columns import format_value
from liushou_dash.catalog.rules import Rules, load_rules
from liushou_dash.core import periods, settings
from liushou_dash.core.db import has_schema
from liushou_dash.core.filtering import Filter
from liushou_dash.core.models import County, Submission
from liushou_dash.core.periods import period_label
from liushou_dash.indicators import alerts as alerting
from liushou_dash.indicators import ranking, ratios, stored, targets
from liushou_dash.reports import bulletin_charts
from liushou_dash.reports.export import export_frame

TREND_MONTHS = 12
BOTTOM_COUNT = 3
DRAG_COUNT, DRAG_MIN_POINTS = 3, 1.0  # name up to 3 causes, each costing at least 1 point
KPI_KEYS = ("left_behind", "guardian_none", "archived_rate", "paired_rate", "visit_rate",
            "contact_rate", "village_coverage", "school_coverage", "disbursement_rate",
            "report_rate", "on_time_rate")
RANK_HEADERS = {"archived_rate": "建档率", "paired_rate": "结对率", "visit_rate": "走访率",
                "contact_rate": "亲情联系率", "village_coverage": "之家村覆盖率",
                "disbursement_rate": "资金拨付率", "on_time_rate": "及时率"}
GROUP = "留守儿童关爱工作领导小组"
OFFICE = f"{GROUP}办公室"
NUMERALS = "一二三四五六七八九十"
TOWNSHIPS_WORD = "乡镇（街道）"
YEAR_TO_DATE = ("disbursement_rate",)


# --- What the bulletin is built from ---------------------------------------------------------

@dataclass(eq=False)
class Bulletin:
    period: str
    county_name: str
    issued: dt.date
    demo: bool
    rules: Rules
    townships: pd.DataFrame        # export frame (township level) of the month
    before: pd.DataFrame           # the same of the month before
    trend: pd.DataFrame            # county totals, one row per month with returns
    ranked: pd.DataFrame           # ranking.rank_townships of the month
    unguarded: pd.DataFrame        # school rows with 无人监护 children
    status: pd.DataFrame           # alerts.reporting_status of the month
    deadline_day: int
    alerts: list = field(default_factory=list)

    @cached_property
    def county(self) -> dict:
        return ratios.totals(self.townships)

    @cached_property
    def county_before(self) -> dict:
        return ratios.totals(self.before)

    def comparable(self, key: str) -> bool:
        """Whether `key` can be compared with last month: money is counted from January,
        so in January last month's figure belongs to another year."""
        return key not in YEAR_TO_DATE or self.period[5:] != "01"

    @property
    def label(self) -> str:
        return period_label(self.period)

    @property
    def missing(self) -> list[str]:
        """Townships without a return for the month, as export counts them (reported = 0)."""
        return _names(self.townships, self.townships["reported"] == 0)

    @property
    def late(self) -> list[str]:
        frame = self.townships
        return _names(frame, (frame["reported"] == 1) & (frame["on_time"] == 0))

    def alerts_of(self, kind: str) -> list:
        return [a for a in self.alerts if a.kind == kind]


def _names(frame: pd.DataFrame, mask: pd.Series) -> list[str]:
    return list(frame.loc[mask, "township_name"])


def county_name(engine: Engine) -> str:
    with engine.connect() as conn:
        names = list(conn.scalars(select(County.name).order_by(County.code)))
    return names[0] if len(names) == 1 else "、".join(names) or "本县"


def collect(engine: Engine, period: str, approved_only: bool = False,
            today: dt.date | None = None, rules: Rules | None = None) -> Bulletin:
    """Everything the bulletin of `period` says, read once."""
    rules = rules or load_rules()
    today = today or dt.date.today()
    first = periods.period_of_month_number(periods.month_number(period) - TREND_MONTHS + 1)
    frame = export_frame(engine, Filter.between(first, period, approved_only=approved_only))
    month = frame[frame["period"] == period].reset_index(drop=True)
    before = frame[frame["period"] == periods.previous_period(period)].reset_index(drop=True)
    trend = ratios.county_by_period(frame)
    trend = trend[trend["reported"] > 0].reset_index(drop=True)
    unguarded = alerting.unguarded_schools(engine, period, approved_only)
    status = alerting.reporting_status(engine, period, today)
    recent = stored.township_table(engine, alerting.recent_months(period, rules, approved_only))
    return Bulletin(
        period=period, county_name=county_name(engine), issued=today,
        demo=settings.is_demo(engine), rules=rules, townships=month, before=before, trend=trend,
        ranked=ranking.rank_townships(month, rules.weights, before),
        unguarded=unguarded, status=status, deadline_day=settings.deadline_day(engine),
        alerts=alerting.from_tables(period, recent, unguarded, status, rules))


# --- Blocks ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str
    lead: str = ""        # a lead-in set apart in another face: "（一）基本情况。"


@dataclass(frozen=True, eq=False)
class Table:
    caption: str
    frame: pd.DataFrame   # text cells, Chinese headers
    widths: tuple[float, ...]  # column widths in cm
    note: str = ""


@dataclass(frozen=True)
class Picture:
    caption: str
    png: bytes


def title(b: Bulletin) -> str:
    return f"{b.county_name}关爱农村留守儿童工作情况通报（{b.label}）"


def content(b: Bulletin, charts: bool = True) -> list:
    """The body of the bulletin, after its title, as blocks."""
    draw = charts and bulletin_charts.available()
    return [*([Paragraph(bulletin_charts.NO_FONT_NOTE)] if charts and not draw else []),
            Paragraph(f"各{TOWNSHIPS_WORD}，县{GROUP}各成员单位："),
            Paragraph(f"现将{b.label}全县关爱农村留守儿童工作情况通报如下。"),
            Heading("一、总体情况"), *overview(b), kpi_table(b),
            *([Picture("图1  主要指标变化趋势（全县）", bulletin_charts.trend_chart(b.trend))]
              if draw and len(b.trend) > 1 else []),
            Heading(f"二、各{TOWNSHIPS_WORD}综合排名"), *ranking_paragraphs(b), ranking_table(b),
            *([Picture(f"图2  各{TOWNSHIPS_WORD}综合得分", bulletin_charts.score_chart(
                b.ranked, set(ranking.bottom(b.ranked, BOTTOM_COUNT)["township_code"])))]
              if draw and b.ranked["score"].notna().any() else []),
            Heading(f"三、排名靠后{TOWNSHIPS_WORD}存在的主要问题"), *laggard_paragraphs(b),
            Heading("四、需要重点关注的问题"), *focus_blocks(b, draw),
            Heading("五、下一步工作要求"), *requirements(b)]


# --- 一、总体情况 ----------------------------------------------------------------------------

def _v(row: dict, key: str) -> str:
    return format_value(key, row.get(key, float("nan")))


def _pp(b: Bulletin, key: str) -> str:
    """"，较上月 …" (a rate in percentage points, a count in people), or nothing when the
    months cannot be compared."""
    if not b.comparable(key):
        return ""
    return "，较上月" + _change_text(key, b.county.get(key, float("nan")),
                                  b.county_before.get(key, float("nan")))


def overview(b: Bulletin) -> list[Paragraph]:
    c = b.county
    scope = ""
    if b.missing:
        scope = f"，{'、'.join(b.missing)}未报送，以下学校数据不含未报送{TOWNSHIPS_WORD}"
    change = wording.change(c.get("left_behind", float("nan"))
                            - b.county_before.get("left_behind", float("nan")))
    both = like_for_like(b)
    if both is not None:
        change += (f"（按两个月均已报送的{both[0]}个乡镇计，"
                   f"{wording.change(both[1])}）")
    unguarded_where = (f"，分布在{b.unguarded['township_code'].nunique()}个{TOWNSHIPS_WORD}的"
                       f"{len(b.unguarded)}所学校" if len(b.unguarded) else "")
    return [
        Paragraph(f"截至{b.label}底，全县{_v(c, 'expected')}个{TOWNSHIPS_WORD}中已有"
                  f"{_v(c, 'reported')}个报送月报{scope}。已报送的{TOWNSHIPS_WORD}共有在校学生"
                  f"{_v(c, 'students')}人，其中农村留守儿童{_v(c, 'left_behind')}人，留守率"
                  f"{_v(c, 'left_behind_rate')}，较上月{change}；父母均外出的"
                  f"{_v(c, 'both_parents_away')}人，困境留守儿童{_v(c, 'in_difficulty')}人，"
                  f"寄宿{_v(c, 'boarding')}人。本月辍学{_v(c, 'dropouts')}人，发生安全事件"
                  f"{_v(c, 'safety_incidents')}起。", lead="（一）基本情况。"),
        Paragraph(f"祖辈监护{_v(c, 'guardian_grandparents')}人，亲友监护"
                  f"{_v(c, 'guardian_relatives')}人，其他委托监护{_v(c, 'guardian_other')}人，"
                  f"无人监护{_v(c, 'guardian_none')}人{unguarded_where}。", lead="（二）监护情况。"),
        Paragraph(f"已建档{_v(c, 'archived')}人，建档率{_v(c, 'archived_rate')}"
                  f"{_pp(b, 'archived_rate')}；已结对帮扶{_v(c, 'paired')}人，结对率"
                  f"{_v(c, 'paired_rate')}{_pp(b, 'paired_rate')}；帮扶责任人"
                  f"{_v(c, 'mentors')}人，人均帮扶{_v(c, 'mentor_load')}人；本月走访"
                  f"{_v(c, 'visited')}人，月走访率{_v(c, 'visit_rate')}；与父母亲情联系"
                  f"{_v(c, 'parent_contact')}人，亲情联系率{_v(c, 'contact_rate')}；"
                  f"心理辅导教师{_v(c, 'psych_teachers')}人。", lead="（三）结对帮扶。"),
        Paragraph(f"全县建成留守儿童之家{_v(c, 'homes')}个，其中达到“五有五全”标准的"
                  f"{_v(c, 'homes_standardized')}个，标准化率{_v(c, 'standardized_rate')}；"
                  f"{_v(c, 'villages')}个村(居)中有{_v(c, 'villages_with_home')}个建有之家，"
                  f"村(居)覆盖率{_v(c, 'village_coverage')}；{_v(c, 'schools')}所学校中有"
                  f"{_v(c, 'schools_with_home')}所建有之家，学校覆盖率"
                  f"{_v(c, 'school_coverage')}。", lead="（四）关爱阵地。"),
        Paragraph(f"{b.period[:4]}年累计下达关爱专项资金"
                  f"{wording.wan_yuan(c.get('allocated'))}，已拨付"
                  f"{wording.wan_yuan(c.get('disbursed'))}，拨付率"
                  f"{_v(c, 'disbursement_rate')}{_pp(b, 'disbursement_rate')}，尚有"
                  f"{wording.wan_yuan(c.get('allocated', 0) - c.get('disbursed', 0))}未拨付。",
                  lead="（五）资金保障。"),
        Paragraph(f"本月应报{_v(c, 'expected')}个，已报{_v(c, 'reported')}个，上报率"
                  f"{_v(c, 'report_rate')}；按时报送{_v(c, 'on_time')}个，及时率"
                  f"{_v(c, 'on_time_rate')}；逾期报送{len(b.late)}个，未报送{len(b.missing)}个。",
                  lead="（六）报送情况。"),
    ]


def like_for_like(b: Bulletin) -> tuple[int, float] | None:
    """(townships, change of left-behind children) over the townships that reported in both
    months, when the two months' sets differ: a township that did not report would
    otherwise show as a fall in the county's count. None when the sets are the same."""
    if b.before.empty:
        return None
    now = b.townships.set_index("township_code")
    before = b.before.set_index("township_code")
    reported_now, reported_before = now["reported"] == 1, before["reported"] == 1
    if reported_now.equals(reported_before.reindex(now.index, fill_value=False)):
        return None
    both = now.index[reported_now & reported_before.reindex(now.index, fill_value=False)]
    change = now.loc[both, "left_behind"].sum() - before.loc[both, "left_behind"].sum()
    return len(both), float(change)


def _target_text(key: str) -> str:
    indicator = catalog.INDICATORS_BY_KEY[key]
    if indicator.target is None:
        return "—"
    text = format_value(key, indicator.target)
    return f"年底{text}" if key == "disbursement_rate" else text


def _change_text(key: str, now, before) -> str:
    if catalog.INDICATORS_BY_KEY[key].is_rate:
        return wording.points_change(now - before)
    return wording.change(now - before)


def kpi_table(b: Bulletin) -> Table:
    now, before = b.county, b.county_before
    rows = [{"指标": catalog.INDICATORS_BY_KEY[key].label, "本月": _v(now, key),
             "上月": _v(before, key) if b.comparable(key) else columns.MISSING_TEXT,
             "较上月": _pp(b, key).removeprefix("，较上月") or columns.MISSING_TEXT,
             "目标": _target_text(key)} for key in KPI_KEYS]
    return Table("表1  主要指标完成情况", pd.DataFrame(rows), (3.6, 2.6, 2.6, 4.0, 2.6))


# --- 二、综合排名 ----------------------------------------------------------------------------

def weights_text(rules: Rules) -> str:
    total = sum(rules.weights.values())
    return "、".join(f"{catalog.label_of(k)}（{w / total:.0%}）" for k, w in rules.weights.items())


def _named_scores(rows: pd.DataFrame) -> str:
    return "、".join(f"{r.township_name}（{r.score:.2f}分）" for r in rows.itertuples())


def ranking_paragraphs(b: Bulletin) -> list[Paragraph]:
    scored = b.ranked[b.ranked["rank"].notna()]
    if scored.empty:
        return [Paragraph("本月没有乡镇报送月报，不进行排名。")]
    text = (f"按{weights_text(b.rules)}加权计算综合得分（满分100分，单项指标达到目标值即得满分，"
            f"资金拨付率以全年均衡进度{wording.percent(targets.even_pace(b.period))}为本月目标），"
            f"本月{len(scored)}个{TOWNSHIPS_WORD}参加排名")
    text += f"，{'、'.join(b.missing)}未报送月报，不参加排名。" if b.missing else "。"
    parts = [f"排名前三位的是{_named_scores(scored.head(3))}",
             f"排名后三位的是{_named_scores(ranking.bottom(scored, BOTTOM_COUNT))}"]
    for rank, tied in scored[scored["tied"]].groupby("rank"):
        parts.append(f"{'、'.join(tied['township_name'])}得分相同，并列第{rank}名")
    moved = scored.dropna(subset=["rank_change"])
    if len(moved) and moved["rank_change"].max() > 0:
        up = moved.loc[moved["rank_change"].idxmax()]
        parts.append(f"较上月进步最大的是{up.township_name}（上升{up.rank_change}位）")
    if len(moved) and moved["rank_change"].min() < 0:
        down = moved.loc[moved["rank_change"].idxmin()]
        parts.append(f"退步最大的是{down.township_name}（下降{-down.rank_change}位）")
    return [Paragraph(text), Paragraph("；".join(parts) + "。")]


def _rank_change_text(change) -> str:
    if pd.isna(change):
        return "—"
    return "持平" if change == 0 else f"{'↑' if change > 0 else '↓'}{abs(int(change))}"


def _percent_number(value) -> str:
    return columns.MISSING_TEXT if pd.isna(value) else f"{float(value) * 100:.1f}"


def ranking_table(b: Bulletin) -> Table:
    r = b.ranked
    frame = pd.DataFrame({
        "排名": r["rank"].map(lambda v: "—" if pd.isna(v) else str(int(v))),
        TOWNSHIPS_WORD: r["township_name"],
        "综合得分": r["score"].map(lambda v: "未报送" if pd.isna(v) else f"{v:.2f}"),
        "较上月": r["rank_change"].map(_rank_change_text),
        **{RANK_HEADERS[key]: r[key].map(_percent_number) for key in b.rules.weights}})
    rates = len(b.rules.weights)
    widths = (1.1, 3.4, 1.4, 1.2, *[8.5 / rates] * rates)  # 15.6 cm: the A4 type area
    return Table(f"表2  各{TOWNSHIPS_WORD}综合得分排名", frame, widths,
                 note="注：各项指标单位为%；“较上月”为名次变化，↑为上升，↓为下降；"
                      "“—”为无数据或上月未参加排名。")


# --- 三、排名靠后 ----------------------------------------------------------------------------

def _days_late(b: Bulletin, code: str):
    days = b.status.set_index("township_code")["days_late"].get(code)
    return None if days is None or pd.isna(days) else int(days)


def drag_text(b: Bulletin, row) -> str:
    """What pulls one township's score down, in words, the heaviest first."""
    county, causes = b.county, []
    for key, lost in ranking.shortfalls(row, b.rules.weights)[:DRAG_COUNT]:
        if lost < DRAG_MIN_POINTS and causes:
            break
        if key == "on_time_rate":
            days = _days_late(b, row["township_code"])
            causes.append(f"月报逾期{days}天报送" if days else "月报未按时报送")
            continue
        text = f"{catalog.label_of(key)}{format_value(key, row[key])}"
        if row[key] < county.get(key, float("nan")):
            text += f"，低于全县{format_value(key, county[key])}"
        causes.append(text)
    return "；".join(causes) or "各项指标均已达到目标"


def laggard_paragraphs(b: Bulletin) -> list[Paragraph]:
    tail = ranking.bottom(b.ranked, BOTTOM_COUNT)
    if tail.empty:
        return [Paragraph("本月没有乡镇参加排名。")]
    found = [Paragraph(f"本月综合得分排名后{len(tail)}位的是{'、'.join(tail['township_name'])}，"
                       f"主要问题是：")]
    for row in tail.to_dict("records"):
        lead = f"{row['township_name']}（第{row['rank']}名，{row['score']:.2f}分）："
        found.append(Paragraph(f"{drag_text(b, row)}。", lead=lead))
    found.append(Paragraph(f"请以上{TOWNSHIPS_WORD}认真分析原因，制定整改措施，于本通报印发后"
                           f"10个工作日内将整改情况书面报县{OFFICE}。"))
    return found


# --- 四、重点问题 ----------------------------------------------------------------------------

def unguarded_table(b: Bulletin) -> Table:
    u = b.unguarded
    frame = pd.DataFrame({"序号": [str(i) for i in range(1, len(u) + 1)],
                          TOWNSHIPS_WORD: u["township_name"], "学校": u["school_name"],
                          "无人监护人数": u["guardian_none"].map(wording.count),
                          "留守儿童数": u["left_behind"].map(wording.count)})
    return Table("表3  有无人监护留守儿童的学校", frame, (1.2, 3.2, 6.4, 2.4, 2.4))


def _numbered(messages: list[str]) -> list[Paragraph]:
    return [Paragraph(f"{i}. {text}。") for i, text in enumerate(messages, start=1)]


def focus_blocks(b: Bulletin, draw: bool) -> list:
    """（一）无人监护 （二）连续未达标 （三）资金拨付 (from the end of Q3) （四）月报报送,
    numbered in the order they appear."""
    parts = [("无人监护儿童", unguarded_blocks(b)), ("连续未达标", lagging_blocks(b))]
    if int(b.period[5:]) >= b.rules.funds_check_month:
        parts.append(("资金拨付", funds_blocks(b, draw)))
    parts.append(("月报报送", [Paragraph(reporting_text(b))]))
    blocks = []
    for number, (name, (first, *rest)) in zip(NUMERALS, parts):
        blocks += [Paragraph(first.text, lead=f"（{number}）{name}。"), *rest]
    return blocks


def unguarded_blocks(b: Bulletin) -> list:
    if b.unguarded.empty:
        return [Paragraph("本月各学校未报告无人监护的留守儿童。")]
    return [Paragraph(
        f"全县仍有{_v(b.county, 'guardian_none')}名留守儿童无人监护，分布在"
        f"{b.unguarded['township_code'].nunique()}个{TOWNSHIPS_WORD}的{len(b.unguarded)}所学校"
        f"（见表3）。所在{TOWNSHIPS_WORD}要逐一核实情况，立即落实委托监护人，明确专人跟踪，"
        f"县{OFFICE}逐人督办销号。"), unguarded_table(b)]


def lagging_blocks(b: Bulletin) -> list:
    lagging = b.alerts_of(alerting.BELOW_TARGET)
    months = b.rules.months_running
    if not lagging:
        return [Paragraph(f"没有{TOWNSHIPS_WORD}连续{months}个月低于达标线。")]
    return [Paragraph(f"以下{len(lagging)}个{TOWNSHIPS_WORD}有指标连续{months}个月低于达标线："),
            *_numbered([a.message for a in lagging])]


def funds_blocks(b: Bulletin, draw: bool) -> list:
    idle = b.alerts_of(alerting.FUNDS_IDLE)
    mark = wording.percent(b.rules.funds_min_rate)
    blocks = [Paragraph(f"截至{b.label}底，以下{len(idle)}个{TOWNSHIPS_WORD}资金拨付率低于"
                        f"{mark}：" if idle else f"各{TOWNSHIPS_WORD}资金拨付率均达到{mark}以上。"),
              *_numbered([a.message for a in idle])]
    if draw and b.townships["allocated"].sum() > 0:
        blocks.append(Picture(f"图3  各{TOWNSHIPS_WORD}资金下达与拨付情况",
                              bulletin_charts.funds_chart(b.townships)))
    return blocks


def reporting_text(b: Bulletin) -> str:
    status = b.status.set_index("township_name")
    parts = []
    if b.late:
        parts.append("逾期报送的有" + "、".join(
            f"{name}（{wording.month_day(status.loc[name, 'first_submitted'])}报送，"
            f"逾期{status.loc[name, 'days_late']}天）" for name in b.late))
    if b.missing:
        parts.append(f"截至通报印发时仍未报送的有{'、'.join(b.missing)}")
    returned = list(status.index[status["status"] == "已退回"])
    if returned:
        parts.append(f"{'、'.join(returned)}的月报经审核退回，请按审核意见更正后重新报送")
    if not parts:
        return f"各{TOWNSHIPS_WORD}均按时报送月报。"
    return "；".join(parts) + "。"


# --- 五、工作要求 ----------------------------------------------------------------------------

def requirements(b: Bulletin) -> list[Paragraph]:
    day = b.deadline_day
    return [
        Paragraph("对无人监护的留守儿童，乡镇要会同村(居)和学校立即落实委托监护人，签订委托监护"
                  "责任确认书，确保每一名留守儿童都有人监护、有人关爱。", lead="（一）压实监护责任。"),
        Paragraph("排名靠后和连续未达标的乡镇要对照建档、结对、走访、亲情联系等指标逐校查找原因，"
                  "帮扶责任人每月至少走访一次、每半月督促亲情联系一次，做到应建尽建、应结尽结。",
                  lead="（二）补齐工作短板。"),
        Paragraph("各乡镇要加快关爱专项资金拨付进度，专款专用，严禁截留挪用，确保年底前全部拨付到位。",
                  lead="（三）加快资金拨付。"),
        Paragraph(f"各{TOWNSHIPS_WORD}要在每月{day}日前报送上月月报，确保数据真实、准确、完整，"
                  f"不得照抄上月数据。", lead="（四）按时准确报送。"),
    ]


# --- Entry points ----------------------------------------------------------------------------

def available_periods(engine: Engine) -> list[str]:
    """Months with at least one current return, newest first: the months a bulletin can
    be built for."""
    with engine.connect() as conn:
        if not has_schema(conn):
            return []
        return list(conn.scalars(select(distinct(Submission.period))
                                 .where(Submission.is_current.is_(True))
                                 .order_by(Submission.period.desc())))


class NoBulletin(ValueError):
    """No bulletin for this month; `usage` when the month itself is wrong (malformed or in
    the future) rather than merely without returns."""

    def __init__(self, message: str, usage: bool):
        super().__init__(message)
        self.usage = usage


def check_period(engine: Engine, period: str, today: dt.date | None = None) -> None:
    """Raise NoBulletin (Chinese message) unless a bulletin can be built for `period`."""
    try:
        periods.parse_period(period)
    except ValueError as exc:
        raise NoBulletin(str(exc), usage=True) from None
    today = today or dt.date.today()
    if period > f"{today.year:04d}-{today.month:02d}":
        raise NoBulletin(f"{period_label(period)}尚未到来，不能生成通报", usage=True)
    if period not in available_periods(engine):
        raise NoBulletin(f"{period_label(period)}暂无上报数据，不能生成通报", usage=False)
