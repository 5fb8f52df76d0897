"""The township map as a pydeck deck that needs nothing from the network.

A deck with a MapView makes Streamlit fetch a base map style from a tile server even with
map_style=None (DESIGN.md "Deployment"), so the map is drawn in an OrthographicView instead:
longitude and latitude are projected here to kilometres around the county's centre (an
equirectangular projection, exact enough for a county), north up. Townships are coloured in
equal-interval classes of the chosen indicator; homes and schools are optional point layers.
Tooltips are plain text (never HTML), so names from master data cannot inject markup.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pydeck as pdk

from liushou_dash import catalog
from liushou_dash.catalog import columns
from liushou_dash.core import periods

KM_PER_DEGREE = 111.32
CLASS_COUNT = 5
# Red (far from the goal) to green (at the goal), for indicators with a target.
JUDGED = ("#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850")
# Light to dark blue, for indicators that only describe (counts, shares without a target).
DESCRIBED = ("#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
NO_DATA_COLOUR = "#d9d9d9"
HOME_COLOUR, SCHOOL_COLOUR = "#6a3d9a", "#1f1f1f"  # dark: they sit on red and green
FILL_ALPHA, POINT_ALPHA = 210, 230
CANVAS = (900, 560)  # the size (px) the first view is fitted to
LABEL_PIXELS = 12
SYNTHETIC_NOTE = "乡镇边界为示意"
NO_BOUNDARIES = "尚未导入乡镇边界，无法绘制地图。请管理员在“管理”页导入乡镇边界（GeoJSON）。"
# Every indicator a township has, in catalogue order: what the user may colour the map by.
MAP_KEYS = tuple(i.key for i in catalog.INDICATORS if "township" in i.levels)
HOMES_LABEL, SCHOOLS_LABEL = "留守儿童之家", "学校"


@dataclass(frozen=True)
class LegendEntry:
    colour: str
    text: str


@dataclass(frozen=True)
class TownshipMap:
    deck: pdk.Deck
    legend: tuple[LegendEntry, ...]
    synthetic: bool     # the boundaries are illustrative, not surveyed
    caption: str


@dataclass(frozen=True)
class Projection:
    lon0: float
    lat0: float

    def xy(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        x = (lon - self.lon0) * KM_PER_DEGREE * math.cos(math.radians(self.lat0))
        return np.round(x, 3), np.round((lat - self.lat0) * KM_PER_DEGREE, 3)


def _rings(geometry: dict) -> list[list[list[float]]]:
    """Every polygon of a Polygon or MultiPolygon as its list of rings."""
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    return list(geometry["coordinates"])


def _bounds(boundaries: pd.DataFrame) -> tuple[float, float, float, float]:
    points = np.array([point for geometry in boundaries["geometry"]
                       for polygon in _rings(geometry) for point in polygon[0]], dtype=float)
    return points[:, 0].min(), points[:, 1].min(), points[:, 0].max(), points[:, 1].max()


def _projected(polygon: list, projection: Projection) -> list:
    rings = []
    for ring in polygon:
        coordinates = np.asarray(ring, dtype=float)
        x, y = projection.xy(coordinates[:, 0], coordinates[:, 1])
        rings.append(np.column_stack([x, y]).tolist())
    return rings


# --- Colour classes ---------------------------------------------------------------------------

def _rgb(colour: str, alpha: int) -> list[int]:
    return [int(colour[i:i + 2], 16) for i in (1, 3, 5)] + [alpha]


def palette(key: str) -> tuple[str, ...]:
    """Colours from the worst to the best class; descriptive indicators go light to dark."""
    indicator = catalog.INDICATORS_BY_KEY[key]
    if indicator.target is None:
        return DESCRIBED
    return JUDGED if indicator.better == "higher" else JUDGED[::-1]


def class_edges(values: pd.Series) -> np.ndarray:
    """CLASS_COUNT + 1 equal-interval edges over the values (one class when all are equal)."""
    present = values.dropna().astype("float64")
    if present.empty:
        return np.array([])
    low, high = present.min(), present.max()
    if low == high:
        return np.array([low, high])
    return np.linspace(low, high, CLASS_COUNT + 1)


def classify(values: pd.Series, edges: np.ndarray) -> pd.Series:
    """The class index (0 = lowest values) of each value; -1 where there is none."""
    if len(edges) < 2:
        return pd.Series(-1, index=values.index)
    index = np.searchsorted(edges[1:-1], values.astype("float64").to_numpy(), side="right")
    return pd.Series(np.where(values.isna(), -1, index), index=values.index)


def legend(key: str, edges: np.ndarray, has_missing: bool) -> tuple[LegendEntry, ...]:
    entries = [LegendEntry(_class_colour(key, i, len(edges) == 2),
                           f"{columns.format_value(key, low)} – {columns.format_value(key, high)}")
               for i, (low, high) in enumerate(zip(edges[:-1], edges[1:]))]
    if has_missing:
        entries.append(LegendEntry(NO_DATA_COLOUR, "无数据（未上报）"))
    return tuple(entries)


def _class_colour(key: str, index: int, single: bool) -> str:
    if index < 0:
        return NO_DATA_COLOUR
    return palette(key)[-1] if single else palette(key)[index]


# --- Layers -----------------------------------------------------------------------------------

def _tooltip(name: str, key: str, row: pd.Series | None) -> str:
    indicator = catalog.INDICATORS_BY_KEY[key]
    value = None if row is None else row.get(key)
    lines = [name, f"{indicator.label}：{columns.format_value(key, value)}"]
    if indicator.is_rate and row is not None:
        numerator, denominator = row.get(indicator.numerator), row.get(indicator.denominator)
        lines.append(f"{catalog.label_of(indicator.numerator)}/"
                     f"{catalog.label_of(indicator.denominator)}："
                     f"{columns.format_value(indicator.numerator, numerator)} / "
                     f"{columns.format_value(indicator.denominator, denominator)}")
    return "\n".join(lines)


def _area(ring: list) -> float:
    """The area (km²) of a projected ring, by the shoelace formula."""
    points = np.asarray(ring, dtype=float)
    x, y = points[:, 0], points[:, 1]
    return float(abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2)


def _township_rows(boundaries, values, key, projection) -> tuple[list[dict], list[dict]]:
    by_code = values.set_index("township_code")
    edges = class_edges(values[key])
    classes = classify(by_code[key], edges)
    polygons, labels = [], []
    for township in boundaries.itertuples(index=False):
        row = by_code.loc[township.township_code] if township.township_code in by_code.index \
            else None
        index = int(classes.get(township.township_code, -1))
        colour = _rgb(_class_colour(key, index, len(edges) == 2), FILL_ALPHA)
        tooltip = _tooltip(township.township_name, key, row)
        rings = [_projected(polygon, projection) for polygon in _rings(township.geometry)]
        polygons += [{"polygon": polygon, "fill": colour, "tooltip": tooltip}
                     for polygon in rings]
        largest = max(rings, key=lambda polygon: _area(polygon[0]))[0]
        labels.append({"position": np.asarray(largest, dtype=float).mean(axis=0).tolist(),
                       "name": township.township_name, "area": _area(largest)})
    return polygons, labels


def unclashing(labels: list[dict], zoom: float) -> list[dict]:
    """The labels that fit without overlapping at `zoom`, larger townships first: the small
    town districts crowd the centre, and an unreadable heap helps nobody (the tooltip still
    names every township)."""
    per_pixel = 1 / 2 ** zoom  # km per screen pixel in an OrthographicView
    placed: list[tuple[float, float, float, float]] = []
    kept = []
    for label in sorted(labels, key=lambda item: -item["area"]):
        x, y = label["position"]
        # CJK glyphs are about square; the margin keeps neighbours apart by a few pixels
        half_width = (len(label["name"]) * LABEL_PIXELS * 1.1 / 2 + 4) * per_pixel
        half_height = (LABEL_PIXELS / 2 + 3) * per_pixel
        box = (x - half_width, x + half_width, y - half_height, y + half_height)
        if all(box[1] < other[0] or box[0] > other[1] or box[3] < other[2] or box[2] > other[3]
               for other in placed):
            placed.append(box)
            kept.append({"position": label["position"], "name": label["name"]})
    return kept


def _points(frame: pd.DataFrame, projection: Projection, names: pd.Series) -> list[dict]:
    located = frame["lon"].notna() & frame["lat"].notna()
    x, y = projection.xy(frame.loc[located, "lon"], frame.loc[located, "lat"])
    return [{"position": [float(a), float(b)], "tooltip": text}
            for a, b, text in zip(x, y, names[located])]


# pydeck turns every string property into a data accessor; a quoted string stays a string.
PIXELS, AUTO = '"pixels"', '"auto"'


def _point_layer(layer_id: str, rows: list[dict], colour: str, radius_km: float) -> pdk.Layer:
    return pdk.Layer("ScatterplotLayer", id=layer_id, data=rows, get_position="position",
                     get_fill_color=_rgb(colour, POINT_ALPHA), get_radius=radius_km,
                     radius_min_pixels=2.5, radius_max_pixels=6, stroked=True,
                     get_line_color=[255, 255, 255], get_line_width=1,
                     line_width_units=PIXELS, pickable=True)


def _polygon_layer(polygons: list[dict]) -> pdk.Layer:
    return pdk.Layer("PolygonLayer", id="townships", data=polygons, get_polygon="polygon",
                     get_fill_color="fill", get_line_color=[255, 255, 255], get_line_width=1.5,
                     line_width_units=PIXELS, stroked=True, filled=True, pickable=True,
                     auto_highlight=True)


def _name_layer(labels: list[dict]) -> pdk.Layer:
    return pdk.Layer("TextLayer", id="names", data=labels, get_position="position",
                     get_text="name", get_size=LABEL_PIXELS, get_color=[30, 30, 30],
                     character_set=AUTO, outline_width=2, outline_color=[255, 255, 255],
                     font_settings={"sdf": True})


def _point_layers(homes, schools, projection: Projection) -> list[pdk.Layer]:
    layers = []
    if homes is not None:
        names = HOMES_LABEL + "：" + homes["name"] + "\n" + homes["township_name"]
        layers.append(_point_layer("homes", _points(homes, projection, names), HOME_COLOUR, 0.25))
    if schools is not None:
        names = (SCHOOLS_LABEL + "：" + schools["school_name"] + "（" + schools["school_type"]
                 + "）")
        layers.append(_point_layer("schools", _points(schools, projection, names),
                                   SCHOOL_COLOUR, 0.2))
    return layers


def _caption(key: str, period: str, classes: int) -> str:
    indicator = catalog.INDICATORS_BY_KEY[key]
    return (f"{periods.period_label(period)}各乡镇{indicator.label}（{indicator.formula()}），"
            f"按数值等距分为{classes}档着色；悬停查看乡镇数值，可拖动和缩放。")


def township_map(boundaries: pd.DataFrame, values: pd.DataFrame, key: str, period: str,
                 homes: pd.DataFrame | None = None, schools: pd.DataFrame | None = None,
                 canvas: tuple[int, int] = CANVAS) -> TownshipMap | None:
    """The deck: `boundaries` (orgunits.boundaries), `values` (one month's township rows
    carrying `key` and its numerator and denominator), optional `homes` (homes.home_list)
    and `schools` (orgunits.schools) as points; the first view fits the county into a
    `canvas` (width, height in pixels). Names go on top, so points never hide them.
    None when no township has a boundary yet."""
    if boundaries.empty:
        return None
    west, south, east, north = _bounds(boundaries)
    projection = Projection((west + east) / 2, (south + north) / 2)
    view = _fitted_view(projection, (west, south, east, north), canvas)
    polygons, labels = _township_rows(boundaries, values, key, projection)
    layers = [_polygon_layer(polygons), *_point_layers(homes, schools, projection),
              _name_layer(unclashing(labels, view.zoom))]
    deck = pdk.Deck(layers=layers, map_provider=None, map_style=None,
                    views=[pdk.View(type="OrthographicView", controller=True, flip_y=False)],
                    initial_view_state=view, tooltip={"text": "{tooltip}"})
    edges = class_edges(values[key])
    has_missing = bool(values[key].isna().any()) or len(values) < len(boundaries)
    return TownshipMap(deck, legend(key, edges, has_missing),
                       bool(boundaries["synthetic"].any()),
                       _caption(key, period, max(len(edges) - 1, 1)))


def _fitted_view(projection: Projection, bounds, canvas: tuple[int, int]) -> pdk.ViewState:
    west, south, east, north = bounds
    x, y = projection.xy([west, east], [south, north])
    width, height = max(x[1] - x[0], 1e-3), max(y[1] - y[0], 1e-3)
    zoom = math.log2(min(canvas[0] / width, canvas[1] / height) * 0.92)
    return pdk.ViewState(target=[0, 0, 0], zoom=round(zoom, 2), min_zoom=zoom - 1,
                         max_zoom=zoom + 5)


def value_columns(key: str) -> list[str]:
    """The columns behind an indicator's value on the map: name, numerator, denominator."""
    indicator = catalog.INDICATORS_BY_KEY[key]
    parts = [indicator.numerator, indicator.denominator] if indicator.is_rate else []
    return ["township_name", *parts, key]
