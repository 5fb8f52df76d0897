"""Master data as the dashboards read it: the county's townships, their boundaries and the
schools as points. Small reads, cached by the pages."""
from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from liushou_dash.core.db import has_schema
from liushou_dash.core.models import School, Township, Village

TOWNSHIP_COLUMNS = ["township_code", "township_name"]


def _read(engine: Engine, statement, columns: list[str]) -> pd.DataFrame:
    with engine.connect() as conn:
        if not has_schema(conn):
            return pd.DataFrame(columns=columns)
        return pd.DataFrame(conn.execute(statement).all(), columns=columns)


def townships(engine: Engine) -> pd.DataFrame:
    """Every township of the database, in code order: township_code, township_name and
    county_code (a city or a province holds several counties)."""
    statement = select(Township.code, Township.name, Township.county_code).order_by(Township.code)
    return _read(engine, statement, [*TOWNSHIP_COLUMNS, "county_code"])


def boundaries(engine: Engine) -> pd.DataFrame:
    """township_code, township_name, geometry (a GeoJSON geometry dict) and synthetic, for
    the townships that have a boundary."""
    statement = (select(Township.code, Township.name, Township.boundary,
                        Township.boundary_synthetic)
                 .where(Township.boundary.is_not(None)).order_by(Township.code))
    frame = _read(engine, statement, [*TOWNSHIP_COLUMNS, "geometry", "synthetic"])
    return frame.assign(geometry=frame["geometry"].map(json.loads),
                        synthetic=frame["synthetic"].astype(bool))


def schools(engine: Engine, school_types: tuple[str, ...] | None = None) -> pd.DataFrame:
    """township_code, township_name, school_code, school_name, school_type, lon, lat of every
    school (of the given types)."""
    statement = (select(School.township_code, Township.name, School.code, School.name,
                        School.type, School.lon, School.lat)
                 .join(Township, Township.code == School.township_code).order_by(School.code))
    if school_types is not None:
        statement = statement.where(School.type.in_(school_types))
    return _read(engine, statement, [*TOWNSHIP_COLUMNS, "school_code", "school_name",
                                     "school_type", "lon", "lat"])


def villages(engine: Engine) -> pd.DataFrame:
    """township_code, township_name, village_code, village_name of every village (村/居)."""
    statement = (select(Village.township_code, Township.name, Village.code, Village.name)
                 .join(Township, Township.code == Village.township_code).order_by(Village.code))
    return _read(engine, statement, [*TOWNSHIP_COLUMNS, "village_code", "village_name"])
