"""乡镇地图 (app_pages/map.py) through AppTest: the deck.gl map without a base map, its
layers and tooltips, the indicator and layer switches."""
from __future__ import annotations

import json

from liushou_dash.catalog import columns
from liushou_dash.core import filtering, orgunits
from liushou_dash.indicators import stored
from tests.apptest import demo_app  # noqa: F401  (fixtures)
from tests.demo_db import LATEST


def test_the_map_page(demo_app, demo_county):
    app = demo_app("app_pages/map.py")
    [deck] = app.get("deck_gl_json_chart")
    spec = json.loads(deck.proto.json)
    assert "mapStyle" not in spec and spec["views"][0]["@@type"] == "OrthographicView"
    assert json.loads(deck.proto.tooltip) == {"text": "{tooltip}"}
    assert [layer["id"] for layer in spec["layers"]] == ["townships", "homes", "names"]
    assert any(w.value == "乡镇边界为示意" for w in app.warning)

    app.selectbox(key="map_indicator").set_value("village_coverage").run()
    app.toggle(key="map_homes").set_value(False).run()
    app.toggle(key="map_schools").set_value(True).run()
    spec = json.loads(app.get("deck_gl_json_chart")[0].proto.json)
    assert [layer["id"] for layer in spec["layers"]] == ["townships", "schools", "names"]
    month = stored.township_table(demo_county, filtering.Filter((LATEST,)))
    row = month.iloc[0]
    tooltips = [p["tooltip"] for p in spec["layers"][0]["data"]]
    assert (f"{row['township_name']}\n之家村(居)覆盖率："
            f"{columns.format_percent(row['village_coverage'])}") in "\n".join(tooltips)
    assert len(spec["layers"][1]["data"]) == len(orgunits.schools(demo_county))
