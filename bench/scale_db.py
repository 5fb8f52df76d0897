"""The province-scale databases the dashboard benchmarks read: built once, then reused.

`seed-demo --scale province` over 60 months (~20,000 schools, ~1.2 million school-months),
on SQLite (a file in bench/out/) and, when a server is reachable, on PostgreSQL (a database
of the bench's own, never the test database).
"""
from __future__ import annotations

import time
from pathlib import Path

from common import (
    TODAY,
    analyze,
    drop_stale_sqlite,
    log,
    mark_ready,
    pg_ready,
    pg_recreate,
    pg_url,
    sqlite_ready,
    sqlite_url,
)

from liushou_dash.core.db import init_db, make_engine
from liushou_dash.demo.seed import seed_demo

SCALE = "province"
PG_NAME = "liushou_bench_province"


def _seed(engine) -> None:
    start = time.perf_counter()
    summary = seed_demo(engine, scale=SCALE, today=TODAY)
    log(f"  seeded {summary['schools']} schools, {summary['school_rows']} school-months "
        f"in {time.perf_counter() - start:.0f} s")
    analyze(engine)


def sqlite_province() -> str:
    """The URL of the SQLite province database, seeding it first when missing."""
    url = sqlite_url(SCALE)
    if not sqlite_ready(url):
        drop_stale_sqlite(SCALE)
        log(f"seeding the {SCALE} on SQLite (once; about two minutes)")
        building = Path(url.split("///", 1)[1] + ".building")
        for stale in building.parent.glob(building.name + "*"):
            stale.unlink()
        engine = make_engine(f"sqlite:///{building}")
        init_db(engine)
        _seed(engine)
        engine.dispose()
        building.rename(url.split("///", 1)[1])
    return url


def pg_province() -> str:
    """The URL of the PostgreSQL province database, seeding it first when missing."""
    if not pg_ready(PG_NAME):
        log(f"seeding the {SCALE} on PostgreSQL (once; a few minutes)")
        engine = pg_recreate(PG_NAME)
        _seed(engine)
        mark_ready(engine)
        engine.dispose()
    return pg_url(PG_NAME)
