"""资金 (app_pages/funding.py) through AppTest: the year's allocated and spent funds, by
township, and the ledger and its filter, against liushou_dash.indicators."""
from __future__ import annotations

import pytest

from liushou_dash.catalog import columns
from liushou_dash.core import filtering
from liushou_dash.indicators import ledger, stored
from tests.apptest import card_texts, chart_titled, table_with, values
from tests.apptest import demo_app  # noqa: F401  (fixtures)
from tests.demo_db import LATEST


def test_the_funding_page(demo_app, demo_county):
    app = demo_app("app_pages/funding.py")
    month = stored.township_table(demo_county, filtering.Filter((LATEST,)))
    cards = card_texts(app)
    assert cards["年度累计下达资金"] == columns.format_wan_yuan(month["allocated"].sum())
    assert cards["年度累计支出资金"] == columns.format_wan_yuan(month["disbursed"].sum())
    bars = chart_titled(app, "按乡镇的资金下达与支出")["data"][1]
    by_name = month.set_index("township_name")
    for name, wan in zip(values(bars["y"]), values(bars["x"])):
        assert wan == pytest.approx(by_name.loc[name, "disbursed"] / 10000)

    entries = ledger.entries(demo_county, LATEST)
    assert len(table_with(app, "凭证号")) == len(entries)
    app.multiselect(key="ledger_kinds").set_value(["下达"]).run()
    picked = table_with(app, "凭证号")
    assert len(picked) == (entries["kind"] == "下达").sum()
    assert picked["金额（元）"].sum() == pytest.approx(month["allocated"].sum())
