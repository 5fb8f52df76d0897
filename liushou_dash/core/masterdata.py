"""Load org units (townships, villages, schools) and boundaries from CSV/XLSX/GeoJSON.

A folder holds townships.csv, villages.csv, schools.csv and optionally county_boundary.geojson
and a township boundary file (townships*.geojson); a workbook holds sheets named like those
files (or 乡镇 / 村居 / 学校). Everything is checked before anything is written, and the
whole load, with its audit row, is one transaction.
"""
from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from liushou_dash import catalog
from liushou_dash.core import audit, rollup, township_months
from liushou_dash.core.actors import Actor
from liushou_dash.core.db import transaction
from liushou_dash.core.models import County, School, Township, Village

TABLES = {  # table -> (file stem, sheet names a workbook may use, required columns)
    "townships": ("townships", ("townships", "乡镇", "乡镇街道"), ("code", "name", "county_code")),
    "villages": ("villages", ("villages", "村居", "村(居)", "村"), ("code", "name", "township_code")),
    "schools": ("schools", ("schools", "学校"), ("code", "name", "township_code", "type")),
}
CODE_LENGTHS = {"county": 6, "township": 9, "village": 12, "school": 10}
SHEET_LABELS = {"townships": "乡镇", "villages": "村(居)", "schools": "学校"}


class MasterDataError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class MasterData:
    townships: pd.DataFrame
    villages: pd.DataFrame
    schools: pd.DataFrame
    county_boundary: dict | None = None
    township_boundaries: dict | None = None


def _read_csv(data: bytes) -> pd.DataFrame:
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return frame.apply(lambda col: col.str.strip())


def read_master(source: Path) -> MasterData:
    """Read master data from a folder of CSV/GeoJSON files or from one XLSX workbook."""
    source = Path(source)
    frames: dict[str, pd.DataFrame] = {}
    county_boundary = township_boundaries = None
    if source.is_dir():
        for table, (stem, _, _) in TABLES.items():
            path = source / f"{stem}.csv"
            if path.exists():
                frames[table] = _read_csv(path.read_bytes())
        boundary = source / "county_boundary.geojson"
        if boundary.exists():
            county_boundary = json.loads(boundary.read_text(encoding="utf-8"))
        for path in sorted(source.glob("townships*.geojson")):
            township_boundaries = json.loads(path.read_text(encoding="utf-8"))
    elif source.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods"):
        frames = _workbook_frames(
            pd.read_excel(source, sheet_name=None, dtype=str, engine="calamine"))
    elif source.suffix.lower() == ".csv":
        frame = _read_csv(source.read_bytes())
        table = next((t for t, (stem, _, _) in TABLES.items() if source.stem.startswith(stem)),
                     None)
        if table is None:
            raise MasterDataError([f"无法判断 {source.name} 是乡镇、村(居)还是学校表，"
                                   "请命名为 townships.csv、villages.csv 或 schools.csv"])
        frames[table] = frame
    else:
        raise MasterDataError([f"找不到主数据文件或目录：{source}"])
    return _master(frames, county_boundary, township_boundaries)


def master_from_sheets(sheets: Mapping[str, pd.DataFrame]) -> MasterData:
    """Master data from a workbook's sheets (text cells, first row the header) read
    elsewhere: the admin page reads an uploaded workbook in the reader worker."""
    return _master(_workbook_frames(sheets))


def _workbook_frames(sheets: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    frames = {}
    for table, (_, names, _) in TABLES.items():
        for sheet_name, frame in sheets.items():
            if sheet_name.strip().lower() in names:
                frames[table] = frame.fillna("").apply(lambda col: col.astype(str).str.strip())
    return frames


def _master(frames: dict[str, pd.DataFrame], county_boundary: dict | None = None,
            township_boundaries: dict | None = None) -> MasterData:
    empty = {t: pd.DataFrame(columns=list(cols)) for t, (_, _, cols) in TABLES.items()}
    return MasterData(**{**empty, **frames}, county_boundary=county_boundary,
                      township_boundaries=township_boundaries)


def _check_columns(md: MasterData) -> list[str]:
    problems = []
    for table, (_, _, required) in TABLES.items():
        frame = getattr(md, table)
        for col in required:
            if col not in frame.columns:
                problems.append(f"{SHEET_LABELS[table]}表缺少列 {col}")
    return problems


def _check_codes(frame: pd.DataFrame, table: str, level: str, parent_col: str | None,
                 parent_codes: set[str]) -> list[str]:
    problems = []
    label = SHEET_LABELS[table]
    length = CODE_LENGTHS[level]
    for i, row in enumerate(frame.itertuples(index=False), start=2):
        code = row.code
        if not re.fullmatch(rf"\d{{{length}}}", code):
            problems.append(f"{label}表第{i}行：代码“{code}”应为{length}位数字")
        if not row.name:
            problems.append(f"{label}表第{i}行：名称为空")
        if parent_col:
            parent = getattr(row, parent_col)
            if parent not in parent_codes:
                problems.append(f"{label}表第{i}行：所属代码“{parent}”不存在（孤立记录）")
    for code in frame.loc[frame["code"].duplicated(), "code"]:
        problems.append(f"{label}表：代码“{code}”重复")
    return problems


def validate(md: MasterData, known_townships: set[str] = frozenset(),
             known_villages: set[str] = frozenset()) -> list[str]:
    problems = _check_columns(md)
    if problems:
        return problems
    township_codes = set(md.townships["code"]) | set(known_townships)
    village_codes = set(md.villages["code"]) | set(known_villages)
    if len(md.townships):
        bad = md.townships[~md.townships["county_code"].str.fullmatch(r"\d{6}")]
        problems += [f"乡镇表：县代码“{c}”应为6位数字" for c in bad["county_code"]]
        prefix = md.townships["code"].str[:6] != md.townships["county_code"]
        problems += [f"乡镇表：乡镇代码“{c}”与所属县代码不符"
                     for c in md.townships.loc[prefix, "code"]]
    problems += _check_codes(md.townships, "townships", "township", None, set())
    problems += _check_codes(md.villages, "villages", "village", "township_code", township_codes)
    problems += _check_codes(md.schools, "schools", "school", "township_code", township_codes)
    for i, row in enumerate(md.schools.itertuples(index=False), start=2):
        if row.type not in catalog.SCHOOL_TYPES:
            problems.append(f"学校表第{i}行：学校类型“{row.type}”不在 "
                            f"{'、'.join(catalog.SCHOOL_TYPES)} 之中")
        village = getattr(row, "village_code", "")
        if village and village not in village_codes:
            problems.append(f"学校表第{i}行：所属村(居)代码“{village}”不存在")
    return problems


def _float_or_none(value) -> float | None:
    try:
        return float(value) if str(value).strip() else None
    except ValueError:
        return None


def _geometry(feature: dict) -> str:
    return json.dumps(feature["geometry"], ensure_ascii=False, separators=(",", ":"))


def store(engine: Engine, md: MasterData, source: str = "",
          username: str | None = None) -> dict[str, int]:
    """Check, then insert or update every org unit in one transaction, audited as loaded
    from `source` by `username` (None: the command line, named by the operating-system
    user who ran it)."""
    with transaction(engine) as session:
        return store_in(session, md, source, username or Actor.system().username)


def store_in(session, md: MasterData, source: str, username: str) -> dict[str, int]:
    """`store` inside the caller's transaction (the admin page checks its rights in it),
    with its audit row: the load and its record are one transaction."""
    problems = validate(md, set(session.scalars(select(Township.code))),
                        set(session.scalars(select(Village.code))))
    if problems:
        raise MasterDataError(problems)
    _merge_units(session, md)
    _store_boundaries(session, md)
    session.flush()
    # Home coverage in the rollup is judged against the villages and schools on record,
    # and the stored months count them and list every township.
    rollup.rebuild(session.connection())
    township_months.rebuild(session.connection())
    counts = {"townships": len(md.townships), "villages": len(md.villages),
              "schools": len(md.schools)}
    audit.record(session, username, "load_master", "masterdata", source[:50] or None, **counts)
    return counts


def _merge_units(session, md: MasterData) -> None:
    for row in md.townships.drop_duplicates("county_code").itertuples(index=False):
        name = getattr(row, "county_name", "") or row.county_code
        session.merge(County(code=row.county_code, name=name))
    for row in md.townships.itertuples(index=False):
        session.merge(Township(code=row.code, name=row.name, county_code=row.county_code))
    session.flush()
    for row in md.villages.itertuples(index=False):
        session.merge(Village(code=row.code, name=row.name, township_code=row.township_code))
    session.flush()
    for row in md.schools.itertuples(index=False):
        students = getattr(row, "students", "")
        session.merge(School(
            code=row.code, name=row.name, township_code=row.township_code,
            village_code=getattr(row, "village_code", "") or None, type=row.type,
            boarding=getattr(row, "boarding", "") == catalog.YES,
            students=int(students) if str(students).isdigit() else None,
            lon=_float_or_none(getattr(row, "lon", "")),
            lat=_float_or_none(getattr(row, "lat", ""))))


def _store_boundaries(session, md: MasterData) -> None:
    if md.county_boundary:
        for feature in md.county_boundary["features"]:
            county = session.get(County, str(feature["properties"]["code"]))
            if county is not None:
                county.boundary = _geometry(feature)
    if md.township_boundaries:
        store_township_boundaries(session, md.township_boundaries)


def store_township_boundaries(session, collection: dict) -> list[str]:
    """Attach township polygons to known townships; returns the codes it did not know."""
    unknown = []
    for feature in collection["features"]:
        props = feature.get("properties") or {}
        code = str(props.get("code") or feature.get("id") or "")
        township = session.get(Township, code)
        if township is None:
            unknown.append(code)
            continue
        township.boundary = _geometry(feature)
        township.boundary_synthetic = bool(props.get("synthetic"))
    return unknown


DEMO_DIR = Path(__file__).resolve().parents[2] / "data" / "demo"


def load_master(engine: Engine, source: Path = DEMO_DIR,
                username: str | None = None) -> dict[str, int]:
    return store(engine, read_master(source), Path(source).name, username)
