"""One way out: every file the app and the command line hand out is defused, and so is every
table a page shows (its cells can be copied into Excel).

The database is built the way the county builds it: the administrator loads schools whose
names look like formulas, a clerk uploads a return whose homes and ledger entries carry the
same texts, a reviewer returns another township's upload with such a comment, clerks of the
townships still owing go by such names, and downloads are audited under such names. Then
each way out is taken: the command line's export, template and bulletin, and every download
button of every page (list them: grep download_button app_pages liushou_dash), driven
through AppTest as the user would click them.
"""
from __future__ import annotations

import csv
import io
import json
import re
import shutil

import openpyxl
import pandas as pd
import pytest
import streamlit as st
from streamlit import config
from streamlit.testing.v1 import AppTest

from liushou_dash import catalog
from liushou_dash.catalog import YES
from liushou_dash.cli import main as cli
from liushou_dash.core.actors import Actor
from liushou_dash.core.db import dispose_engines, make_engine, transaction
from liushou_dash.ingest.store import store_submission
from liushou_dash.reports import export
from liushou_dash.workflow import accounts, administration, passwords, review, uploads
from liushou_dash.workflow.downloads import audit_download
from tests.apptest import APP, fine, sign_in, url_of, widget
from tests.fixtures import (
    OTHER_TOWNSHIP,
    PASSWORD,
    TOWNSHIP,
    audit_rows,
    make_user,
    school_frame,
    township_schools,
)
from tests.returns import to_xls, workbook
from tests.apptest import downloads  # noqa: F401  (a fixture: the files handed out)

PLANTED = ('=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "-1+1", "@SUM(A1)",
           "＝１＋１", "＋1", "－1", "＠x")
DEFUSED = {"'" + text for text in PLANTED}
# What a spreadsheet runs, written out here rather than borrowed from the code under test.
RUNS = re.compile(r"\s*[=+\-@＝＋－＠]|[\t\r]")
NUMBER = re.compile(r"-?\d+(\.\d+)?$")
PERIOD = uploads.open_period()   # the month clerks may upload now; the chase list's month
# Townships whose every school has a child without a guardian: with the clerk's township
# and the returned one, more 无人监护 alerts than the cockpit lists, so it offers the file.
UNGUARDED = ("520525105", "520525116")
# Townships that owe the month (no upload): each has a clerk named like a formula.
OWING = ("520525001", "520525002", "520525003", "520525004", "520525005", "520525006",
         "520525102", "520525103")


# --- The county, planted ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def county(tmp_path_factory, county_db_file):
    """(engine, people, the correction's id) of a database holding the planted texts (see
    the module's doc)."""
    path = tmp_path_factory.mktemp("planted") / "planted.db"
    shutil.copy(county_db_file, path)
    engine = make_engine(f"sqlite:///{path}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "BCRYPT_ROUNDS", 4)
        people = {"admin": make_user(engine, "boss", "admin"),
                  "staff": make_user(engine, "checker", "staff"),
                  "clerk": make_user(engine, "clerk108", "clerk", TOWNSHIP),
                  "other": make_user(engine, "clerk101", "clerk", OTHER_TOWNSHIP)}
        for number, (township, name) in enumerate(zip(OWING, PLANTED)):
            accounts.create_user(engine, Actor.system(), f"owing{number}", "clerk",
                             PASSWORD, township_code=township, display_name=name)
    administration.load_master_file(engine, people["admin"], _renamed_schools(engine), "schools.csv")
    correction = _returns(engine, people)
    for text in PLANTED:
        audit_download(engine, people["admin"], text, file=text)
    st.cache_data.clear()
    yield engine, people, correction
    st.cache_data.clear()
    dispose_engines()
    engine.dispose()


def _renamed_schools(engine) -> bytes:
    """schools.csv with the township's first schools named like formulas."""
    schools = township_schools(engine)[:len(PLANTED)]
    frame = pd.DataFrame({"code": [s.code for s in schools], "name": list(PLANTED),
                          "township_code": TOWNSHIP, "type": [s.type for s in schools],
                          "students": [s.students for s in schools],
                          "lon": [s.lon for s in schools], "lat": [s.lat for s in schools]})
    return frame.to_csv(index=False).encode("utf-8-sig")


def _unguarded(engine, township: str) -> pd.DataFrame:
    """A valid school return with a child without a guardian in every school."""
    frame = school_frame(engine, township)
    frame["guardian_none"] = frame["guardian_none"].clip(lower=1)
    frame["guardian_other"] = (frame["left_behind"] - frame["guardian_grandparents"]
                               - frame["guardian_relatives"] - frame["guardian_none"])
    return frame


def _homes(engine) -> pd.DataFrame:
    return pd.DataFrame([{
        "home_code": f"H{school.code}", "name": text, "host_type": "学校",
        "host_code": school.code, "lon": school.lon, "lat": school.lat,
        "established": pd.Timestamp("2024-03-01").date(), "standardized": YES,
        "has_phone": YES, "has_video": YES, "books": 500, "open_hours": 10.0, "staff": 2,
        "children_served": 40}
        for school, text in zip(township_schools(engine), PLANTED)])


def _ledger() -> pd.DataFrame:
    day = pd.Timestamp(f"{PERIOD}-01").date()
    return pd.DataFrame([{
        "date": day, "kind": "支出", "source": "县级", "category": "关爱活动",
        "amount": 100.0 + number, "description": text, "voucher": f"ZC-{number:03d}"}
        for number, text in enumerate(PLANTED)])


def _upload_mine(engine, clerk, homes: pd.DataFrame) -> int:
    """The clerk's return: schools, homes and ledger (.xls: text cells stay text, where
    openpyxl would write "=..." as a formula)."""
    data = workbook({"schools": _unguarded(engine, TOWNSHIP), "homes": homes,
                     "funding": _ledger()}, writer=to_xls)
    report = uploads.upload(engine, clerk, TOWNSHIP, PERIOD, data, "月报.xls", dry_run=False)
    assert report.accepted, report.errors
    return report.submission_id


def _returns(engine, people) -> int:
    """The clerk's upload and its correction (more books in every home: the reviewer's
    comparison lists the homes by name), another township's upload returned with a
    formula-like comment, and returns of the UNGUARDED townships. The correction's id."""
    _upload_mine(engine, people["clerk"], _homes(engine))
    correction = _upload_mine(engine, people["clerk"], _homes(engine).assign(books=600))
    other = uploads.upload(engine, people["other"], OTHER_TOWNSHIP, PERIOD,
                           workbook({"schools": _unguarded(engine, OTHER_TOWNSHIP)}),
                           "月报.xlsx", dry_run=False)
    assert other.accepted, other.errors
    review.return_submission(engine, people["staff"], other.submission_id, PLANTED[0])
    for township in UNGUARDED:
        with transaction(engine) as session:
            store_submission(session, township_code=township, period=PERIOD,
                             frames={"schools": _unguarded(engine, township)})
    return correction


# --- Reading what was handed out -----------------------------------------------------------------

def runs(value) -> bool:
    return isinstance(value, str) and RUNS.match(value) is not None


def csv_cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def xlsx_cells(data: bytes) -> list[openpyxl.cell.Cell]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def assert_defused_csv(data: bytes, planted=PLANTED) -> list[list[str]]:
    """No cell of the CSV would run (a number, -2 days left included, is read as a number);
    each planted text is there, defused."""
    rows = csv_cells(data)
    cells = {cell for row in rows for cell in row}
    assert not [cell for cell in cells if runs(cell) and not NUMBER.match(cell)]
    assert {"'" + text for text in planted} <= cells, {"'" + t for t in planted} - cells
    return rows


def assert_defused_xlsx(data: bytes, planted=PLANTED) -> list:
    """No cell of the workbook is a formula or text that would run; each planted text is
    there, defused, in a text cell."""
    cells = xlsx_cells(data)
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert not [c.value for c in cells if runs(c.value)]
    found = {c.value: c.data_type for c in cells if isinstance(c.value, str)}
    for text in planted:
        assert found.get("'" + text) == "s", text
    return cells


def column(rows: list[list[str]], header: str) -> list[str]:
    at = rows[0].index(header)
    return [row[at] for row in rows[1:]]


def numbers(cells, header: str) -> list:
    """The values of the column headed `header` (in row 1) in the sheet that has it."""
    [top] = [c for c in cells if c.row == 1 and c.value == header]
    return [c.value for c in cells if c.column == top.column and c.parent is top.parent
            and c.row > top.row and c.value is not None]


# --- The command line ------------------------------------------------------------------------------

def test_the_command_line_export_is_defused_and_keeps_numbers(county, tmp_path):
    engine = county[0]
    for fmt in export.FORMATS:
        out = tmp_path / f"schools.{fmt}"
        assert cli(["--db", url_of(engine), "export", "--from", PERIOD, "--to", PERIOD,
                    "--level", "school", "--format", fmt, "-o", str(out)]) == 0
        if fmt == "csv":
            rows = assert_defused_csv(out.read_bytes())
            assert all(cell.isdigit() for cell in column(rows, "left_behind"))
        else:
            cells = assert_defused_xlsx(out.read_bytes())
            counts = numbers(cells, "留守儿童数")
            assert counts and all(isinstance(v, int) for v in counts)


def test_the_command_line_bulletin_workbook_is_defused(county, tmp_path):
    engine = county[0]
    docx, xlsx = tmp_path / "通报.docx", tmp_path / "通报.xlsx"
    assert cli(["--db", url_of(engine), "bulletin", "--period", PERIOD, "-o", str(docx),
                "--xlsx", str(xlsx)]) == 0
    cells = assert_defused_xlsx(xlsx.read_bytes())
    unattended = numbers(cells, "无人监护人数")
    assert unattended and all(isinstance(v, int) and v >= 1 for v in unattended)


def test_the_template_keeps_the_texts_as_typed_but_never_runs_them(county, tmp_path):
    """The template comes back as an upload: its texts are kept exactly (an apostrophe
    would be stored with them), in text cells carrying Excel's quote prefix."""
    engine, people, _ = county
    out = tmp_path / "模板.xlsx"
    assert cli(["--db", url_of(engine), "template", "--township", TOWNSHIP,
                "--period", PERIOD, "-o", str(out)]) == 0
    for data in (out.read_bytes(), uploads.template(engine, people["clerk"], TOWNSHIP, PERIOD)):
        cells = xlsx_cells(data)
        assert not [c.coordinate for c in cells if c.data_type == "f"]
        risky = [c for c in cells if runs(c.value)]
        assert all(c.data_type == "s" and c.quotePrefix for c in risky)
        by_text = {}
        for c in risky:
            by_text.setdefault(c.value, []).append(c)
        for text in PLANTED:   # school names, home names and ledger entries
            assert len(by_text.get(text, [])) >= 3, text


# --- The pages' download buttons ------------------------------------------------------------------

@pytest.fixture
def page(county, monkeypatch):
    """open(page, person="admin"): app.py on the planted county, `person` logged in."""
    engine, people, _ = county
    monkeypatch.setenv("LIUSHOU_DATABASE_URL", url_of(engine))

    def open_page(path: str, person: str = "admin") -> AppTest:
        app = AppTest.from_file(APP, default_timeout=60)
        sign_in(app, people[person])
        fine(app.run())
        return fine(app.switch_page(path).run())
    return open_page


def handed_out(files: dict, part: str) -> dict[str, bytes]:
    """The files whose name holds `part`, by format."""
    found = {name.rsplit(".", 1)[1]: data for name, data in files.items()
             if name and part in name}   # pictures are stored without a name
    assert found, (part, list(files))
    return found


def audited_clicks(app: AppTest, county, person: str = "admin") -> set[str]:
    """Click every download button of the page: the files the audit rows name."""
    engine, people, _ = county
    username = people[person].username
    before = len(audit_rows(engine, "download", username))
    for index in range(len(app.download_button)):
        app.download_button[index].click()
        fine(app.run())
    return {json.loads(row.detail)["file"]
            for row in audit_rows(engine, "download", username)[before:]}


def assert_audited(app: AppTest, county, files: dict, part: str) -> None:
    """Each button of the page leaves an audit row naming its file: no way around it."""
    offered = {name for name in files if name and part in name}
    assert audited_clicks(app, county) == offered


def test_the_cockpits_alert_list(county, page, downloads):
    app = page("app_pages/cockpit.py")
    files = handed_out(downloads, "预警清单_")
    rows = assert_defused_csv(files["csv"])
    assert set(column(rows, "学校")) >= DEFUSED
    assert_defused_xlsx(files["xlsx"])
    assert_audited(app, county, downloads, "预警清单_")


def test_the_funding_ledger(county, page, downloads):
    app = page("app_pages/funding.py")
    files = handed_out(downloads, "资金台账_")
    rows = assert_defused_csv(files["csv"])
    assert set(column(rows, "项目摘要")) == DEFUSED
    assert all(float(amount) >= 100 for amount in column(rows, "金额（元）"))
    cells = assert_defused_xlsx(files["xlsx"])
    amounts = numbers(cells, catalog.label_of("amount"))
    assert amounts and all(isinstance(v, (int, float)) for v in amounts)
    assert_audited(app, county, downloads, "资金台账_")


def test_the_chase_list(county, page, downloads):
    app = page("app_pages/progress.py")
    files = handed_out(downloads, f"催报名单_{PERIOD}")
    rows = assert_defused_csv(files["csv"])
    assert "'" + PLANTED[0] in column(rows, "退回意见")     # the reviewer's comment
    assert set(column(rows, "填报员")) >= DEFUSED                # the clerks' names
    assert all(cell.lstrip("-").isdigit() for cell in column(rows, "剩余天数"))
    cells = assert_defused_xlsx(files["xlsx"])
    assert all(isinstance(v, int) for v in numbers(cells, "剩余天数"))
    assert_audited(app, county, downloads, "催报名单_")


def test_the_download_pages_school_table(county, page, downloads):
    app = page("app_pages/download.py")
    fine(app.radio(key="download_level").set_value("school").run())
    files = handed_out(downloads, "留守儿童学校数据_")
    rows = assert_defused_csv(files["csv"])
    assert set(column(rows, "学校名称")) >= DEFUSED
    assert all(cell.isdigit() for cell in column(rows, "留守儿童数"))
    assert_defused_xlsx(files["xlsx"])
    assert_audited(app, county, downloads, "留守儿童学校数据_")


def test_the_bulletins_workbook(county, page, downloads):
    app = page("app_pages/bulletin.py")
    assert_defused_xlsx(handed_out(downloads, "通报")["xlsx"])
    assert_audited(app, county, downloads, "通报")   # the Word document too


def test_the_audit_log(county, page, downloads):
    app = page("app_pages/admin.py")
    files = handed_out(downloads, "审计日志_")
    rows = assert_defused_csv(files["csv"])
    assert set(column(rows, "对象")) >= DEFUSED
    assert_audited(app, county, downloads, "审计日志_")


# --- What the pages show ------------------------------------------------------------------------

def shown(app: AppTest) -> set:
    """Every cell and index label of every table on the page."""
    found = set()
    for table in app.dataframe:
        frame = table.value
        found |= set(frame.index) | {v for key in frame.columns for v in frame[key]}
    return found


@pytest.mark.parametrize("path", ["app_pages/homes.py", "app_pages/funding.py",
                                  "app_pages/pairing.py", "app_pages/progress.py",
                                  "app_pages/admin.py", "app_pages/bulletin.py"])
def test_tables_show_the_texts_defused(page, path):
    cells = shown(page(path))
    assert not [cell for cell in cells if runs(cell)], path
    assert cells >= DEFUSED, DEFUSED - cells


def test_the_review_pages_comparison_shows_the_texts_defused(county, page):
    correction = county[2]
    app = page("app_pages/review.py", "staff")
    widget(app.selectbox, "选择要审核的提交").set_value(correction)
    cells = shown(fine(app.run()))
    assert not [cell for cell in cells if runs(cell)]
    assert cells >= DEFUSED   # the homes' names in the comparison


def test_numbers_stay_numbers():
    """-3 as a number is untouched in both files; "-3" as text is defused."""
    frame = pd.DataFrame({"name": ["-3", "张家湾镇"], "left_behind": [-3, 5]})
    rows = csv_cells(export.frame_bytes(frame, "csv"))
    assert rows[1:] == [["'-3", "-3"], ["张家湾镇", "5"]]
    values = [[c.value for c in row] for row in openpyxl.load_workbook(
        io.BytesIO(export.frame_bytes(frame, "xlsx"))).active.iter_rows(min_row=2)]
    assert values == [["'-3", -3], ["张家湾镇", 5]]


def test_the_tables_own_download_is_off():
    """st.dataframe's "Download as CSV" (no audit, no defusing) and copying out of the
    table: off for every table of every page (tests/browser/test_browser_one_way_out.py
    hovers them in Chromium)."""
    config.get_config_options(force_reparse=True)  # .streamlit/config.toml of the project
    assert config.get_option("client.disableDataExport") is True
