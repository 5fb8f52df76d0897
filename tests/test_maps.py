"""The map reads like the tables (issue 13): a township is coloured by the same judgement
(targets.status) and in the same hue as its table cell, the legend carries the tables'
labels with their thresholds, a township without data is grey, names sit on top of the
home dots, and the meeting screen's legend and names are projector-sized."""
from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import pytest

from liushou_dash.catalog.rules import load_rules
from liushou_dash.core import filtering, orgunits
from liushou_dash.indicators import homes, stored, targets
from liushou_dash.indicators.targets import MET, MISSED, NEAR
from liushou_dash.web import maps, tables
from tests.demo_db import LATEST, demo_engine  # noqa: F401  (a fixture)

PERIOD = "2026-10"


def _square(x: float) -> dict:
    """A 0.1° square township at longitude 105 + x."""
    west, south = 105.0 + x, 26.7
    ring = [[west, south], [west + 0.1, south], [west + 0.1, south + 0.1],
            [west, south + 0.1], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture
def boundaries() -> pd.DataFrame:
    return pd.DataFrame({"township_code": ["t1", "t2", "t3", "t4"],
                         "township_name": ["达标乡", "接近乡", "未报乡", "落后乡"],
                         "geometry": [_square(i * 0.1) for i in range(4)],
                         "synthetic": [True] * 4})


@pytest.fixture
def values() -> pd.DataFrame:
    """t1 at 100% paired, t2 at 97%, t3 has not reported (no row), t4 at 80%."""
    return pd.DataFrame({"township_code": ["t1", "t2", "t4"],
                         "township_name": ["达标乡", "接近乡", "落后乡"],
                         "left_behind": [100, 100, 100], "paired": [100, 97, 80],
                         "paired_rate": [1.0, 0.97, 0.80],
                         "guardian_none": [0, 2, 0],
                         "left_behind_rate": [0.2, 0.3, 0.4]})


def _spec(township_map: maps.TownshipMap) -> dict:
    return json.loads(township_map.deck.to_json())


def _layer(township_map: maps.TownshipMap, layer_id: str) -> dict:
    return next(layer for layer in _spec(township_map)["layers"] if layer["id"] == layer_id)


def _fills(township_map: maps.TownshipMap) -> dict[str, list[int]]:
    """Township name -> its fill colour (RGB) on the map."""
    return {row["tooltip"].split("\n")[0]: row["fill"][:3]
            for row in _layer(township_map, "townships")["data"]}


def _rgb(colour: str) -> list[int]:
    return [int(colour[i:i + 2], 16) for i in (1, 3, 5)]


def _table_status(key: str, value, period: str) -> str | None:
    """The status whose colour the table gives the cell of `value` (tables.styled's CSS)."""
    css = targets.cell_style(key, period)(value)
    return next((status for status, style in targets.CELL_STYLES.items() if style == css), None)


# --- Colours -------------------------------------------------------------------------------------

def test_a_township_is_coloured_by_the_same_judgement_as_its_table_cell(boundaries, values):
    township_map = maps.township_map(boundaries, values, "paired_rate", PERIOD)
    fills = _fills(township_map)
    # 97% paired is 接近目标 in the table, so it is orange on the map too, not dark green
    assert _table_status("paired_rate", 0.97, PERIOD) == NEAR
    assert fills["接近乡"] == _rgb(targets.FILLS[NEAR])
    assert _table_status("paired_rate", 1.0, PERIOD) == MET
    assert fills["达标乡"] == _rgb(targets.FILLS[MET])
    assert _table_status("paired_rate", 0.80, PERIOD) == MISSED
    assert fills["落后乡"] == _rgb(targets.FILLS[MISSED])
    assert fills["未报乡"] == _rgb(maps.NO_DATA_COLOUR)


def test_the_map_colours_are_the_hues_of_the_table_cells():
    """Each status's fill has the hue of its (pale) table cell, stronger; grey is no status."""
    def hue(colour: str) -> float:
        r, g, b = (channel / 255 for channel in _rgb(colour))
        high, low = max(r, g, b), min(r, g, b)
        if high == r:
            return (60 * (g - b) / (high - low)) % 360
        return 60 * (2 + (b - r) / (high - low)) if high == g else 60 * (4 + (r - g) / (high - low))

    for status, style in targets.CELL_STYLES.items():
        cell = re.search(r"#[0-9a-fA-F]{6}", style).group(0)
        assert abs(hue(targets.FILLS[status]) - hue(cell)) < 8, status
    assert len({*targets.FILLS.values(), maps.NO_DATA_COLOUR}) == 4
    r, g, b = _rgb(maps.NO_DATA_COLOUR)
    assert r == g == b


def test_a_township_with_no_value_in_its_row_is_grey_too(boundaries, values):
    silent = values.assign(paired_rate=values["paired_rate"].where(
        values["township_code"] != "t1"))
    assert _fills(maps.township_map(boundaries, silent, "paired_rate", PERIOD))["达标乡"] == \
        _rgb(maps.NO_DATA_COLOUR)


def test_any_unguarded_child_is_red(boundaries, values):
    township_map = maps.township_map(boundaries, values, "guardian_none", PERIOD)
    fills = _fills(township_map)
    assert fills["接近乡"] == _rgb(targets.FILLS[MISSED])    # 2 children without a guardian
    assert fills["达标乡"] == fills["落后乡"] == _rgb(targets.FILLS[MET])
    assert [e.text for e in township_map.legend] == ["达标 0人", "未达标 >0人", "未报、已退回或无数据"]


def test_the_demo_map_colours_every_township_as_the_table_colours_its_cell(demo_engine):
    month = stored.township_table(demo_engine, filtering.Filter((LATEST,)))
    boundaries = orgunits.boundaries(demo_engine)
    for key in ("paired_rate", "visit_rate", "disbursement_rate", "mentor_load"):
        fills = _fills(maps.township_map(boundaries, month, key, LATEST))
        styler, _ = tables.styled(month[["township_name", key]], LATEST)
        cells = styler.to_html().replace(" ", "")
        seen = set()
        for row in month.itertuples(index=False):
            status = targets.status(key, getattr(row, key), LATEST)
            expected = maps.NO_DATA_COLOUR if status is None else targets.FILLS[status]
            assert fills[row.township_name] == _rgb(expected), (key, row.township_name)
            if status is not None:
                assert targets.CELL_STYLES[status].replace(" ", "") in cells
            seen.add(status)
        assert len(seen) >= 2, key  # the demo's townships are not all alike


# --- Legend --------------------------------------------------------------------------------------

def test_the_legend_is_the_tables_labels_with_their_thresholds(boundaries, values):
    township_map = maps.township_map(boundaries, values, "paired_rate", PERIOD)
    mark = load_rules().pass_marks["paired_rate"]
    assert mark == 0.9  # the example below is written for the county's rules.toml
    assert [e.text for e in township_map.legend] == [
        "达标 ≥100%", "接近目标 90%–100%", "未达标 <90%", "未报、已退回或无数据"]
    labels = [targets.LABELS[status] for status in (MET, NEAR, MISSED)]
    assert [e.text.split(" ")[0] for e in township_map.legend[:3]] == labels
    assert [e.colour for e in township_map.legend] == [
        targets.FILLS[MET], targets.FILLS[NEAR], targets.FILLS[MISSED], maps.NO_DATA_COLOUR]
    assert [e.count for e in township_map.legend] == [1, 1, 1, 1]
    assert "对照目标" in township_map.title and "等距" not in township_map.caption


def test_the_legend_follows_the_status_bands_exactly():
    """Each legend's thresholds are the values at which targets.status changes its verdict."""
    assert targets.legend("paired_rate") == (
        (MET, "达标 ≥100%"), (NEAR, "接近目标 90%–100%"), (MISSED, "未达标 <90%"))
    assert targets.status("paired_rate", 0.9) == NEAR
    assert targets.status("paired_rate", 0.8999) == MISSED
    assert targets.legend("mentor_load") == (
        (MET, "达标 ≤3"), (NEAR, "接近目标 3–3.15"), (MISSED, "未达标 >3.15"))
    assert targets.status("mentor_load", 3.15) == NEAR
    assert targets.status("mentor_load", 3.16) == MISSED
    # 资金拨付率 against the even pace of October: 10/12 = 83.3%, near down to 95% of it
    assert targets.legend("disbursement_rate", "2026-10") == (
        (MET, "达标 ≥83.3%"), (NEAR, "接近目标 79.2%–83.3%"), (MISSED, "未达标 <79.2%"))
    assert targets.legend("left_behind") == ()


def test_an_indicator_without_a_target_keeps_a_sequential_scale_and_says_so(boundaries,
                                                                            values):
    township_map = maps.township_map(boundaries, values, "left_behind_rate", PERIOD)
    fills = _fills(township_map)
    assert fills["达标乡"] == _rgb(maps.DESCRIBED[0])
    assert fills["落后乡"] == _rgb(maps.DESCRIBED[-1])
    assert fills["未报乡"] == _rgb(maps.NO_DATA_COLOUR)
    assert [e.colour for e in township_map.legend] == [*maps.DESCRIBED, maps.NO_DATA_COLOUR]
    assert township_map.legend[0].text == "20.0% – 24.0%"
    assert not set(targets.FILLS.values()) & {e.colour for e in township_map.legend}
    assert "无目标值" in township_map.title and "等距" in township_map.caption


def test_the_legend_has_no_grey_entry_when_every_township_reported(boundaries, values):
    reported = boundaries[boundaries["township_code"] != "t3"]
    township_map = maps.township_map(reported, values, "paired_rate", PERIOD)
    assert maps.NO_DATA_TEXT not in [e.text for e in township_map.legend]


def _pixels(markup: str) -> list[int]:
    return [int(size) for size in re.findall(r"font-size:(\d+)px", markup)]


def test_the_legend_is_readable_on_a_projector(boundaries, values):
    page = maps.township_map(boundaries, values, "paired_rate", PERIOD)
    meeting = maps.township_map(boundaries, values, "paired_rate", PERIOD, projector=True)
    assert _pixels(maps.legend_html(page)) == [16]
    assert _pixels(maps.legend_html(meeting)) and min(_pixels(maps.legend_html(meeting))) >= 20
    markup = maps.legend_html(meeting)
    for entry in meeting.legend:
        assert html.escape(entry.text) in markup and entry.colour in markup
    assert meeting.title in markup and ">1个<" in markup


def test_the_legend_escapes_what_it_is_given(boundaries, values):
    township_map = maps.township_map(boundaries, values, "paired_rate", PERIOD)
    hostile = maps.TownshipMap(township_map.deck, (maps.LegendEntry("#fff", "<b>x</b>"),),
                               True, "", title="<i>t</i>")
    markup = maps.legend_html(hostile)
    assert "<b>" not in markup and "<i>" not in markup and "&lt;b&gt;x" in markup


# --- Names ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_map(demo_engine):
    month = stored.township_table(demo_engine, filtering.Filter((LATEST,)))
    return maps.township_map(orgunits.boundaries(demo_engine), month, "paired_rate", LATEST,
                             homes=homes.home_list(demo_engine, LATEST),
                             schools=orgunits.schools(demo_engine))


def test_names_are_drawn_last_on_a_white_label_above_every_point(demo_map):
    spec = _spec(demo_map)
    assert [layer["id"] for layer in spec["layers"]] == ["townships", "homes", "schools",
                                                         "names"]
    names = spec["layers"][-1]
    assert names["@@type"] == "TextLayer"
    assert names["background"] is True
    assert names["getBackgroundColor"][:3] == [255, 255, 255]
    assert names["getBackgroundColor"][3] >= 200
    assert names["parameters"] == {"depthCompare": "always"}  # never behind a dot
    assert names["getSize"] == maps.PAGE.label_pixels
    assert "monospace" not in names["fontFamily"] and "Noto Sans CJK SC" in names["fontFamily"]
    assert len(names["data"]) >= 10


def test_names_are_larger_on_the_projector_and_still_do_not_overlap(demo_engine):
    month = stored.township_table(demo_engine, filtering.Filter((LATEST,)))
    meeting = maps.township_map(orgunits.boundaries(demo_engine), month, "paired_rate",
                                LATEST, canvas=(640, 600), projector=True)
    names = _layer(meeting, "names")
    assert names["getSize"] == maps.PROJECTOR.label_pixels >= 18
    assert len(names["data"]) >= 8
    zoom = _spec(meeting)["initialViewState"]["zoom"]
    per_pixel = 1 / 2 ** zoom
    boxes = [(row["position"][0], row["position"][1],
              len(row["name"]) * names["getSize"] * per_pixel / 2,
              names["getSize"] * per_pixel / 2) for row in names["data"]]
    for i, (x, y, w, h) in enumerate(boxes):
        for (x2, y2, w2, h2) in boxes[i + 1:]:
            assert abs(x - x2) >= w + w2 or abs(y - y2) >= h + h2


def test_the_map_still_asks_the_network_for_nothing(demo_map):
    text = demo_map.deck.to_json()
    assert "mapStyle" not in json.loads(text) and not re.search(r"https?://", text)


def test_classes_stay_equal_intervals_for_the_sequential_scale():
    values = pd.Series([0.5, 0.6, 0.7, 0.8, 0.9, 1.0, np.nan])
    assert list(maps.fills("left_behind_rate", values, PERIOD)) == [
        *maps.DESCRIBED, maps.DESCRIBED[-1], maps.NO_DATA_COLOUR]
