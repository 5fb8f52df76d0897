"""Plain-numpy geometry on GeoJSON: is a point inside a county? (No GIS stack needed.)"""
from __future__ import annotations

import numpy as np

BOUNDARY_TOLERANCE_DEG = 0.01  # ~1 km: the published outline is coarse (~100 m)


def _polygons(geometry: dict) -> list[list[np.ndarray]]:
    """A GeoJSON Polygon or MultiPolygon as a list of polygons, each a list of rings."""
    if geometry["type"] == "Polygon":
        return [[np.asarray(ring, dtype=float) for ring in geometry["coordinates"]]]
    if geometry["type"] == "MultiPolygon":
        return [[np.asarray(ring, dtype=float) for ring in polygon]
                for polygon in geometry["coordinates"]]
    raise ValueError(f"不支持的边界几何类型：{geometry['type']}")


def _in_ring(x: np.ndarray, y: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Even-odd ray casting of every point against one ring, vectorised over points."""
    x0, y0 = ring[:-1, 0], ring[:-1, 1]
    x1, y1 = ring[1:, 0], ring[1:, 1]
    px, py = x[:, None], y[:, None]
    crosses = (y0 > py) != (y1 > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
    return (crosses & (px < x_at)).sum(axis=1) % 2 == 1


def _distance_to_ring(x: np.ndarray, y: np.ndarray, ring: np.ndarray) -> np.ndarray:
    a, b = ring[:-1], ring[1:]
    d = b - a
    length2 = np.maximum((d ** 2).sum(axis=1), 1e-18)
    px, py = x[:, None], y[:, None]
    t = np.clip(((px - a[:, 0]) * d[:, 0] + (py - a[:, 1]) * d[:, 1]) / length2, 0, 1)
    dx, dy = px - (a[:, 0] + t * d[:, 0]), py - (a[:, 1] + t * d[:, 1])
    return np.sqrt(dx ** 2 + dy ** 2).min(axis=1)


def contains(geometry: dict, lons, lats, tolerance: float = BOUNDARY_TOLERANCE_DEG) -> np.ndarray:
    """Mask of the points inside the geometry or within `tolerance` degrees of its edge."""
    x, y = np.asarray(lons, dtype=float), np.asarray(lats, dtype=float)
    inside = np.zeros(len(x), dtype=bool)
    near = np.full(len(x), np.inf)
    for rings in _polygons(geometry):
        in_polygon = _in_ring(x, y, rings[0])
        for hole in rings[1:]:
            in_polygon &= ~_in_ring(x, y, hole)
        inside |= in_polygon
        for ring in rings:
            near = np.minimum(near, _distance_to_ring(x, y, ring))
    return inside | (near <= tolerance)
