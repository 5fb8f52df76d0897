"""A clerk chooses the township's template with one cell at XFD1048576 (an 18 KB file whose
grid calamine would make 512 GiB: it used to abort the server) on 数据上报, in Chromium against
`streamlit run`: the page refuses it (E01, naming the sheet and the cell) and the server goes
on answering, this session and a new one.
"""
from __future__ import annotations

import urllib.request

import pytest

from liushou_dash.core.db import make_engine
from liushou_dash.ingest import template
from liushou_dash.workflow import uploads
from tests.browser.test_browser import (  # noqa: F401  (fixtures, one server for this module)
    browser,
    demo_db,
    exceptions,
    go_to,
    log_in,
    open_page,
    requests,
    screenshot,
    server,
)
from tests.browser.test_browser_accounts import upload_file
from tests.fixtures import TOWNSHIP
from tests.test_upload_bombs import first_sheet_name, with_cell

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def far_cell_file(demo_db) -> bytes:
    engine = make_engine(demo_db)
    data = template.build_template(engine, TOWNSHIP, uploads.open_period())
    engine.dispose()
    return with_cell(data, b'<c r="XFD1048576"><v>1</v></c>')


def test_a_far_away_cell_is_refused_and_the_server_keeps_answering(server, browser, requests,
                                                                   far_cell_file):
    page = open_page(browser, server, requests)
    log_in(page, "clerk108")
    go_to(page, "数据上报")

    upload_file(page, "张家湾镇月报.xlsx", far_cell_file)

    screenshot(page, "upload_far_cell")
    assert "未通过校验" in page.inner_text("body") and not exceptions(page)
    shown = page.content()  # the findings' table draws on a canvas; its cells are in the DOM
    assert "表格区域过大：内容延伸到单元格 XFD1048576" in shown
    assert f"工作表“{first_sheet_name(far_cell_file)}”" in shown
    with urllib.request.urlopen(f"{server}/_stcore/health", timeout=10) as health:
        assert health.status == 200
    other = open_page(browser, server, requests)  # another session, as another clerk's
    assert other.get_by_role("button", name="登录").is_visible()
    other.context.close()
    page.context.close()
