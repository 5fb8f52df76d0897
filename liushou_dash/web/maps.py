"""The township map as a pydeck deck that needs nothing from the network.

A deck with a MapView makes Streamlit fetch a base map style from a tile server even with
map_style=None (offline: no tiles, no CDN), so the map is drawn in an OrthographicView instead:
longitude and latitude are projected here to kilometres around the county's centre (an
equirectangular projection, exact enough for a county), north up.

A township is coloured the way the tables colour its cell: targets.status judges its value
against the target and the county's pass mark (达标 / 接近目标 / 未达标), in the same hues
(targets.FILLS beside targets.CELL_STYLES), so 97% paired is orange on the map as in the table.
Only an indicator without a target (留守儿童数, 留守率) gets a sequential scale of equal
intervals, and its legend says so. A township without a value is grey. Homes and schools are
optional point layers; township names go on top of them on a white label. Tooltips are plain
text (never HTML), so names from master data cannot inject markup. `projector=True` sizes the
names and the legend for the meeting screen; `show` draws the map with its legend on a page.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pydeck as pdk
import streamlit as st

from liushou_dash import catalog
from liushou_dash.catalog import columns
from liushou_dash.core import periods
from liushou_dash.indicators import targets

KM_PER_DEGREE = 111.32
CLASS_COUNT = 5
# Light to dark blue, for indicators that only describe (counts, shares without a target):
# no hue of the target colours, so nobody reads a count of children as good or bad.
DESCRIBED = ("#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
NO_DATA_COLOUR = "#bdbdbd"
NO_DATA_TEXT = "未报、已退回或无数据"
HOME_COLOUR, SCHOOL_COLOUR = "#6a3d9a", "#1f1f1f"  # dark: they sit on red and green
FILL_ALPHA, POINT_ALPHA = 255, 230  # opaque: the fill is exactly the status colour
CANVAS = (900, 560)  # the size (px) the first view is fitted to


@dataclass(frozen=True)
class Look:
    """Type sizes (px): township names on the map, the legend under it."""
    label_pixels: int
    legend_pixels: int


PAGE = Look(label_pixels=14, legend_pixels=16)        # a desk, the 乡镇地图 page
PROJECTOR = Look(label_pixels=18, legend_pixels=20)   # the meeting screen, read from the back
LABEL_PIXELS = PAGE.label_pixels
# Quoted, so that pydeck passes it as a literal (see PIXELS below), not as an accessor.
LABEL_FONT = '"Noto Sans CJK SC, Noto Sans SC, Microsoft YaHei, PingFang SC, sans-serif"'
LABEL_BACKGROUND = [255, 255, 255, 225]
SYNTHETIC_NOTE = "乡镇边界为示意"
NO_BOUNDARIES = "尚未导入乡镇边界，无法绘制地图。请管理员在“管理”页导入乡镇边界（GeoJSON）。"
# Every indicator a township has, in catalogue order: what the user may colour the map by.
MAP_KEYS = catalog.on(catalog.MAP)  # the catalogue says which indicators a map may show
HOMES_LABEL, SCHOOLS_LABEL = "留守儿童之家", "学校"


@dataclass(frozen=True)
class LegendEntry:
    colour: str
    text: str
    count: int | None = None    # how many townships on the map have this colour


@dataclass(frozen=True)
class TownshipMap:
    deck: pdk.Deck
    legend: tuple[LegendEntry, ...]
    synthetic: bool     # the boundaries are illustrative, not surveyed
    caption: str
    title: str = ""     # what the colours mean: judged against the target, or a plain scale
    look: Look = PAGE


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


# --- Colours ---------------------------------------------------------------------------------

def _rgb(colour: str, alpha: int) -> list[int]:
    return [int(colour[i:i + 2], 16) for i in (1, 3, 5)] + [alpha]


def judged(key: str, period: str | None) -> bool:
    """Whether indicator `key` has a target in `period`: coloured by status, not by class."""
    return targets.target(key, period) is not None


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


def _class_colour(index: int, single: bool) -> str:
    if index < 0:
        return NO_DATA_COLOUR
    return DESCRIBED[-1] if single else DESCRIBED[index]


def fills(key: str, values: pd.Series, period: str | None) -> pd.Series:
    """The colour (#rrggbb) of each value of `key`: the colour of its status (targets.FILLS,
    the hue of the table cell) when the indicator has a target, its class on the sequential
    scale when it has none; NO_DATA_COLOUR without a value."""
    if judged(key, period):
        return values.map(lambda value: targets.FILLS.get(targets.status(key, value, period),
                                                          NO_DATA_COLOUR))
    edges = class_edges(values)
    return classify(values, edges).map(lambda index: _class_colour(index, len(edges) == 2))


def legend(key: str, values: pd.Series, period: str | None,
           shown: pd.Series | None = None) -> tuple[LegendEntry, ...]:
    """The legend of a map of `values`: targets.legend's entries (the tables' labels and
    their thresholds) in the status colours, or the sequential classes; NO_DATA_TEXT in grey
    when a township has no value. `shown`, the colour of each township on the map (default:
    fills of `values`), gives each entry its count."""
    shown = fills(key, values, period) if shown is None else shown
    counts = shown.value_counts()
    if judged(key, period):
        entries = [(targets.FILLS[status], text) for status, text in targets.legend(key, period)]
    else:
        edges = class_edges(values)
        entries = [(_class_colour(i, len(edges) == 2),
                    f"{columns.format_value(key, low)} – {columns.format_value(key, high)}")
                   for i, (low, high) in enumerate(zip(edges[:-1], edges[1:]))]
    if NO_DATA_COLOUR in counts.index:
        entries.append((NO_DATA_COLOUR, NO_DATA_TEXT))
    return tuple(LegendEntry(colour, text, int(counts.get(colour, 0)))
                 for colour, text in entries)


def legend_title(key: str, period: str | None) -> str:
    label = catalog.INDICATORS_BY_KEY[key].label
    if judged(key, period):
        return f"{label}：对照目标着色（与表格同色）"
    return f"{label}：无目标值，按数值等距分档（颜色越深，数值越大）"


# --- Layers -----------------------------------------------------------------------------------

def _tooltip(name: str, key: str, row: pd.Series | None, period: str) -> str:
    """Name, value with the tables' judgement (达标/接近目标/未达标), and its fraction."""
    indicator = catalog.INDICATORS_BY_KEY[key]
    value = None if row is None else row.get(key)
    status = targets.status(key, value, period)
    judged = f"（{targets.LABELS[status]}）" if status else ""
    lines = [name, f"{indicator.label}：{columns.format_value(key, value)}{judged}"]
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


def _township_rows(boundaries, by_code, key, period, colours, projection
                   ) -> tuple[list[dict], list[dict]]:
    polygons, labels = [], []
    for township in boundaries.itertuples(index=False):
        row = by_code.loc[township.township_code] if township.township_code in by_code.index \
            else None
        colour = _rgb(colours[township.township_code], FILL_ALPHA)
        tooltip = _tooltip(township.township_name, key, row, period)
        rings = [_projected(polygon, projection) for polygon in _rings(township.geometry)]
        polygons += [{"polygon": polygon, "fill": colour, "tooltip": tooltip}
                     for polygon in rings]
        largest = max(rings, key=lambda polygon: _area(polygon[0]))[0]
        labels.append({"position": np.asarray(largest, dtype=float).mean(axis=0).tolist(),
                       "name": township.township_name, "area": _area(largest)})
    return polygons, labels


def unclashing(labels: list[dict], zoom: float, pixels: int = LABEL_PIXELS) -> list[dict]:
    """The labels (of `pixels` type) that fit without overlapping at `zoom`, larger
    townships first: the small town districts crowd the centre, and an unreadable heap helps
    nobody (the tooltip still names every township)."""
    per_pixel = 1 / 2 ** zoom  # km per screen pixel in an OrthographicView
    placed: list[tuple[float, float, float, float]] = []
    kept = []
    for label in sorted(labels, key=lambda item: -item["area"]):
        x, y = label["position"]
        # CJK glyphs are about square; the margin is the label's white box and a gap
        half_width = (len(label["name"]) * pixels * 1.05 / 2 + 6) * per_pixel
        half_height = (pixels / 2 + 4) * per_pixel
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


def _name_layer(labels: list[dict], pixels: int) -> pdk.Layer:
    """Township names in dark type on a white label, drawn last and regardless of depth, so
    neither the coloured fill nor a home's dot ever covers a name."""
    return pdk.Layer("TextLayer", id="names", data=labels, get_position="position",
                     get_text="name", get_size=pixels, get_color=[20, 20, 20],
                     character_set=AUTO, font_family=LABEL_FONT, font_weight=600,
                     background=True, get_background_color=LABEL_BACKGROUND,
                     background_padding=[4, 2, 4, 2], background_border_radius=3,
                     get_border_color=[90, 90, 90, 160], get_border_width=1,
                     parameters={"depthCompare": "always"})


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
    how = ("按是否达到目标着色，与表格中的颜色相同" if judged(key, period)
           else f"无目标值，按数值等距分为{classes}档着色")
    return (f"{periods.period_label(period)}各乡镇{indicator.label}（{indicator.formula()}），"
            f"{how}；悬停查看乡镇数值，可拖动和缩放。")


def township_map(boundaries: pd.DataFrame, values: pd.DataFrame, key: str, period: str,
                 homes: pd.DataFrame | None = None, schools: pd.DataFrame | None = None,
                 canvas: tuple[int, int] = CANVAS, projector: bool = False
                 ) -> TownshipMap | None:
    """The deck: `boundaries` (orgunits.boundaries), `values` (one month's township rows
    carrying `key` and its numerator and denominator), optional `homes` (homes.home_list)
    and `schools` (orgunits.schools) as points; the first view fits the county into a
    `canvas` (width, height in pixels). Names go on top, so points never hide them.
    `projector`: names and legend in the meeting screen's sizes (PROJECTOR).
    None when no township has a boundary yet."""
    if boundaries.empty:
        return None
    look = PROJECTOR if projector else PAGE
    west, south, east, north = _bounds(boundaries)
    projection = Projection((west + east) / 2, (south + north) / 2)
    view = _fitted_view(projection, (west, south, east, north), canvas)
    by_code = values.drop_duplicates("township_code").set_index("township_code")
    codes = boundaries["township_code"]
    own = pd.Series(by_code[key].reindex(codes).to_numpy(), index=codes.to_numpy())
    colours = fills(key, own, period)
    polygons, labels = _township_rows(boundaries, by_code, key, period, colours, projection)
    layers = [_polygon_layer(polygons), *_point_layers(homes, schools, projection),
              _name_layer(unclashing(labels, view.zoom, look.label_pixels), look.label_pixels)]
    deck = pdk.Deck(layers=layers, map_provider=None, map_style=None,
                    views=[pdk.View(type="OrthographicView", controller=True, flip_y=False)],
                    initial_view_state=view, tooltip={"text": "{tooltip}"})
    return TownshipMap(deck, legend(key, own, period, colours),
                       bool(boundaries["synthetic"].any()),
                       _caption(key, period, max(len(class_edges(own)) - 1, 1)),
                       legend_title(key, period), look)


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


# --- Drawing -----------------------------------------------------------------------------------

def legend_html(township_map: TownshipMap) -> str:
    """The legend as HTML in the map's type size: its title, then a swatch, the text (the
    tables' label and threshold) and the number of townships of each entry."""
    size = township_map.look.legend_pixels
    swatch = f"width:{round(size * 1.4)}px;height:{round(size * 0.9)}px"
    items = "".join(
        '<span class="map-legend-entry" style="display:inline-flex;align-items:center;'
        f'margin-right:{size}px;white-space:nowrap">'
        f'<span style="{swatch};background:{html.escape(e.colour)};border:1px solid #777;'
        f'margin-right:{size // 3}px"></span>{html.escape(e.text)}'
        + ("" if e.count is None else
           f'<span style="color:#555;margin-left:{size // 3}px">{e.count}个</span>')
        + "</span>"
        for e in township_map.legend)
    title = (f'<div style="font-weight:600">{html.escape(township_map.title)}</div>'
             if township_map.title else "")
    spacing = 1.4 if township_map.look == PROJECTOR else 1.7  # the meeting screen is full
    return (f'<div class="map-legend" style="font-size:{size}px;line-height:{spacing}">'
            f"{title}<div>{items}</div></div>")


def show(township_map: TownshipMap | None, height: int = 560) -> None:
    """The map on a page: the note that boundaries are illustrative, the deck, the legend
    and the sentence under it (NO_BOUNDARIES instead while there are no boundaries). On the
    projector the sentence (small print about hovering and dragging) is left out: the
    legend's title says what the colours mean, and the meeting screen has no room to spare."""
    if township_map is None:
        st.info(NO_BOUNDARIES)
        return
    if township_map.synthetic:
        st.warning(SYNTHETIC_NOTE)
    st.pydeck_chart(township_map.deck, height=height)
    st.html(legend_html(township_map))
    if township_map.look != PROJECTOR:
        st.caption(township_map.caption)
