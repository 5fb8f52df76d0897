"""The monthly bulletin of the demo county, read back from the .docx and .xlsx and checked
against the township and school CSV that `export` writes for the same month: every figure
is recomputed here from the CSV, never taken from the code under test."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from docx import Document
from openpyxl import load_workbook
from streamlit.testing.v1 import AppTest

from liushou_dash import cli
from liushou_dash.catalog.rules import load_rules
from liushou_dash.core.actors import Actor
from liushou_dash.core.db import dispose_engines
from liushou_dash.reports import bulletin, bulletin_charts, bulletin_render
from liushou_dash.reports.export import export_table
from tests.demo_db import LATEST, PREVIOUS, TODAY, demo_engine  # noqa: F401  (a fixture)

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "bulletin.py")
COUNTS = ("students", "left_behind", "both_parents_away", "in_difficulty", "boarding",
          "dropouts", "safety_incidents", "guardian_grandparents", "guardian_relatives",
          "guardian_other", "guardian_none", "archived", "paired", "mentors", "visited",
          "parent_contact", "psych_teachers", "homes", "homes_standardized", "villages",
          "villages_with_home", "schools", "schools_with_home", "expected", "reported",
          "on_time")
RATES = {"left_behind_rate": ("left_behind", "students"),
         "archived_rate": ("archived", "left_behind"), "paired_rate": ("paired", "left_behind"),
         "visit_rate": ("visited", "paired"), "contact_rate": ("parent_contact", "left_behind"),
         "village_coverage": ("villages_with_home", "villages"),
         "school_coverage": ("schools_with_home", "schools"),
         "standardized_rate": ("homes_standardized", "homes"),
         "disbursement_rate": ("disbursed", "allocated"), "report_rate": ("reported", "expected"),
         "on_time_rate": ("on_time", "expected")}
RANK_COLUMNS = {"建档率": "archived_rate", "结对率": "paired_rate", "走访率": "visit_rate",
                "亲情联系率": "contact_rate", "之家村覆盖率": "village_coverage",
                "资金拨付率": "disbursement_rate", "及时率": "on_time_rate"}
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


# --- Formats, written out here rather than borrowed ----------------------------------------

def count(value) -> str:
    return f"{int(round(value)):,}"


def percent(value) -> str:
    return f"{value * 100:.1f}%"


def wan(value) -> str:
    return f"{value / 10000:,.2f}万元"


# --- What export says ------------------------------------------------------------------------

def read_csv(engine, level: str) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(export_table(engine, PREVIOUS, LATEST, level=level)),
                       encoding="utf-8-sig", dtype={"township_code": str, "school_code": str})


def county(rows: pd.DataFrame) -> dict:
    """Sums of the townships' counts and money, rates from the sums."""
    total = {key: rows[key].sum() for key in (*COUNTS, "allocated", "disbursed")}
    total.update({rate: total[num] / total[den] for rate, (num, den) in RATES.items()})
    total["mentor_load"] = total["paired"] / total["mentors"]
    return total


def rate(row, key: str) -> float:
    """A township's rate from the CSV's counts and money (exact), not from its rate columns
    (rounded to four decimals); NaN without a denominator."""
    numerator, denominator = (row[k] for k in RATES[key])
    return float("nan") if pd.isna(numerator) or not denominator else numerator / denominator


def score_of(row, month: int) -> float:
    weights = load_rules().weights
    rates = {k: rate(row, k) for k in weights}
    present = {k: w for k, w in weights.items() if not pd.isna(rates[k])}
    target = {k: month / 12 if k == "disbursement_rate" else 1.0 for k in present}
    earned = sum(w * min(rates[k] / target[k], 1) for k, w in present.items())
    return earned / sum(present.values()) * 100


FROM_RETURNS = {"left_behind_rate", "archived_rate", "paired_rate", "visit_rate",
                "contact_rate"}  # the rates of school counts; the others cover every township


def alike(now: pd.DataFrame, before: pd.DataFrame) -> dict:
    """Last month's county over the townships counted now (the basis of every change of a
    school figure): a township not counted last month adds this month's rows to both."""
    counted = now.index[now["reported"] == 1]
    known = [code for code in counted if before.loc[code, "reported"] == 1]
    fresh = [code for code in counted if code not in known]
    return county(pd.concat([before.loc[known], now.loc[fresh]]))


def previous(export, key: str) -> float:
    """What the bulletin compares `key` with: the like-for-like county for school figures,
    last month's whole county for homes, funds and reporting."""
    school = key in FROM_RETURNS or key in COUNTS[:COUNTS.index("homes")]
    return (export["county_alike"] if school else export["county_before"])[key]


@pytest.fixture(scope="module")
def export(demo_engine):
    townships, schools = read_csv(demo_engine, "township"), read_csv(demo_engine, "school")
    now = townships[townships["period"] == LATEST].set_index("township_code")
    before = townships[townships["period"] == PREVIOUS].set_index("township_code")
    return {"now": now, "before": before, "county": county(now),
            "county_before": county(before), "county_alike": alike(now, before),
            "schools": schools[schools["period"] == LATEST].reset_index(drop=True)}


@pytest.fixture(scope="module")
def built(demo_engine):
    data, blocks, docx, xlsx = bulletin_render.build(demo_engine, LATEST, today=TODAY)
    return {"data": data, "document": Document(io.BytesIO(docx)),
            "workbook": load_workbook(io.BytesIO(xlsx)), "docx": docx}


def paragraphs(document) -> list[str]:
    return [p.text for p in document.paragraphs]


def paragraph(document, start: str) -> str:
    return next(text for text in paragraphs(document) if text.startswith(start))


def table_rows(table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


# --- The document --------------------------------------------------------------------------

def test_title_and_masthead(built):
    texts = paragraphs(built["document"])
    assert "纳雍县关爱农村留守儿童工作情况通报（2026年10月）" in texts
    assert "纳雍县留守儿童关爱工作通报" in texts
    assert any("示例数据" in text for text in texts)   # the demo is marked as such
    signed = texts.index("纳雍县留守儿童关爱工作领导小组办公室", 10)
    assert texts[signed + 1] == "2026年11月20日"


def test_the_overall_situation_states_the_exports_figures(built, export):
    c = export["county"]
    doc = built["document"]
    change = c["left_behind"] - previous(export, "left_behind")
    expectations = {
        "（一）基本情况。": [
            f"全县{count(c['expected'])}个乡镇（街道）中已有{count(c['reported'])}个报送月报",
            f"在校学生{count(c['students'])}人", f"农村留守儿童{count(c['left_behind'])}人",
            f"留守率{percent(c['left_behind_rate'])}",
            f"较上月{'增加' if change > 0 else '减少'}{count(abs(change))}人",
            f"父母均外出的{count(c['both_parents_away'])}人",
            f"困境留守儿童{count(c['in_difficulty'])}人", f"寄宿{count(c['boarding'])}人",
            f"本月辍学{count(c['dropouts'])}人", f"安全事件{count(c['safety_incidents'])}起"],
        "（二）监护情况。": [
            f"祖辈监护{count(c['guardian_grandparents'])}人",
            f"亲友监护{count(c['guardian_relatives'])}人",
            f"其他委托监护{count(c['guardian_other'])}人",
            f"无人监护{count(c['guardian_none'])}人"],
        "（三）结对帮扶。": [
            f"已建档{count(c['archived'])}人，建档率{percent(c['archived_rate'])}",
            f"已结对帮扶{count(c['paired'])}人，结对率{percent(c['paired_rate'])}",
            f"帮扶责任人{count(c['mentors'])}人，人均帮扶{c['mentor_load']:.1f}人",
            f"本月走访{count(c['visited'])}人，月走访率{percent(c['visit_rate'])}",
            f"亲情联系{count(c['parent_contact'])}人，亲情联系率{percent(c['contact_rate'])}",
            f"心理辅导教师{count(c['psych_teachers'])}人"],
        "（四）关爱阵地。": [
            f"留守儿童之家{count(c['homes'])}个", f"标准的{count(c['homes_standardized'])}个",
            f"{count(c['villages'])}个村(居)中有{count(c['villages_with_home'])}个建有之家",
            f"村(居)覆盖率{percent(c['village_coverage'])}",
            f"学校覆盖率{percent(c['school_coverage'])}"],
        "（五）资金保障。": [
            f"累计下达关爱专项资金{wan(c['allocated'])}", f"已拨付{wan(c['disbursed'])}",
            f"拨付率{percent(c['disbursement_rate'])}",
            f"尚有{wan(c['allocated'] - c['disbursed'])}未拨付"],
        "（六）报送情况。": [
            f"按时报送{count(c['on_time'])}个", f"及时率{percent(c['on_time_rate'])}",
            f"上报率{percent(c['report_rate'])}"],
    }
    for lead, phrases in expectations.items():
        text = paragraph(doc, lead)
        for phrase in phrases:
            assert phrase in text, (lead, phrase)


def test_every_number_in_the_overall_situation_comes_from_the_export(built, export):
    """Each number token of the six paragraphs is one of the export's figures (or a
    difference of two of them), so the text cannot state a figure export does not give."""
    c, now = export["county"], export["now"]
    late = ((now["reported"] == 1) & (now["on_time"] == 0)).sum()
    missing = ((now["reported"] == 0) & (now["returned"] == 0)).sum()
    allowed = {"2026", "10", str(late), str(missing), str(now["reported"].sum()),
               str(export["schools"]["guardian_none"].gt(0).sum()),
               str(export["schools"].loc[export["schools"]["guardian_none"] > 0,
                                         "township_code"].nunique()),
               count(abs(c["left_behind"] - previous(export, "left_behind"))),
               f"{c['mentor_load']:.1f}"}
    allowed |= {count(c[key]) for key in COUNTS}
    allowed |= {percent(c[key])[:-1] for key in RATES}
    allowed |= {f"{abs(c[key] - previous(export, key)) * 100:.1f}" for key in RATES}
    allowed |= {wan(v)[:-2] for v in (c["allocated"], c["disbursed"],
                                      c["allocated"] - c["disbursed"])}
    leads = ("（一）基本情况。", "（二）监护情况。", "（三）结对帮扶。", "（四）关爱阵地。",
             "（五）资金保障。", "（六）报送情况。")
    for lead in leads:
        for number in NUMBER.findall(paragraph(built["document"], lead)):
            assert number in allowed, (lead, number)


def test_the_kpi_table_gives_this_month_and_last(built, export):
    rows = {row[0]: row for row in table_rows(built["document"].tables[0])[1:]}
    c = export["county"]
    assert rows["留守儿童数"][1:3] == [count(c["left_behind"]),
                                   count(previous(export, "left_behind"))]
    assert rows["无人监护人数"][1] == count(c["guardian_none"])
    for label, key in (("建档率", "archived_rate"), ("结对率", "paired_rate"),
                       ("月走访率", "visit_rate"), ("资金拨付率", "disbursement_rate"),
                       ("及时率", "on_time_rate")):
        assert rows[label][1:3] == [percent(c[key]), percent(previous(export, key))], label


def test_the_ranking_table_matches_the_export(built, export):
    rows = table_rows(built["document"].tables[1])
    header, body = rows[0], rows[1:]
    by_name = export["now"].reset_index().set_index("township_name")
    assert len(body) == len(by_name)
    scores = []
    for row in body:
        cells = dict(zip(header, row))
        source = by_name.loc[cells["乡镇（街道）"]]
        for column, key in RANK_COLUMNS.items():
            value = rate(source, key)
            assert cells[column] == ("—" if pd.isna(value) else f"{value * 100:.1f}"), column
        if source["reported"] == 0:
            assert cells["综合得分"] == ("已退回待重报" if source["returned"] else "未报送")
            assert cells["排名"] == "—"
            continue
        expected = score_of(source, int(LATEST[5:]))
        assert float(cells["综合得分"]) == pytest.approx(expected, abs=0.0051)
        scores.append((int(cells["排名"]), float(cells["综合得分"])))
    assert [s for _, s in scores] == sorted((s for _, s in scores), reverse=True)
    assert scores[0][0] == 1
    for (rank, score), (next_rank, next_score) in zip(scores, scores[1:]):
        assert next_rank == rank if next_score == score else next_rank == len(
            [s for s in scores if s[1] > next_score]) + 1


def test_the_bottom_three_are_named_with_what_pulls_them_down(built, export):
    now = export["now"]
    reported = now[now["reported"] == 1]
    scores = {name: score_of(row, int(LATEST[5:])) for name, row in
              reported.set_index("township_name").iterrows()}
    lowest = sorted(scores, key=scores.get)[:3]
    text = paragraph(built["document"], "本月综合得分排名后")
    for name in lowest:
        assert name in text
        cause = paragraph(built["document"], f"{name}（第")
        assert "全县" in cause or "逾期" in cause


def test_unguarded_schools_are_listed(built, export):
    schools = export["schools"]
    expected = schools[schools["guardian_none"] > 0]
    rows = table_rows(built["document"].tables[2])[1:]
    assert [(r[1], r[2], r[3]) for r in rows] == [
        (t, s, count(n)) for t, s, n in zip(expected["township_name"], expected["school_name"],
                                            expected["guardian_none"])]
    assert f"全县仍有{count(expected['guardian_none'].sum())}名留守儿童无人监护" in paragraph(
        built["document"], "（一）无人监护儿童。")


def test_late_and_missing_returns_are_named(built, export):
    now = export["now"]
    text = paragraph(built["document"], "（四）月报报送。")
    late = now.loc[(now["reported"] == 1) & (now["on_time"] == 0), "township_name"]
    missing = now.loc[(now["reported"] == 0) & (now["returned"] == 0), "township_name"]
    returned = now.loc[now["returned"] == 1, "township_name"]
    assert len(late) and len(missing) and len(returned)
    for name in late:
        assert re.search(f"{name}（11月\\d+日报送，逾期\\d+天）", text), name
    assert f"仍未报送的有{'、'.join(missing)}" in text
    assert f"{'、'.join(returned)}的月报经审核退回（已退回待重报）" in text


def test_charts_are_pictures_in_the_document(built):
    if not bulletin_charts.available():
        pytest.fail("no CJK font: install fonts-noto-cjk (the charts would be left out)")
    assert len(built["document"].inline_shapes) == 3
    captions = [t for t in paragraphs(built["document"]) if t.startswith("图")]
    assert len(captions) == 3


@pytest.fixture
def no_cjk_font(monkeypatch):
    """A machine without a Chinese font, as a fresh one is before `make run` installs it."""
    monkeypatch.setattr(bulletin_charts, "FONT_FILES", ())
    monkeypatch.setattr(bulletin_charts, "FONT_NAMES", ())
    bulletin_charts.cjk_font.cache_clear()
    yield
    bulletin_charts.cjk_font.cache_clear()


def test_without_a_font_the_bulletin_says_why_its_charts_are_missing(
        demo_engine, no_cjk_font, caplog, capsys, tmp_path):  # noqa: F811
    _, blocks, docx, _ = bulletin_render.build(demo_engine, LATEST, today=TODAY)
    assert not any(isinstance(block, bulletin.Picture) for block in blocks)
    assert blocks[0].text == bulletin_charts.NO_FONT_NOTE
    document = Document(io.BytesIO(docx))
    assert len(document.inline_shapes) == 0
    assert bulletin_charts.NO_FONT_NOTE in paragraphs(document)
    assert "no CJK font" in caplog.text and "fonts-noto-cjk" in caplog.text

    assert cli.main(["--db", demo_engine.url.render_as_string(), "bulletin", "--period", LATEST,
                     "-o", str(tmp_path / "通报.docx")]) == 0
    assert bulletin_charts.NO_FONT_NOTE in capsys.readouterr().err


# --- The workbook --------------------------------------------------------------------------

def test_the_workbook_holds_the_same_tables(built, export):
    workbook = built["workbook"]
    assert workbook.sheetnames == ["主要指标", "乡镇排名", "无人监护学校", "预警事项", "报送情况"]
    ranking = pd.DataFrame(list(workbook["乡镇排名"].values)[1:],
                           columns=list(workbook["乡镇排名"].values)[0]).set_index("乡镇代码")
    now = export["now"]
    assert set(ranking.index) == set(now.index)
    for code, row in ranking.iterrows():
        for label, key in (("建档率", "archived_rate"), ("资金拨付率", "disbursement_rate")):
            expected = rate(now.loc[code], key)
            if pd.isna(expected):
                assert pd.isna(row[label]), (code, label)
            else:
                assert row[label] == pytest.approx(expected), (code, label)
        if now.loc[code, "reported"] == 0:
            assert pd.isna(row["排名"]) and pd.isna(row["综合得分"])
    kpi = {row[0]: row for row in workbook["主要指标"].values}
    assert kpi["留守儿童数"][1] == export["county"]["left_behind"]
    assert kpi["留守儿童数"][2] == previous(export, "left_behind")
    unguarded = list(workbook["无人监护学校"].values)[1:]
    assert sum(row[3] for row in unguarded) == export["county"]["guardian_none"]


# --- The command line ----------------------------------------------------------------------

def url_of(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_the_command_writes_the_document_and_the_workbook(demo_engine, tmp_path, capsys):
    docx, xlsx = tmp_path / "通报.docx", tmp_path / "通报.xlsx"
    code = cli.main(["--db", url_of(demo_engine), "bulletin", "--period", LATEST, "-o",
                     str(docx), "--xlsx", str(xlsx)])
    assert code == 0
    assert "纳雍县关爱农村留守儿童工作情况通报（2026年10月）" in paragraphs(Document(docx))
    assert "乡镇排名" in load_workbook(xlsx).sheetnames
    assert "已生成" in capsys.readouterr().out


@pytest.mark.parametrize("period, exit_code, message", [
    ("2026-13", 2, "月份格式应为"), ("202610", 2, "月份格式应为"),
    ("2099-01", 2, "尚未到来"), ("2020-01", 1, "暂无上报数据")])
def test_the_command_refuses_a_bad_month_in_chinese(demo_engine, tmp_path, capsys, period,
                                                    exit_code, message):
    out = tmp_path / "x.docx"
    code = cli.main(["--db", url_of(demo_engine), "bulletin", "--period", period, "-o",
                     str(out)])
    assert code == exit_code
    assert message in capsys.readouterr().err
    assert not out.exists()


# --- The page --------------------------------------------------------------------------------

@pytest.fixture
def page(demo_engine, monkeypatch):
    monkeypatch.setenv("LIUSHOU_DATABASE_URL", url_of(demo_engine))
    st.cache_data.clear()

    def run(role: str = "staff") -> AppTest:
        app = AppTest.from_file(PAGE, default_timeout=120)
        app.session_state["actor"] = Actor(f"{role}01", role,
                                           "520525108" if role == "clerk" else None)
        return app.run()
    yield run
    st.cache_data.clear()
    dispose_engines()


def test_the_page_previews_the_bulletin_with_downloads(page, built):
    app = page("leader")
    assert not app.exception, [e.value for e in app.exception]
    assert app.header[0].value == "纳雍县关爱农村留守儿童工作情况通报（2026年10月）"
    assert app.selectbox[0].value == LATEST
    assert [b.label for b in app.get("download_button")] == ["下载通报（Word）",
                                                               "下载通报表格（Excel）"]
    assert len(app.dataframe) == 3 and len(app.get("image")) == 3
    ranking = app.dataframe[1].value
    document_ranking = table_rows(built["document"].tables[1])
    assert list(ranking.iloc[0]) == document_ranking[1]
    assert any(s.value == "一、总体情况" for s in app.subheader)


def test_a_clerk_may_not_open_the_page(page):
    app = page("clerk")
    assert [e.value for e in app.error] == ["当前账号无权访问此页面"]
    assert not app.dataframe


def test_the_pages_lead_ins_are_bold_not_asterisks(page):
    app = page("staff")
    leads = [m.value for m in app.markdown if "基本情况" in m.value]
    assert leads and leads[0].startswith("**（一）基本情况**。")
