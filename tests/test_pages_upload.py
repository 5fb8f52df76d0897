"""数据上报 through AppTest, and a clerk reaching for another township's data through the
core, the page and the command line."""
from __future__ import annotations

import contextlib
import io
import json

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from liushou_dash import cli
from liushou_dash.core.actors import Actor
from liushou_dash.core.db import session_maker
from liushou_dash.core.models import Submission
from liushou_dash.ingest.handback import ERROR_FILL
from liushou_dash.workflow import review, uploads
from tests.apptest import app_on, fine, table_with, url_of, widget  # noqa: F401
from tests.fixtures import OTHER_TOWNSHIP, TOWNSHIP, audit_rows, make_user, school_frame
from tests.returns import workbook

PAGE = "app_pages/upload.py"
PERIOD = uploads.open_period()   # the month the page offers first
CHECKED = "upload_checked"


@pytest.fixture
def clerk(engine):
    return make_user(engine, "clerk108", "clerk", TOWNSHIP)


@pytest.fixture
def page(engine, app_on):
    """The upload page as `actor` sees it (after logging in and choosing it)."""
    return lambda actor: app_on(engine, actor, PAGE)


def upload(app: AppTest, data: bytes, name: str = "张家湾镇10月.xlsx") -> AppTest:
    app.file_uploader[0].set_value((name, data, "application/octet-stream"))
    return fine(app.run())


def submissions(engine) -> list[Submission]:
    with session_maker(engine)() as session:
        return list(session.query(Submission).order_by(Submission.id))


def test_a_valid_file_is_checked_then_stored_only_when_confirmed(engine, clerk, page):
    frame = school_frame(engine)
    app = upload(page(clerk), workbook({"schools": frame}))

    assert app.success[0].value.startswith(f"校验通过：学校月报 {len(frame)} 行")
    totals = table_with(app, "合计").set_index("项目")["合计"]
    assert totals["留守儿童数"] == frame.left_behind.sum()
    warned = table_with(app, "问题说明")["代码"]           # school_frame has W04 and W06
    assert len(warned) and all(code.startswith("W") for code in warned)
    assert "下载已标注问题的文件" in [b.label for b in app.download_button]
    assert submissions(engine) == []          # the check stored nothing

    widget(app.button, "确认提交").click()
    fine(app.run())

    [stored] = submissions(engine)
    assert (stored.township_code, stored.period, stored.username) == (TOWNSHIP, PERIOD,
                                                                      "clerk108")
    assert f"提交编号 {stored.id}" in app.success[0].value
    assert app.file_uploader[0].value is None   # emptied for the next file
    history = app.dataframe[-1].value
    assert history[["月份", "状态", "当前有效"]].values.tolist() == [[PERIOD, "已提交", "是"]]


def test_a_faulty_file_is_refused_with_a_table_and_the_marked_workbook(engine, clerk, page):
    frame = school_frame(engine)
    frame.loc[2, "visited"] = frame.loc[2, "paired"] + 1          # E11
    app = upload(page(clerk), workbook({"schools": frame}))

    assert app.error[0].value.startswith("未通过校验，数据未保存：共 1 处错误")
    errors = table_with(app, "问题说明")
    assert list(errors.columns) == ["代码", "工作表", "行", "列", "问题说明"]
    assert errors.iloc[0, :4].tolist() == ["E11", "学校月报", 2 + 2, "本月走访人数"]
    assert not [b for b in app.button if b.label == "确认提交"]
    assert [b.label for b in app.download_button][-1] == "下载已标注问题的文件"
    _, report, marked = app.session_state[CHECKED]
    sheet = openpyxl.load_workbook(io.BytesIO(marked.data))["学校月报"]
    assert sheet[report.errors[0].cell].fill.fgColor.rgb == ERROR_FILL.fgColor.rgb
    assert submissions(engine) == []


def test_a_file_that_is_not_a_spreadsheet_is_refused_and_explained(engine, clerk, page):
    app = upload(page(clerk), b"%PDF-1.7 a scanned form", "月报.xlsx")

    assert table_with(app, "问题说明")["代码"].tolist() == ["E01"]
    assert any("无法在原文件上标注" in i.value or "不能在原文件上标注" in i.value
               for i in app.info)
    assert submissions(engine) == []


def test_a_returned_month_shows_the_reviewers_comment_as_text(engine, clerk, page):
    staff = make_user(engine, "staffx", "staff")
    first = uploads.upload(engine, clerk, TOWNSHIP, PERIOD,
                           workbook({"schools": school_frame(engine)}), "a.xlsx", False)
    review.return_submission(engine, staff, first.submission_id, "**第3行**有误<br>请核实")

    app = page(clerk)

    warning = app.warning[0].value
    assert "退回意见" in warning and "\\*\\*第3行\\*\\*有误\\<br\\>请核实" in warning
    assert app.dataframe[-1].value["审核意见"].tolist() == ["**第3行**有误<br>请核实"]



def test_the_template_download_is_audited(engine, clerk, page):
    app = page(clerk)

    widget(app.download_button, "下载本月模板（已预填本乡镇学校、之家和资金台账）").click()
    fine(app.run())

    [row] = audit_rows(engine, "download", "clerk108")
    assert row.object_id == "template"
    assert json.loads(row.detail) == {"township": TOWNSHIP, "period": PERIOD,
                                      "file": uploads.template_name("张家湾镇", PERIOD)}


# --- Another township's data --------------------------------------------------------------------

def test_the_core_refuses_a_clerk_another_townships_data_and_audits_it(engine, clerk):
    data = workbook({"schools": school_frame(engine, OTHER_TOWNSHIP)})
    attempts = (
        lambda: uploads.upload(engine, clerk, OTHER_TOWNSHIP, PERIOD, data, "x.xlsx", True),
        lambda: uploads.upload(engine, clerk, OTHER_TOWNSHIP, PERIOD, data, "x.xlsx", False),
        lambda: uploads.template(engine, clerk, OTHER_TOWNSHIP, PERIOD),
        lambda: uploads.history(engine, clerk, OTHER_TOWNSHIP),
        lambda: review.submissions(engine, clerk, OTHER_TOWNSHIP))
    for attempt in attempts:
        with pytest.raises(PermissionError, match="本乡镇"):
            attempt()

    denied = audit_rows(engine, "denied", "clerk108")
    assert len(denied) == len(attempts)
    assert [json.loads(d.detail)["refused"] for d in denied] == [
        "check_upload", "upload", "template", "list_submissions", "list_submissions"]
    assert submissions(engine) == []


def test_the_page_uses_the_township_of_the_account_not_of_the_session(engine, clerk, page):
    forged = Actor("clerk108", "clerk", OTHER_TOWNSHIP, "伪造")
    app = upload(page(forged), workbook({"schools": school_frame(engine)}))

    assert TOWNSHIP in app.caption[0].value and OTHER_TOWNSHIP not in app.caption[0].value
    widget(app.button, "确认提交").click()
    fine(app.run())
    assert [s.township_code for s in submissions(engine)] == [TOWNSHIP]


def run_cli(*args: str) -> tuple[int, dict]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(list(args))
    return code, json.loads(out.getvalue())


@pytest.fixture
def cli_attempt(engine, clerk, tmp_path):
    path = tmp_path / "骔岭镇.xlsx"
    path.write_bytes(workbook({"schools": school_frame(engine, OTHER_TOWNSHIP)}))
    return run_cli("--db", url_of(engine), "ingest", str(path), "--user", "clerk108",
                   "--township", OTHER_TOWNSHIP, "--period", PERIOD, "--json")


def test_the_command_line_refuses_a_clerk_another_township(engine, cli_attempt):
    code, report = cli_attempt
    assert code == 1 and not report["accepted"]
    assert [e["code"] for e in report["errors"]] == ["E15"]
    assert submissions(engine) == []


def test_the_command_line_refusal_is_audited(engine, cli_attempt):
    [denied] = audit_rows(engine, "denied", "clerk108")
    assert denied.object_id == f"{OTHER_TOWNSHIP}/{PERIOD}"
