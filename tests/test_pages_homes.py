"""关爱阵地 (app_pages/homes.py) through AppTest: the list of homes, the villages without
one and the equipment, against liushou_dash.indicators.homes for the same month."""
from __future__ import annotations

import pytest

from liushou_dash.core import filtering
from liushou_dash.indicators import homes, stored
from tests.apptest import table_with
from tests.apptest import demo_app  # noqa: F401  (fixtures)
from tests.demo_db import LATEST


def test_the_homes_page(demo_app, demo_county):
    app = demo_app("app_pages/homes.py")
    listed = homes.home_list(demo_county, LATEST)
    month = stored.township_table(demo_county, filtering.Filter((LATEST,)))
    assert len(table_with(app, "依托单位")) == len(listed) == month["homes"].sum()
    assert any(f"之家名单（{len(listed)}所）" == h.value for h in app.subheader)
    villages = table_with(app, "村(居)名称")
    assert len(villages) == (month["villages"] - month["villages_with_home"]).sum()
    equipment = table_with(app, "四项齐全").set_index("乡镇")
    assert equipment.loc["全县", "四项齐全"] == pytest.approx(
        homes.county_equipment(listed)["complete"] * 100)
