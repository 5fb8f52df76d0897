"""What every benchmark shares: timing, the cache of prepared databases, the databases."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:          # `python bench/run.py` puts bench/, not the root, first
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from liushou_dash.core.db import init_db, make_engine  # noqa: E402

OUT = ROOT / "bench" / "out"           # git-ignored: prepared databases, workbooks, reports
TODAY = dt.date(2026, 11, 22)          # fixed, so that every run seeds the same data
PG_SERVER = os.environ.get("LIUSHOU_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")

# A prepared database is reused while the code that shapes its contents is unchanged.
_SHAPING = ("liushou_dash/demo/*.py", "liushou_dash/catalog/*.py", "liushou_dash/core/rollup.py",
            "liushou_dash/core/models.py", "liushou_dash/core/periods.py",
            "liushou_dash/core/township_months.py")  # cells_statement


def fingerprint() -> str:
    digest = hashlib.sha256()
    paths = [path for pattern in _SHAPING for path in sorted(ROOT.glob(pattern))]
    paths += sorted((ROOT / "liushou_dash" / "migrations" / "versions").glob("*.py"))
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def median_seconds(functions: dict, repeat: int, warmup: int = 1) -> dict[str, float]:
    """The median wall time of each of `functions` (name -> function) over `repeat` rounds,
    after `warmup` rounds. Each round runs every function once, in turn: this machine's
    speed drifts by tens of percent within a minute, and interleaving puts the drift on both
    sides of a ratio instead of on one."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    for round_number in range(warmup + repeat):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            if round_number >= warmup:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(found) for name, found in times.items()}


# --- Databases ---------------------------------------------------------------------------

def sqlite_url(name: str) -> str:
    OUT.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{OUT / f'{name}-{fingerprint()}.db'}"


def sqlite_ready(url: str) -> bool:
    return Path(url.split("///", 1)[1]).exists()


def drop_stale_sqlite(name: str) -> None:
    """Prepared files of older code (another fingerprint) only take disk space."""
    for path in OUT.glob(f"{name}-*.db*"):
        if fingerprint() not in path.name:
            path.unlink()


def pg_available() -> bool:
    try:
        with create_engine(f"{PG_SERVER}/postgres").connect():
            return True
    except Exception:  # no server, no driver, no access: the PostgreSQL runs are skipped
        return False


def pg_url(name: str) -> str:
    return f"{PG_SERVER}/{name}"


def pg_ready(name: str) -> bool:
    """The database exists and was prepared by this code (its fingerprint is stored)."""
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
    admin.dispose()
    if not exists:
        return False
    engine = create_engine(pg_url(name))
    try:
        with engine.connect() as conn:
            stored = conn.scalar(text("SELECT value FROM settings WHERE key = 'bench'"))
    except Exception:  # half-built: no settings table yet
        stored = None
    engine.dispose()
    return stored == fingerprint()


def pg_recreate(name: str) -> Engine:
    """A new, empty, migrated database `name` (only ever one of the bench's own)."""
    assert name.startswith("liushou_bench"), name
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = make_engine(pg_url(name))
    init_db(engine)
    return engine


def mark_ready(engine: Engine) -> None:
    """Record which code prepared this database (see pg_ready)."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM settings WHERE key = 'bench'"))
        conn.execute(text("INSERT INTO settings (key, value) VALUES ('bench', :v)"),
                     {"v": fingerprint()})


def analyze(engine: Engine) -> None:
    """Fresh planner statistics (and on PostgreSQL a vacuumed visibility map), as a
    maintained production database has after autovacuum."""
    statement = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(statement))
