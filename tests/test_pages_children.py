"""留守儿童 (app_pages/children.py) through AppTest: the composition, the guardians by
township and one township's schools, against liushou_dash.indicators for the same month."""
from __future__ import annotations

import pytest

from liushou_dash.core import filtering
from liushou_dash.indicators import composition, ratios, readers, stored
from tests.apptest import chart_titled, table_with, values
from tests.apptest import demo_app  # noqa: F401  (fixtures)
from tests.demo_db import LATEST
from tests.fixtures import TOWNSHIP


def test_the_children_page(demo_app, demo_county):
    app = demo_app("app_pages/children.py")
    month = stored.township_table(demo_county, filtering.Filter((LATEST,)))
    parts = composition.composition(ratios.totals(month))
    chart = chart_titled(app, "留守儿童构成")
    shares = {trace["name"]: values(trace["x"])[0] for trace in chart["data"]}
    for row in parts.itertuples():
        assert shares[row.label] == pytest.approx(row.share), row.label

    stacked = chart_titled(app, "各乡镇留守儿童监护类型构成")
    grandparents = next(t for t in stacked["data"] if t["name"] == "祖辈监护")
    by_name = month.set_index("township_name")
    for name, count in zip(values(grandparents["y"]), values(grandparents["x"])):
        assert count == by_name.loc[name, "guardian_grandparents"]

    app.selectbox(key="children_township").set_value(TOWNSHIP).run()
    schools = readers.school_table(demo_county, filtering.Filter((LATEST,), townships=(TOWNSHIP,)))
    table = table_with(app, "学校类型")
    assert list(table["学校"]) == list(schools["school_name"])
    assert table["留守儿童数"].tolist() == schools["left_behind"].tolist()
