"""The bulletin's words: its title and its five parts (总体情况, 综合排名, 排名靠后, 重点问题,
工作要求) as blocks, from what bulletin.collect read. Every figure and change is the
figures.py one (`b.figures`), so the text states what the cockpit and `figures --json` state."""
from __future__ import annotations

import pandas as pd

from liushou_dash import catalog
from liushou_dash.catalog import columns, messages, wording
from liushou_dash.catalog.columns import format_value
from liushou_dash.catalog.rules import Rules
from liushou_dash.core.periods import parse_period
from liushou_dash.indicators import alerts, ranking, targets
from liushou_dash.indicators.figures import Figure
from liushou_dash.reports import bulletin_charts
from liushou_dash.reports.bulletin import (
    BOTTOM_COUNT,
    DRAG_COUNT,
    DRAG_MIN_POINTS,
    GROUP,
    NUMERALS,
    OFFICE,
    TOWNSHIPS_WORD,
    Bulletin,
    Heading,
    Paragraph,
    Picture,
    Table,
)


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
    """"，较上月 …" (a rate in percentage points, a count in people) of the figure, or
    nothing when it has no previous (a year-to-date figure in January)."""
    text = _change_text(b.figures[key])
    return "" if text == columns.MISSING_TEXT else "，较上月" + text


def _scope(b: Bulletin) -> str:
    parts = []
    if b.missing:
        parts.append(f"{'、'.join(b.missing)}未报送")
    if b.returned:
        parts.append(f"{'、'.join(b.returned)}的月报已退回待重报")
    if not parts:
        return ""
    return f"，{'，'.join(parts)}，以下学校数据不含这些{TOWNSHIPS_WORD}"


def overview(b: Bulletin) -> list[Paragraph]:
    c = b.county
    scope = _scope(b)
    change = _change_text(b.figures["left_behind"])
    basis = b.figures["left_behind"].basis.removeprefix("较上月，")
    change += f"（{basis}）"
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
        Paragraph(f"{parse_period(b.period)[0]}年累计下达关爱专项资金"
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


def _target_text(key: str) -> str:
    indicator = catalog.INDICATORS_BY_KEY[key]
    if indicator.target is None:
        return columns.MISSING_TEXT
    text = format_value(key, indicator.target)
    return f"年底{text}" if indicator.paced else text


def _change_text(figure: Figure) -> str:
    """The figure's change in words ("提高1.2个百分点", "减少35人"); "—" without one."""
    if pd.isna(figure.change):
        return columns.MISSING_TEXT
    if figure.indicator.is_rate:
        return wording.points_change(figure.change)
    return wording.change(figure.change)


def kpi_table(b: Bulletin) -> Table:
    rows = [{"指标": f.label, "本月": f.text, "上月": format_value(f.key, f.previous),
             "较上月": _change_text(f), "目标": _target_text(f.key)}
            for f in b.figures.figures]
    return Table("表1  主要指标完成情况", pd.DataFrame(rows), (3.6, 2.6, 2.6, 4.0, 2.6),
                 note=f"注：{b.figures.coverage.text()}；“上月”为上月同口径数值（"
                      f"{_basis_note(b)}）。")


def _basis_note(b: Bulletin) -> str:
    return "；".join(dict.fromkeys(f.basis for f in b.figures.figures))


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
    text += (f"，{'、'.join(b.not_counted)}未报送或月报已退回待重报，不参加排名。"
             if b.not_counted else "。")
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
        return columns.MISSING_TEXT
    return messages.UNCHANGED if change == 0 else f"{'↑' if change > 0 else '↓'}{abs(int(change))}"


def _score_text(score, returned: bool) -> str:
    if pd.isna(score):
        return messages.RESUBMIT if returned else "未报送"
    return f"{score:.2f}"


def _percent_number(value) -> str:
    return columns.MISSING_TEXT if pd.isna(value) else f"{float(value) * 100:.1f}"


def ranking_table(b: Bulletin) -> Table:
    r = b.ranked
    frame = pd.DataFrame({
        "排名": r["rank"].map(lambda v: columns.MISSING_TEXT if pd.isna(v) else str(int(v))),
        TOWNSHIPS_WORD: r["township_name"],
        "综合得分": [_score_text(score, name in b.returned)
                     for score, name in zip(r["score"], r["township_name"])],
        "较上月": r["rank_change"].map(_rank_change_text),
        **{catalog.INDICATORS_BY_KEY[key].short: r[key].map(_percent_number)
           for key in b.rules.weights}})
    rates = len(b.rules.weights)
    widths = (1.1, 3.4, 1.4, 1.2, *[8.5 / rates] * rates)  # 15.6 cm: the A4 type area
    return Table(f"表2  各{TOWNSHIPS_WORD}综合得分排名", frame, widths,
                 note="注：各项指标单位为%；“较上月”为名次变化，↑为上升，↓为下降；"
                      f"“{columns.MISSING_TEXT}”为无数据或上月未参加排名。")


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


def _numbered(lines: list[str]) -> list[Paragraph]:
    return [Paragraph(f"{i}. {text}。") for i, text in enumerate(lines, start=1)]


def focus_blocks(b: Bulletin, draw: bool) -> list:
    """（一）无人监护 （二）连续未达标 （三）资金拨付 (from the end of Q3) （四）月报报送,
    numbered in the order they appear."""
    parts = [("无人监护儿童", unguarded_blocks(b)), ("连续未达标", lagging_blocks(b))]
    if parse_period(b.period)[1] >= b.rules.funds_check_month:
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
    lagging = b.alerts_of(alerts.BELOW_TARGET)
    months = b.rules.months_running
    if not lagging:
        return [Paragraph(f"没有{TOWNSHIPS_WORD}连续{months}个月低于达标线。")]
    return [Paragraph(f"以下{len(lagging)}个{TOWNSHIPS_WORD}有指标连续{months}个月低于达标线："),
            *_numbered([a.message for a in lagging])]


def funds_blocks(b: Bulletin, draw: bool) -> list:
    idle = b.alerts_of(alerts.FUNDS_IDLE)
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
    if b.returned:
        parts.append(f"{'、'.join(b.returned)}的月报经审核退回（{messages.RESUBMIT}），本月数据不计入"
                     f"全县指标和排名，请按审核意见更正后重新报送")
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
