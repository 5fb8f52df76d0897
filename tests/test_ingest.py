"""Township returns in: every tolerated irregularity, every error and warning code."""
from __future__ import annotations

import datetime as dt
import io
import json
import tracemalloc
import zipfile

import pandas as pd
import pytest
from sqlalchemy import func, select

from liushou_dash import catalog
from liushou_dash.core.db import session_maker, transaction
from liushou_dash.core.models import (
    APPROVED,
    AuditEntry,
    FundingEntry,
    Home,
    SchoolReturn,
    Submission,
    User,
)
from liushou_dash.ingest import ingest_file, store
from tests.fixtures import (
    OTHER_TOWNSHIP,
    TOWNSHIP,
    funding_frame,
    home_frame,
    school_frame,
    township_schools,
)
from tests.returns import ClerkStyle, grid, to_csv, to_ods, to_xls, to_xlsx, workbook

TODAY = dt.date(2026, 11, 22)
PERIOD = "2026-10"


def ingest(engine, data, period=PERIOD, township=TOWNSHIP, **kw):
    return ingest_file(engine, data, "return.xlsx", township, period, today=TODAY, **kw)


def all_frames(engine):
    return {"schools": school_frame(engine), "homes": home_frame(engine),
            "funding": funding_frame()}


def codes(report):
    return sorted({i.code for i in report.errors})


def row_counts(engine) -> dict[str, int]:
    with session_maker(engine)() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                for m in (Submission, SchoolReturn, Home, FundingEntry)}


def stored_schools(engine, submission_id) -> pd.DataFrame:
    with session_maker(engine)() as s:
        rows = s.scalars(select(SchoolReturn).where(SchoolReturn.submission_id == submission_id))
        return pd.DataFrame([{k: getattr(r, k) for k in ("school_code", *catalog.SCHOOL_COUNT_KEYS)}
                             for r in rows]).sort_values("school_code").reset_index(drop=True)


def assert_stored_exactly(engine, report, frame):
    assert report.accepted, [i.message for i in report.errors]
    assert report.totals == {k: int(frame[k].sum()) for k in catalog.SCHOOL_COUNT_KEYS}
    stored = stored_schools(engine, report.submission_id)
    expected = frame[["school_code", *catalog.SCHOOL_COUNT_KEYS]].sort_values(
        "school_code").reset_index(drop=True)
    pd.testing.assert_frame_equal(stored, expected, check_dtype=False)


# --- What readers must tolerate ---------------------------------------------------------

STYLES = {
    "plain": ClerkStyle(),
    "title_and_offset": ClerkStyle(title_rows=3, leading_cols=2),
    "two_level_merged": ClerkStyle(title_rows=1, two_level=True),
    "serial_total_signature": ClerkStyle(serial=True, total_row=True, signature=True),
    "extra_column_reordered": ClerkStyle(extra_column=True, reorder=True),
    "numbers_as_text": ClerkStyle(numbers="text"),
    "full_width_digits": ClerkStyle(numbers="fullwidth"),
    "thousands_separators": ClerkStyle(numbers="thousands"),
    "dash_for_zero": ClerkStyle(zero_as="—"),
    "hyphen_for_zero": ClerkStyle(zero_as="-"),
    "slash_for_zero": ClerkStyle(zero_as="/"),
    "none_for_zero": ClerkStyle(zero_as="无"),
    "spaces_in_headers": ClerkStyle(header_noise=True, two_level=True, title_rows=2),
    "everything": ClerkStyle(title_rows=2, leading_cols=1, serial=True, two_level=True,
                             header_noise=True, extra_column=True, numbers="thousands",
                             zero_as="—", total_row=True, signature=True),
}


@pytest.mark.parametrize("style", STYLES.values(), ids=STYLES.keys())
def test_clerk_styles_round_trip_exactly(engine, style):
    frames = all_frames(engine)
    report = ingest(engine, workbook(frames, style))
    assert_stored_exactly(engine, report, frames["schools"])
    assert report.rows == {"schools": len(frames["schools"]), "homes": 2, "funding": 2}


@pytest.mark.parametrize("writer", [to_xls, to_ods], ids=["xls_from_wps", "ods"])
def test_other_spreadsheet_formats(engine, writer):
    frames = all_frames(engine)
    style = ClerkStyle(title_rows=1, two_level=True, total_row=True, serial=True)
    report = ingest(engine, workbook(frames, style, writer=writer))
    assert_stored_exactly(engine, report, frames["schools"])
    assert report.rows["funding"] == 2 and report.rows["homes"] == 2


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030", "gbk"])
def test_csv_in_every_encoding(engine, encoding):
    frame = school_frame(engine)
    rows, _ = grid(catalog.SCHOOLS, frame, ClerkStyle(title_rows=1, total_row=True))
    report = ingest(engine, to_csv(rows, encoding))
    assert_stored_exactly(engine, report, frame)
    assert report.rows == {"schools": len(frame), "homes": 0, "funding": 0}


def test_blank_count_cells_are_zero_with_w01(engine):
    frame = school_frame(engine)
    report = ingest(engine, workbook({"schools": frame}, ClerkStyle(blank_zeros=True)))
    assert_stored_exactly(engine, report, frame)
    w01 = [w for w in report.warnings if w.code == "W01"]
    zero_rows = (frame[list(catalog.SCHOOL_COUNT_KEYS)] == 0).any(axis=1).sum()
    assert len(w01) == zero_rows and all(w.sheet == "学校月报" and w.row for w in w01)


def test_sheet_found_by_content_when_named_otherwise(engine):
    frames = all_frames(engine)
    data = workbook(frames, names={"schools": "Sheet1", "homes": "Sheet2", "funding": "Sheet3"})
    report = ingest(engine, data)
    assert_stored_exactly(engine, report, frames["schools"])
    assert report.rows["homes"] == 2 and report.rows["funding"] == 2


def test_money_and_dates_as_clerks_write_them(engine):
    ledger = pd.DataFrame([
        {"date": "2026年3月5日", "kind": "下达", "source": "县", "category": "困难救助",
         "amount": "￥12,000.50", "description": "救助", "voucher": "A1"},
        {"date": "2026/4/1", "kind": "拨付", "source": "社会捐赠", "category": "培训",
         "amount": "3000", "description": "培训", "voucher": None},
        {"date": 46149, "kind": "支出", "source": "中央", "category": "其他",  # 2026-05-07
         "amount": 99.9, "description": None, "voucher": "A2"},
    ])
    report = ingest(engine, workbook({"funding": ledger}))
    assert report.accepted, [e.message for e in report.errors]
    with session_maker(engine)() as s:
        rows = s.scalars(select(FundingEntry).order_by(FundingEntry.date)).all()
    assert [(r.date, r.kind, r.source, float(r.amount)) for r in rows] == [
        (dt.date(2026, 3, 5), "下达", "县级", 12000.50), (dt.date(2026, 4, 1), "支出", "社会捐赠", 3000.0),
        (dt.date(2026, 5, 7), "支出", "中央", 99.9)]


# --- Errors: the file is refused and nothing is stored --------------------------------

def refused(engine, data, code, **kw):
    before = row_counts(engine)
    report = ingest(engine, data, **kw)
    assert not report.accepted and report.submission_id is None
    assert code in codes(report), [e.message for e in report.errors]
    assert row_counts(engine) == before
    return report


def with_cell(frame, row, key, value):
    frame = frame.astype(object).copy()
    frame.loc[row, key] = value
    return frame


@pytest.mark.parametrize("data", [
    b"%PDF-1.4 not a spreadsheet", b"\x89PNG\r\n\x1a\n....", b"",
    b"PK\x03\x04 truncated zip", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 broken ole2"],
    ids=["pdf", "png", "empty", "broken_zip", "broken_xls"])
def test_e01_unreadable_files(engine, data):
    report = refused(engine, data, "E01")
    assert report.errors[0].message.startswith("E01")


def test_e01_docx_is_not_a_spreadsheet(engine):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    refused(engine, out.getvalue(), "E01")


def test_e01_zip_bomb_refused_without_inflating(engine):
    """Refused from the sizes its directory declares, before any of it is inflated: the
    sheet's compressed data is broken a few megabytes in, so inflating would have failed
    on it with another message. (How fast it is refused is bench/'s business, not a
    test's.)"""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"0" * (1024 * 1024 * 1024))
    data = bytearray(out.getvalue())
    assert len(data) < 2 * 1024 * 1024
    data[4096:4160] = b"\xff" * 64    # inside the sheet's deflate stream: an invalid block
    tracemalloc.start()
    report = ingest(engine, bytes(data))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert codes(report) == ["E01"]
    assert "压缩炸弹" in report.errors[0].message
    assert peak < 64 * 1024 * 1024


def test_e01_zip_bomb_with_lying_sizes(engine):
    """A member whose header claims a small size must not inflate beyond it."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"0" * (50 * 1024 * 1024))
    data = bytearray(out.getvalue())
    # Patch the declared uncompressed size of the big member in its central directory entry.
    central = data.rfind(b"PK\x01\x02")
    data[central + 24:central + 28] = (1000).to_bytes(4, "little")
    refused(engine, bytes(data), "E01")


def test_e01_oversize_file(engine):
    refused(engine, b"a,b\n" + b"1,2\n" * (6 * 1024 * 1024), "E01")


def test_e02_no_return_sheet(engine):
    refused(engine, to_csv([["姓名", "电话"], ["张三", "123"]]), "E02")


def test_e02_missing_column_names_sheet_and_column(engine):
    frame = school_frame(engine).drop(columns=["guardian_none"])
    rows, _ = grid(catalog.Sheet("schools", "学校月报", tuple(
        f for f in catalog.SCHOOLS.fields if f.key != "guardian_none")), frame)
    report = refused(engine, to_xlsx({"学校月报": (rows, [])}), "E02")
    assert report.errors[0].sheet == "学校月报" and "无人监护" in report.errors[0].message


@pytest.mark.parametrize("code_value, expected", [
    ("5205259999", "不存在"), (None, "为空")])
def test_e03_unknown_school(engine, code_value, expected):
    frame = with_cell(school_frame(engine), 3, "school_code", code_value)
    report = refused(engine, workbook({"schools": frame}), "E03")
    error = next(e for e in report.errors if e.code == "E03")
    assert (error.sheet, error.row, error.column) == ("学校月报", 5, "学校代码")
    assert expected in error.message and "A5" == error.cell


def test_e03_school_of_another_township(engine):
    other = township_schools(engine, OTHER_TOWNSHIP)[0]
    frame = with_cell(school_frame(engine), 0, "school_code", other.code)
    report = refused(engine, workbook({"schools": frame}), "E03")
    assert "不属于张家湾镇" in report.errors[0].message


def test_e03_home_host_of_another_township(engine):
    other = township_schools(engine, OTHER_TOWNSHIP)[0]
    homes = with_cell(home_frame(engine), 1, "host_code", other.code)
    report = refused(engine, workbook({"homes": homes}), "E03")
    assert report.errors[0].sheet == "留守儿童之家" and report.errors[0].column == "依托单位代码"


def test_e03_unknown_township(engine):
    refused(engine, workbook({"schools": school_frame(engine)}), "E03", township="520525999")


def test_e04_duplicates(engine):
    schools = school_frame(engine)
    schools = pd.concat([schools, schools.iloc[[2]]], ignore_index=True)
    refused(engine, workbook({"schools": schools}), "E04")
    homes = with_cell(home_frame(engine), 1, "home_code", home_frame(engine).home_code[0])
    refused(engine, workbook({"homes": homes}), "E04")
    ledger = with_cell(funding_frame(), 1, "voucher", "XD-001")
    refused(engine, workbook({"funding": ledger}), "E04")


def test_e04_home_code_used_by_another_township(engine):
    assert ingest(engine, workbook({"homes": home_frame(engine)})).accepted
    other = home_frame(engine, OTHER_TOWNSHIP)
    other.loc[0, "home_code"] = home_frame(engine).home_code[0]
    refused(engine, workbook({"homes": other}), "E04", township=OTHER_TOWNSHIP)


@pytest.mark.parametrize("value", ["12.5", -3, "三十", "12人", True])
def test_e05_not_a_whole_number(engine, value):
    frame = with_cell(school_frame(engine), 0, "students", value)
    report = refused(engine, workbook({"schools": frame}), "E05")
    error = next(e for e in report.errors if e.code == "E05")
    assert (error.row, error.column) == (2, "在校学生数")


def test_e05_shows_a_typed_negative_number_as_typed(engine):
    """The spreadsheet hands -3 over as -3.0; the clerk typed -3 and must read -3."""
    frame = with_cell(school_frame(engine), 0, "students", -3)
    error = next(e for e in refused(engine, workbook({"schools": frame}), "E05").errors
                 if e.code == "E05")
    assert "“-3”不是大于等于0的整数" in error.message and "-3.0" not in error.message


@pytest.mark.parametrize("value", ["-100", "12.345", "一万", None])
def test_e05_not_an_amount(engine, value):
    refused(engine, workbook({"funding": with_cell(funding_frame(), 0, "amount", value)}), "E05")


def _break(frame, key, delta, row=0):
    frame = frame.copy()
    frame.loc[row, key] += delta
    return frame


@pytest.mark.parametrize("key, delta, code", [
    ("left_behind", 100000, "E06"),
    ("boys", 1, "E07"),
    ("primary", -1, "E08"),
    ("guardian_relatives", 2, "E09"),
])
def test_arithmetic_rules(engine, key, delta, code):
    frame = school_frame(engine)
    if code == "E06":  # keep the other sums whole so that only E06 fires
        frame.loc[0, ["left_behind", "girls", "primary", "guardian_grandparents"]] += delta
    else:
        frame = _break(frame, key, delta)
    report = refused(engine, workbook({"schools": frame}), code)
    assert codes(report) == [code]
    assert report.errors[0].row == 2


def test_e07_names_both_columns_of_the_sum(engine):
    """One girl too few looks like one boy too many: the message must name both columns."""
    frame = _break(school_frame(engine), "girls", -1)
    error = refused(engine, workbook({"schools": frame}), "E07").errors[0]
    boys, girls, left = (frame.loc[0, k] for k in ("boys", "girls", "left_behind"))
    assert f"男（" in error.message and f"）{boys} + 女（" in error.message
    assert f"）{girls} = {boys + girls}，不等于留守儿童数 {left}" in error.message


@pytest.mark.parametrize("part", ["both_parents_away", "boarding", "in_difficulty", "archived",
                                  "paired", "parent_contact"])
def test_e10_part_larger_than_left_behind(engine, part):
    frame = school_frame(engine)
    frame.loc[1, part] = frame.loc[1, "left_behind"] + 1
    frame.loc[1, "visited"] = 0
    report = refused(engine, workbook({"schools": frame}), "E10")
    error = next(e for e in report.errors if e.code == "E10")
    assert error.column == catalog.SCHOOLS.field(part).label and error.row == 3


def test_e11_visited_more_than_paired(engine):
    frame = school_frame(engine)
    frame.loc[0, "visited"] = frame.loc[0, "paired"] + 1
    assert codes(refused(engine, workbook({"schools": frame}), "E11")) == ["E11"]


@pytest.mark.parametrize("sheet, key, value", [
    ("funding", "kind", "借出"), ("funding", "source", "外省"), ("funding", "category", "吃饭"),
    ("homes", "host_type", "医院"), ("homes", "standardized", "部分"), ("funding", "kind", None)])
def test_e12_bad_enumerated_value(engine, sheet, key, value):
    frame = {"funding": funding_frame(), "homes": home_frame(engine)}[sheet]
    report = refused(engine, workbook({sheet: with_cell(frame, 0, key, value)}), "E12")
    assert report.errors[0].column == catalog.SHEETS_BY_KEY[sheet].field(key).label


@pytest.mark.parametrize("sheet, key, value", [
    ("funding", "date", dt.date(2025, 12, 31)), ("funding", "date", dt.date(2026, 11, 1)),
    ("funding", "date", "2026-02-30"), ("homes", "lon", 116.40), ("homes", "lat", 39.9),
    ("homes", "established", dt.date(2026, 12, 1))])
def test_e13_dates_and_coordinates_out_of_range(engine, sheet, key, value):
    frame = {"funding": funding_frame(), "homes": home_frame(engine)}[sheet]
    if key == "lon":
        frame = with_cell(frame, 0, "lat", 39.9)
    refused(engine, workbook({sheet: with_cell(frame, 0, key, value)}), "E13")


def test_a_homes_sheet_without_any_established_date_is_checked_not_crashed(engine):
    """建成日期 is optional; a sheet where it is blank in every row came through as NaT and
    the E13 check raised TypeError instead of reporting."""
    homes = home_frame(engine).assign(established=None)
    report = ingest(engine, workbook({"homes": homes}), dry_run=True)
    assert report.accepted, report.errors


@pytest.mark.parametrize("period", ["2026-13", "202610", "2026-1", "2027-01", "2026-12"])
def test_e14_bad_or_future_period(engine, period):
    refused(engine, workbook({"schools": school_frame(engine)}), "E14", period=period)


def test_e15_clerk_of_another_township_and_locked_period(engine):
    with transaction(engine) as s:
        s.add_all([User(username="clerk101", role="clerk", township_code=OTHER_TOWNSHIP),
                   User(username="clerk108", role="clerk", township_code=TOWNSHIP),
                   User(username="leader", role="leader")])
    data = workbook({"schools": school_frame(engine)})
    for user in ("clerk101", "leader", "nobody"):
        refused(engine, data, "E15", username=user)
    report = ingest(engine, data, username="clerk108")
    assert report.accepted
    with transaction(engine) as s:
        s.get(Submission, report.submission_id).status = APPROVED
    refused(engine, data, "E15", username="clerk108")


# --- Warnings: stored, and shown -------------------------------------------------------

def warned(engine, frame, code):
    report = ingest(engine, workbook({"schools": frame}))
    assert report.accepted, [e.message for e in report.errors]
    return [w for w in report.warnings if w.code == code]


def test_w02_school_name_differs(engine):
    frame = with_cell(school_frame(engine), 2, "school_name", "别的名字小学")
    found = warned(engine, frame, "W02")
    assert len(found) == 1 and found[0].row == 4 and found[0].column == "学校名称"


def test_w02_not_raised_for_spacing(engine):
    frame = school_frame(engine)
    frame.loc[0, "school_name"] = " " + frame.loc[0, "school_name"].replace("镇", "镇 ")
    assert warned(engine, frame, "W02") == []


def with_left_behind(frame, row, children):
    """The school at `row` with `children` left-behind children, every rule still obeyed."""
    frame = frame.copy()
    whole = ("left_behind", "boys", "primary", "guardian_grandparents", "archived", "paired")
    frame.loc[row, list(whole)] = children
    frame.loc[row, [k for k in catalog.SCHOOL_COUNT_KEYS
                    if k not in whole and k not in ("students", "mentors",
                                                    "psych_teachers")]] = 0
    frame.loc[row, "students"] = max(int(frame.loc[row, "students"]), children)
    return frame


def test_w03_a_small_school_is_not_warned_for_two_children_a_big_one_is(engine):
    """rules.toml [plausibility]: a change past BOTH the absolute and the relative threshold.
    3 -> 5 is +67% but two children; 200 -> 120 is 80 children and -40%."""
    names = school_frame(engine)["school_name"]
    last = with_left_behind(with_left_behind(school_frame(engine), 0, 200), 1, 3)
    assert ingest(engine, workbook({"schools": last}), period="2026-09").accepted
    now = with_left_behind(with_left_behind(school_frame(engine), 0, 120), 1, 5)
    found = warned(engine, now, "W03")
    assert [(w.row, w.column) for w in found] == [(2, "留守儿童数")]
    assert (f"学校“{names[0]}”留守儿童数由上月200人变为本月120人，减少80人（-40%）"
            in found[0].message)


def test_w03_not_for_a_school_without_last_months_return(engine):
    frame = school_frame(engine)
    assert ingest(engine, workbook({"schools": frame.iloc[1:]}), period="2026-09").accepted
    assert warned(engine, with_left_behind(frame, 0, 200), "W03") == []


def test_w04_unguarded_children(engine):
    frame = school_frame(engine)
    found = warned(engine, frame, "W04")
    assert len(found) == int((frame["guardian_none"] > 0).sum()) > 0


def test_w05_expected_school_missing_or_left_blank(engine):
    frame = school_frame(engine)
    dropped = frame.iloc[1:].copy()
    blank_row = frame.iloc[[0]].copy()
    blank_row[list(catalog.SCHOOL_COUNT_KEYS)] = None  # pre-filled code and name, no numbers
    found = warned(engine, pd.concat([dropped.iloc[:-1], blank_row]), "W05")
    assert len(found) == 1
    assert frame.school_code.iloc[0] in found[0].message
    assert frame.school_code.iloc[-1] in found[0].message


def test_w06_names_the_part_that_falls_short_and_by_how_many(engine):
    frame = with_left_behind(with_left_behind(school_frame(engine), 0, 60), 1, 60)
    frame.loc[0, "archived"] = 43                       # 已建档 17 short, 已结对 complete
    frame.loc[1, ["paired", "visited"]] = (43, 0)      # 已结对 17 short, 已建档 complete
    found = {(w.row, w.column): w.message for w in warned(engine, frame, "W06")}
    assert "已建档少于留守儿童数17人" in found[(2, "已建档")]
    assert "已结对帮扶少于留守儿童数17人" in found[(3, "已结对帮扶")]
    assert (2, "已结对帮扶") not in found and (3, "已建档") not in found
    short = int((frame.archived < frame.left_behind).sum()
                + (frame.paired < frame.left_behind).sum())
    assert len(found) == short


# --- Storage: one transaction, supersession ---------------------------------------------

def test_failure_half_way_stores_nothing(engine, monkeypatch):
    frames = all_frames(engine)
    data = workbook(frames)
    before = row_counts(engine)
    real_insert = store.insert_frame
    calls = []

    def failing_insert(conn, table, rows):  # fails at the third sheet, after two were written
        calls.append(table)
        if table is FundingEntry.__table__:
            raise RuntimeError("disk full")
        return real_insert(conn, table, rows)

    monkeypatch.setattr(store, "insert_frame", failing_insert)
    with pytest.raises(RuntimeError):
        ingest(engine, data)
    assert SchoolReturn.__table__ in calls and Home.__table__ in calls
    assert row_counts(engine) == before


def test_new_submission_supersedes_and_copies_sheets_not_carried(engine):
    frames = all_frames(engine)
    first = ingest(engine, workbook(frames))
    only_ledger = funding_frame()
    only_ledger.loc[1, "amount"] = 500.0
    second = ingest(engine, workbook({"funding": only_ledger}))
    assert second.accepted
    with session_maker(engine)() as s:
        old, new = s.get(Submission, first.submission_id), s.get(Submission, second.submission_id)
        assert (old.is_current, new.is_current, new.previous_id) == (False, True, old.id)
        assert new.has_schools and new.has_homes and new.carried == "funding"
        ledger = s.scalars(select(FundingEntry.amount).where(
            FundingEntry.submission_id == new.id).order_by(FundingEntry.date)).all()
        assert [float(a) for a in ledger] == [100000.0, 500.0]
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "submit")) == 2
    assert len(stored_schools(engine, second.submission_id)) == len(frames["schools"])


def test_dry_run_stores_nothing(engine):
    before = row_counts(engine)
    report = ingest(engine, workbook(all_frames(engine)), dry_run=True)
    assert report.accepted and report.submission_id is None
    assert row_counts(engine) == before


def test_postgresql_round_trip_and_refusal(any_engine):
    frames = all_frames(any_engine)
    style = ClerkStyle(two_level=True, title_rows=1, total_row=True, signature=True)
    report = ingest(any_engine, workbook(frames, style))
    assert_stored_exactly(any_engine, report, frames["schools"])
    bad = _break(frames["schools"], "boys", 1)
    refused(any_engine, workbook({**frames, "schools": bad}), "E07")
    with session_maker(any_engine)() as s:
        amounts = s.scalars(select(FundingEntry.amount).where(
            FundingEntry.submission_id == report.submission_id)).all()
    assert sorted(float(a) for a in amounts) == [12345.67, 100000.0]


# --- Command line -----------------------------------------------------------------------

def test_cli_ingest_json_and_exit_codes(engine, tmp_path, capsys):
    from liushou_dash.cli import main
    url = str(engine.url)
    good = tmp_path / "good.xlsx"
    good.write_bytes(workbook({"schools": school_frame(engine)}))
    bad = tmp_path / "bad.csv"
    rows, _ = grid(catalog.SCHOOLS, _break(school_frame(engine), "girls", 1))
    bad.write_bytes(to_csv(rows))
    assert main(["--db", url, "ingest", str(good), "--township", TOWNSHIP, "--period",
                 "2026-09", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["accepted"] and isinstance(out["submission_id"], int)
    assert set(out) == {"accepted", "submission_id", "errors", "warnings", "rows", "totals"}
    assert set(out["totals"]) == set(catalog.SCHOOL_COUNT_KEYS)
    assert main(["--db", url, "ingest", str(bad), "--township", TOWNSHIP, "--period",
                 "2026-09", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert not out["accepted"] and out["submission_id"] is None
    assert out["errors"][0]["code"] == "E07"
    assert set(out["errors"][0]) == {"code", "sheet", "row", "column", "message"}
    with pytest.raises(SystemExit) as exit_info:
        main(["--db", url, "ingest", str(good)])
    assert exit_info.value.code == 2


def test_empty_school_sheet_is_not_carried_and_says_so(engine):
    frames = {"schools": school_frame(engine).iloc[0:0], "homes": home_frame(engine)}
    report = ingest(engine, workbook(frames))
    assert report.accepted and report.rows["schools"] == 0
    assert [w.sheet for w in report.warnings if w.code == "W05"] == ["学校月报"]
    untouched = ingest(engine, workbook({"schools": school_frame(engine).iloc[0:0]}))
    assert codes(untouched) == ["E02"] and "已填写数据" in untouched.errors[0].message


def test_headers_with_sub_item_prefix_units_and_synonyms(engine):
    frame = school_frame(engine)
    rows, merges = grid(catalog.SCHOOLS, frame)
    header = rows[0]
    renamed = {"女": "其中：女", "留守儿童数": "留守儿童数（人）", "在校学生数": "在校学生总数",
               "男": "男生"}
    rows[0] = [renamed.get(h, h) for h in header]
    report = ingest(engine, to_xlsx({"学校月报": (rows, merges)}))
    assert_stored_exactly(engine, report, frame)
