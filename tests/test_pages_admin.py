"""管理 through AppTest (users, master data and boundaries, the deadline, the audit log) and
the administrator checks of liushou_dash.admin."""
from __future__ import annotations

import datetime as dt
import io
import json

import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from liushou_dash.core import settings
from liushou_dash.core.db import session_maker
from liushou_dash.core.masterdata import DEMO_DIR, MasterDataError
from liushou_dash.core.models import School
from liushou_dash.reports import export
from liushou_dash.web import views
from liushou_dash.workflow import administration, auth, throttle
from tests.apptest import app_on, fine, press, table_with, widget  # noqa: F401
from tests.fixtures import PASSWORD, TOWNSHIP, audit_rows, make_user
from tests.test_upload_bombs import with_cell

XSS = "<script>alert(1)</script>"
NEW_SCHOOL = "5205259999"


@pytest.fixture
def boss(engine):
    return make_user(engine, "boss", "admin")


@pytest.fixture
def page(engine, boss, app_on):
    return lambda: app_on(engine, boss, "app_pages/admin.py")


def fill(app: AppTest, values: dict) -> AppTest:
    for label, value in values.items():
        box = widget([*app.text_input, *app.selectbox], label)
        box.set_value(value) if hasattr(box, "options") else box.input(value)
    return app


# --- Users -----------------------------------------------------------------------------------

def test_the_admin_creates_an_account_that_can_log_in(engine, page):
    app = fill(page(), {"用户名": "clerk101", "姓名": "骔岭镇填报员", "角色": "clerk",
                        "所属乡镇（仅乡镇填报员）": TOWNSHIP, "初始密码": "Lsz-new-2026"})
    press(app, "创建")

    assert "已创建账号 clerk101" in app.success[0].value
    assert auth.authenticate(engine, "clerk101", "Lsz-new-2026").township_code == TOWNSHIP
    assert "clerk101" in table_with(app, "用户名")["用户名"].tolist()


def test_a_refused_account_says_why_as_text(engine, page):
    app = fill(page(), {"用户名": "Bad Name*", "初始密码": "Lsz-new-2026"})
    press(app, "创建")

    assert "不可用" in app.error[0].value and "bad name\\*" in app.error[0].value


def test_reset_password_then_deactivate_and_reactivate(engine, page):
    make_user(engine, "staffy", "staff")
    app = page()
    widget(app.selectbox, "账号").set_value("staffy")
    widget(app.text_input, "重置为新密码").input("Lsz-reset-2026")
    press(app, "重置密码")
    assert auth.authenticate(engine, "staffy", "Lsz-reset-2026").role == "staff"

    widget(app.selectbox, "账号").set_value("staffy")
    press(fine(app.run()), "停用账号")
    with pytest.raises(auth.LoginError, match="停用"):
        auth.authenticate(engine, "staffy", "Lsz-reset-2026")
    assert table_with(app, "用户名").set_index("用户名").loc["staffy", "启用"] == "否"

    widget(app.selectbox, "账号").set_value("staffy")
    press(fine(app.run()), "启用账号")
    assert auth.authenticate(engine, "staffy", "Lsz-reset-2026")


@pytest.mark.parametrize("password, why", [("Lsz-new", "至少"), ("woaini1314", "常见"),
                                           ("Clerk101-pw", "用户名"), (" " * 10, "空格")])
def test_the_create_form_refuses_a_weak_password(engine, page, password, why):
    app = fill(page(), {"用户名": "clerk101", "角色": "clerk",
                        "所属乡镇（仅乡镇填报员）": TOWNSHIP, "初始密码": password})
    press(app, "创建")
    assert why in app.error[0].value
    assert "clerk101" not in table_with(app, "用户名")["用户名"].tolist()


@pytest.mark.parametrize("password, why", [("88888888", "至少"), ("a123456789", "常见"),
                                           ("xx-staffy-xx", "用户名")])
def test_the_reset_form_refuses_a_weak_password(engine, page, password, why):
    make_user(engine, "staffy", "staff")
    app = page()
    widget(app.selectbox, "账号").set_value("staffy")
    widget(app.text_input, "重置为新密码").input(password)
    press(app, "重置密码")
    assert why in app.error[0].value
    assert auth.authenticate(engine, "staffy", PASSWORD)


def test_the_admin_resets_their_own_password_only_in_the_sidebar(engine, page):
    app = page()
    widget(app.selectbox, "账号").set_value("boss")
    widget(app.text_input, "重置为新密码").input("Taken-over-2026")
    press(app, "重置密码")
    assert "修改密码" in app.error[0].value
    assert auth.authenticate(engine, "boss", PASSWORD)


def test_the_users_table_shows_a_login_delay_and_the_admin_lifts_it(engine, page):
    make_user(engine, "staffy", "staff")
    for _ in range(throttle.ACCOUNT_DELAY.most):   # a stranger, all at once
        with pytest.raises(auth.LoginError):
            auth.authenticate(engine, "staffy", "Guess-123456", address="203.0.113.9")
    app = page()
    users = table_with(app, "用户名").set_index("用户名")
    assert users.loc["staffy", "近期输错次数"] == throttle.ACCOUNT_DELAY.free + 1
    assert pd.notna(users.loc["staffy", "登录等待至"])

    widget(app.selectbox, "账号").set_value("staffy")
    press(app, "解除登录等待")

    assert "已解除 staffy 的登录等待" in app.success[0].value
    users = table_with(app, "用户名").set_index("用户名")
    assert users.loc["staffy", "近期输错次数"] == 0 and pd.isna(users.loc["staffy", "登录等待至"])
    assert auth.authenticate(engine, "staffy", PASSWORD, address="198.51.100.4")
    assert audit_rows(engine, "unlock_user", "boss")[0].object_id == "staffy"


# --- Master data -----------------------------------------------------------------------------

def schools_csv(name: str, code: str = NEW_SCHOOL, township: str = TOWNSHIP) -> bytes:
    return (f"code,name,township_code,type\n{code},{name},{township},小学\n"
            .encode("utf-8-sig"))


def upload(app: AppTest, index: int, name: str, data: bytes) -> AppTest:
    app.file_uploader[index].set_value((name, data, "application/octet-stream"))
    return fine(app.run())


def test_a_school_named_like_a_script_is_stored_and_shown_as_text(engine, page):
    app = upload(page(), 0, "schools.csv", schools_csv(XSS))
    press(app, "导入主数据")
    assert "学校 1 所" in app.success[0].value

    widget(app.selectbox, "查看乡镇的学校").set_value(TOWNSHIP)
    fine(app.run())

    schools = table_with(app, "学校代码").set_index("学校代码")
    assert schools.loc[NEW_SCHOOL, "学校名称"] == XSS       # in a table cell, as text
    assert [h.proto.body for h in app.get("html")] == [     # no HTML but the page's style
        f"<style>{views.CHINESE_WIDGETS_CSS}</style>"]
    assert all(XSS not in m.value and not m.proto.allow_html
               for m in [*app.markdown, *app.caption, *app.info, *app.success])
    [loaded] = audit_rows(engine, "load_master", "boss")
    assert json.loads(loaded.detail)["schools"] == 1


def test_master_data_problems_are_listed_and_nothing_is_stored(engine, page):
    app = upload(page(), 0, "schools.csv", schools_csv("某小学", code="12"))
    press(app, "导入主数据")

    assert app.error[0].value == "未导入，问题如下："
    assert "代码“12”应为10位数字" in table_with(app, "问题")["问题"].iloc[0]
    with session_maker(engine)() as session:
        assert session.get(School, "12") is None


def boundary(code: str) -> dict:
    collection = json.loads((DEMO_DIR / "townships_synthetic.geojson").read_text("utf-8"))
    feature = next(f for f in collection["features"] if f["properties"]["code"] == TOWNSHIP)
    return {**feature, "properties": {"code": code}}


def geojson(*features) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def test_boundaries_must_name_known_townships(engine, page):
    app = upload(page(), 1, "边界.geojson", geojson(boundary(TOWNSHIP), boundary("999999999")))
    press(app, "导入乡镇边界")
    assert "乡镇代码“999999999”不在主数据中" in table_with(app, "问题")["问题"].iloc[0]

    app = upload(app, 1, "边界.geojson", geojson(boundary(TOWNSHIP)))
    press(app, "导入乡镇边界")
    assert app.success[0].value.startswith("已导入 1 个乡镇边界")
    assert audit_rows(engine, "load_boundaries", "boss")


@pytest.mark.parametrize("collection, problem", [
    ({"type": "Feature"}, "FeatureCollection"),
    ({"type": "FeatureCollection", "features": [{"geometry": {"type": "Point"},
                                                 "properties": {"code": TOWNSHIP}}]},
     "不是多边形"),
    ({"type": "FeatureCollection", "features": []}, "没有任何乡镇边界")])
def test_boundary_files_that_are_not_township_polygons(engine, boss, collection, problem):
    with pytest.raises(MasterDataError) as refused:
        administration.load_boundaries(engine, boss, json.dumps(collection).encode())
    assert problem in refused.value.problems[0]


# --- Deadline and audit log ------------------------------------------------------------------

def test_the_deadline_is_saved_and_audited(engine, page):
    app = page()
    widget(app.number_input, "每月数据的报送截止日（次月几号）").set_value(10)
    press(app, "保存")

    assert settings.deadline_day(engine) == 10
    [row] = audit_rows(engine, "set_deadline", "boss")
    assert json.loads(row.detail) == {"before": 5, "after": 10}


def test_the_audit_log_filters_by_who_and_what_and_its_download_is_audited(engine, page):
    make_user(engine, "staffy", "staff")
    with pytest.raises(auth.LoginError):
        auth.authenticate(engine, "staffy", "wrong-password")
    app = page()

    widget(app.selectbox, "用户").set_value("staffy")
    fine(app.run())
    log = table_with(app, "详情")
    assert set(log["用户"]) == {"staffy"} and set(log["操作"]) == {"登录", "登录失败"}
    widget(app.multiselect, "操作").set_value(["login_failed"])
    log = table_with(fine(app.run()), "详情")
    assert log["操作"].tolist() == ["登录失败"]
    assert log["详情"].tolist() == ["近期输错次数：1；来源地址：127.0.0.1"]  # words, not JSON

    widget(app.download_button, "下载审计日志（CSV）").click()
    fine(app.run())
    [download] = audit_rows(engine, "download", "boss")
    assert download.object_id == "audit_log"
    assert json.loads(download.detail)["user"] == "staffy"


def test_the_audit_log_filters_by_date(engine, boss):
    yesterday = dt.date.today() - dt.timedelta(days=1)
    assert administration.audit_log(engine, boss, until=yesterday).empty
    assert not administration.audit_log(engine, boss, since=dt.date.today()).empty


def test_audit_details_read_as_words():
    refusal = json.dumps({"refused": "approve", "reason": "无权操作", "comment": ""})
    review = json.dumps({"status_before": "submitted", "status_after": "approved",
                         "carried": True, "actions": ["login", "logout"], "sha9": 1})
    assert administration.detail_text(refusal) == "被拒操作：审核通过；原因：无权操作"
    assert administration.detail_text(review) == ("原状态：已提交；新状态：已审核；沿用上月：是；"
                                         "操作：登录、退出登录；sha9：1")
    assert administration.detail_text(None) == "" and administration.detail_text("not json") == "not json"


def test_the_audit_csv_is_safe_against_formula_injection():
    frame = pd.DataFrame({"用户": ["=cmd|' /C calc'!A0", "+1", "boss"]})
    text = export.to_csv(frame.astype("string")).decode("utf-8-sig").splitlines()
    assert text == ["用户", "'=cmd|' /C calc'!A0", "'+1", "boss"]


# --- Only the administrator ----------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda e, a: administration.set_deadline_day(e, a, 10),
    lambda e, a: administration.load_master_file(e, a, schools_csv("某小学"), "schools.csv"),
    lambda e, a: administration.load_boundaries(e, a, geojson(boundary(TOWNSHIP))),
    lambda e, a: administration.audit_log(e, a),
    lambda e, a: administration.users_table(e, a)])
def test_only_the_administrator_and_refusals_are_audited(engine, call):
    staff = make_user(engine, "staffy", "staff")
    with pytest.raises(PermissionError):
        call(engine, staff)
    assert len(audit_rows(engine, "denied", "staffy")) == 1
    assert settings.deadline_day(engine) == 5


def test_the_deadline_must_exist_in_every_month(engine, boss):
    with pytest.raises(ValueError, match="1–28"):
        administration.set_deadline_day(engine, boss, 31)


def test_a_master_file_must_be_csv_or_excel(engine, boss):
    with pytest.raises(MasterDataError, match="不是 CSV 或 Excel"):
        administration.load_master_file(engine, boss, b"x", "../../etc/passwd")


def schools_workbook(name: str) -> bytes:
    """The schools table as the 学校 sheet of a workbook, codes typed as numbers."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "学校"
    sheet.append(["code", "name", "township_code", "type"])
    sheet.append([int(NEW_SCHOOL), name, int(TOWNSHIP), "小学"])
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def test_a_master_workbook_is_read_in_the_reader_worker(engine, boss):
    """Codes typed as numbers come back as the codes (not 5205251089.0)."""
    counts = administration.load_master_file(engine, boss, schools_workbook("新建小学"), "主数据.xlsx")
    assert counts["schools"] == 1
    with session_maker(engine)() as session:
        assert session.get(School, NEW_SCHOOL).name == "新建小学"


def test_a_master_workbook_reaching_a_far_cell_is_refused_without_harm(engine, boss):
    """One stray cell at XFD1048576 (a grid of 17 billion cells) is refused by the reader
    worker's scan, naming the cell, and nothing is stored."""
    bomb = with_cell(schools_workbook("新建小学"), b'<c r="XFD1048576"><v>1</v></c>')
    with pytest.raises(MasterDataError, match="表格区域过大.*XFD1048576"):
        administration.load_master_file(engine, boss, bomb, "主数据.xlsx")
    with session_maker(engine)() as session:
        assert session.get(School, NEW_SCHOOL) is None


def test_a_master_load_whose_audit_row_fails_stores_nothing(engine, boss, monkeypatch):
    """The load and its audit row are one transaction: no change without its record."""
    def broken(*args, **kwargs):
        raise RuntimeError("audit table unavailable")
    monkeypatch.setattr(administration.audit, "record", broken)
    with pytest.raises(RuntimeError):
        administration.load_master_file(engine, boss, schools_csv("某小学"), "schools.csv")
    with session_maker(engine)() as session:
        assert session.get(School, NEW_SCHOOL) is None
