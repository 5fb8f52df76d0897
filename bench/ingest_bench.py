"""ingest_vs_read: storing a 20,000-school 学校月报 workbook against reading it with calamine.

The workbook is the township template (title row, two-level header, signature rows) filled
for 20,000 schools with demo values of one month. So that ingest's E03 check (every school
belongs to the township) holds, the bench database has one county with one township that
holds all 20,000 schools, and last month's return of them (read by W03). Each timed ingest
is a resubmission of the month: read, parse, normalise, validate, store in one transaction.
"""
from __future__ import annotations

import io
import shutil
import types
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from common import (
    OUT,
    TODAY,
    fingerprint,
    log,
    mark_ready,
    median_seconds,
    pg_ready,
    pg_recreate,
    pg_url,
)
from openpyxl import Workbook

from liushou_dash.core.bulk import insert_frame
from liushou_dash.core.db import init_db, make_engine, transaction
from liushou_dash.core.models import County, School, Township
from liushou_dash.core.periods import period_end
from liushou_dash.demo import county
from liushou_dash.demo.bulk import SCHOOL_KEYS
from liushou_dash.demo.profiles import Profile
from liushou_dash.demo.returns import school_returns
from liushou_dash.demo.scale import DemoMaster
from liushou_dash.ingest import ingest_file, template
from liushou_dash.ingest.store import store_submission

SCHOOLS = 20_000
COUNTY, TOWNSHIP, TOWNSHIP_NAME = "529990", "529990001", "基准镇"
PREVIOUS, PERIOD = "2026-09", "2026-10"
PG_NAME = "liushou_bench_ingest"


def _master() -> county.Master:
    """The demo county's schools repeated to 20,000, all in one township."""
    source = DemoMaster.read().schools
    rows = source.loc[np.resize(source.index, SCHOOLS)].reset_index(drop=True)
    rows = rows.assign(code=[f"52999{i:05d}" for i in range(1, SCHOOLS + 1)],
                       name=rows["name"] + (rows.index // len(source) + 1).astype(str) + "校",
                       township_code=TOWNSHIP, village_code=None)
    townships = pd.DataFrame({"code": [TOWNSHIP], "name": [TOWNSHIP_NAME], "boundary": [None]})
    columns = [c.key for c in county.MASTER_SCHOOL_COLUMNS]
    return county.Master.of(townships, pd.DataFrame(columns=["code", "name", "township_code"]),
                          rows[columns])


def _returns(master: county.Master) -> dict[str, pd.DataFrame]:
    """Both months' 学校月报 frames, drawn by the demo generator."""
    profile = Profile(TOWNSHIP, TOWNSHIP_NAME, "镇", share=0.35)
    rows = school_returns(master.schools, [PREVIOUS, PERIOD], {TOWNSHIP: profile},
                          np.random.default_rng(county.SEED))
    return {p: rows.loc[rows["period"] == p, list(SCHOOL_KEYS)].reset_index(drop=True)
            for p in (PREVIOUS, PERIOD)}


def _prepare(engine, master: county.Master, last_month: pd.DataFrame) -> None:
    with engine.begin() as conn:
        insert_frame(conn, County.__table__, pd.DataFrame([{"code": COUNTY, "name": "基准县"}]))
        insert_frame(conn, Township.__table__, pd.DataFrame([{
            "code": TOWNSHIP, "name": TOWNSHIP_NAME, "county_code": COUNTY,
            "boundary_synthetic": False}]))
        insert_frame(conn, School.__table__, master.schools.drop(columns="township_kind"))
    with transaction(engine) as session:
        store_submission(session, township_code=TOWNSHIP, period=PREVIOUS,
                         frames={"schools": last_month}, file_name="上月.xlsx")


def _workbook(frame: pd.DataFrame) -> bytes:
    """The filled township template, as template.py lays it out."""
    book = Workbook()
    book.remove(book.active)
    township = types.SimpleNamespace(name=TOWNSHIP_NAME)
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    template._schools_sheet(book, township, PERIOD, records, period_end(PERIOD))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def prepared() -> tuple[Path, Path]:
    """(workbook, SQLite database), built when missing."""
    key = fingerprint()
    book, database = OUT / f"ingest-{key}.xlsx", OUT / f"ingest-{key}.db"
    if book.exists() and database.exists():
        return book, database
    log(f"preparing the {SCHOOLS}-school workbook and its database (once)")
    for stale in [*OUT.glob("ingest-*.xlsx"), *OUT.glob("ingest-*.db*")]:
        stale.unlink()
    master = _master()
    frames = _returns(master)
    engine = make_engine(f"sqlite:///{database}.building")
    init_db(engine)
    _prepare(engine, master, frames[PREVIOUS])
    engine.dispose()
    Path(f"{database}.building").rename(database)
    book.write_bytes(_workbook(frames[PERIOD]))
    return book, database


def pg_prepared() -> str:
    if not pg_ready(PG_NAME):
        master = _master()
        engine = pg_recreate(PG_NAME)
        _prepare(engine, master, _returns(master)[PREVIOUS])
        mark_ready(engine)
        engine.dispose()
    return pg_url(PG_NAME)


def _ingest(engine, data: bytes):
    report = ingest_file(engine, data, "学校月报.xlsx", TOWNSHIP, PERIOD, today=TODAY)
    if not report.accepted:
        raise RuntimeError(f"the bench workbook was refused: {report.errors[:3]}")
    return report


def measure(repeat: int, with_pg: bool) -> dict[str, float]:
    """Median seconds of the calamine read and of the ingest (SQLite, and PostgreSQL), the
    read and the ingests interleaved (see common.median_seconds)."""
    book, database = prepared()
    data = book.read_bytes()
    scratch = OUT / "ingest-scratch.db"
    for stale in OUT.glob("ingest-scratch.db*"):
        stale.unlink()
    shutil.copy(database, scratch)        # the prepared file stays as it was
    engines = {"ingest_sqlite": make_engine(f"sqlite:///{scratch}")}
    if with_pg:
        engines["ingest_postgresql"] = make_engine(pg_prepared())
    timed = {"read_calamine": lambda: pd.read_excel(io.BytesIO(data), engine="calamine")}
    timed.update({name: partial(_ingest, engine, data) for name, engine in engines.items()})
    result = median_seconds(timed, repeat)
    for engine in engines.values():
        engine.dispose()
    return result
