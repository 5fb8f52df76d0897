"""留守儿童之家 (left-behind children's homes) as of a month: the list, their equipment, and
the villages and schools that still have none.

The list is the 留守儿童之家 sheet of each township's current submission as of the month, the
same rows township_table counts as `homes`, so the list and the coverage rates agree.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from liushou_dash import catalog
from liushou_dash.catalog import columns
from liushou_dash.core.filtering import Filter
from liushou_dash.core.models import Home, School, Township, Village
from liushou_dash.indicators import readers

# The county's equipment standard for a home ("五个一": a phone, a video set, books, staff
# who open it after school). Adjust here if the province sets other figures.
BOOKS_STANDARD = 800   # books
HOURS_STANDARD = 10    # opening hours a week
EQUIPMENT_LABELS = {"has_phone": "亲情电话", "has_video": "视频设备",
                    "books_ok": f"图书≥{BOOKS_STANDARD}册",
                    "hours_ok": f"每周开放≥{HOURS_STANDARD}小时", "complete": "四项齐全"}
HOME_KEYS = tuple(f.key for f in catalog.HOMES.fields)
COUNTY_NAME = "全县"
HOST_NAME, HOST_NAME_LABEL = "host_name", "依托单位"


def home_list(engine: Engine, period: str, approved_only: bool = False) -> pd.DataFrame:
    """Every home of the county as of `period`: township_code, township_name, the sheet's
    columns and host_name (the village or school it is attached to), by township and code."""
    chosen = readers.sheet_submissions(engine, Filter((period,), approved_only=approved_only),
                                       "homes")
    homes, villages, schools = Home.__table__, Village.__table__, School.__table__
    statement = (
        select(homes.c.township_code, Township.name.label("township_name"),
               *[homes.c[key] for key in HOME_KEYS],
               villages.c.name.label("village_name"),
               schools.c.name.label("school_name"))
        .select_from(homes.join(Township.__table__, Township.code == homes.c.township_code)
                     .outerjoin(villages, villages.c.code == homes.c.host_code)
                     .outerjoin(schools, schools.c.code == homes.c.host_code))
        .where(homes.c.submission_id.in_([int(i) for i in chosen["submission_id"]]))
        .order_by(homes.c.township_code, homes.c.home_code))
    with engine.connect() as conn:
        result = conn.execute(statement)
        frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    host = frame["school_name"].where(frame["host_type"] == catalog.SCHOOL_HOST_TYPE,
                                      frame["village_name"])
    return frame.drop(columns=["village_name", "school_name"]).assign(**{HOST_NAME: host})


def with_equipment(homes: pd.DataFrame) -> pd.DataFrame:
    """The list with one yes/no column per equipment item of the standard, and `complete`."""
    books_ok = pd.to_numeric(homes["books"]) >= BOOKS_STANDARD
    hours_ok = pd.to_numeric(homes["open_hours"]) >= HOURS_STANDARD
    frame = homes.assign(has_phone=homes["has_phone"].astype(bool),
                         has_video=homes["has_video"].astype(bool),
                         books_ok=books_ok, hours_ok=hours_ok)
    return frame.assign(complete=frame[["has_phone", "has_video", "books_ok", "hours_ok"]]
                        .all(axis=1))


def equipment_by_township(homes: pd.DataFrame) -> pd.DataFrame:
    """Per township and for the county (township_code None, named 全县): homes,
    homes_standardized, standardized_rate and the share of homes with each equipment item
    (EQUIPMENT_LABELS keys)."""
    equipped = with_equipment(homes).assign(standardized=homes["standardized"].astype(bool))
    items = ["standardized", *EQUIPMENT_LABELS]
    county = equipped.assign(township_code=None, township_name=COUNTY_NAME)
    rows = []
    for (code, name), group in pd.concat([equipped, county]).groupby(
            ["township_code", "township_name"], sort=False, dropna=False):
        shares = group[items].mean() if len(group) else pd.Series(float("nan"), index=items)
        rows.append({"township_code": code, "township_name": name, "homes": len(group),
                     "homes_standardized": int(group["standardized"].sum()),
                     "standardized_rate": shares["standardized"],
                     **{item: shares[item] for item in EQUIPMENT_LABELS}})
    return pd.DataFrame(rows)


EQUIPMENT_KINDS = {item: columns.PERCENT for item in EQUIPMENT_LABELS}


def county_equipment(homes: pd.DataFrame) -> pd.Series:
    """The county's row of equipment_by_township."""
    return equipment_by_township(homes).iloc[-1]


def _uncovered(units: pd.DataFrame, homes: pd.DataFrame, code: str,
               host_types: tuple[str, ...]) -> pd.DataFrame:
    """The units (villages or schools) of which no home of their own township is the host,
    counted as township_table counts villages_with_home and schools_with_home."""
    hosts = homes[homes["host_type"].isin(host_types)]
    covered = set(zip(hosts["township_code"], hosts["host_code"]))
    keys = zip(units["township_code"], units[code])
    return units[[key not in covered for key in keys]].reset_index(drop=True)


def uncovered_villages(villages: pd.DataFrame, homes: pd.DataFrame) -> pd.DataFrame:
    return _uncovered(villages, homes, "village_code", catalog.VILLAGE_HOST_TYPES)


def uncovered_schools(schools: pd.DataFrame, homes: pd.DataFrame) -> pd.DataFrame:
    return _uncovered(schools, homes, "school_code", (catalog.SCHOOL_HOST_TYPE,))


LIST_COLUMNS = ["township_name", "name", "host_type", HOST_NAME, "standardized", "has_phone",
                "has_video", "books", "open_hours", "staff", "children_served", "established"]
LIST_LABELS = {HOST_NAME: HOST_NAME_LABEL}
UNCOVERED_LABELS = {"village_name": "村(居)名称"}
LIST_KINDS = {"books": columns.COUNT, "staff": columns.COUNT, "children_served": columns.COUNT,
              "open_hours": columns.NUMBER}
BOOL_KEYS = ("standardized", "has_phone", "has_video")


def readable(homes: pd.DataFrame) -> pd.DataFrame:
    """The list's columns for people: yes/no as 是/否, dates as text."""
    frame = homes[LIST_COLUMNS].copy()
    for key in BOOL_KEYS:
        frame[key] = frame[key].map({True: catalog.YES, False: catalog.NO})
    frame["established"] = frame["established"].map(lambda d: "" if pd.isna(d) else str(d))
    return frame
