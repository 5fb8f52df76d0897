"""The demo county seeded once per test session (13 months up to 2026-10), for the end-to-end
tests of the ranking, alerts, plausibility checks and the bulletin. Seeding takes seconds, so
the seeded file is made once and each test module works on its own copy."""
from __future__ import annotations

import datetime as dt
import shutil

import pytest

from liushou_dash.core.db import make_engine
from liushou_dash.demo.seed import seed_demo

TODAY = dt.date(2026, 11, 20)   # the demo's latest month is then 2026-10
LATEST, PREVIOUS = "2026-10", "2026-09"
_SEEDED: dict[str, object] = {}


def seeded_file(tmp_path_factory, county_db_file):
    if "path" not in _SEEDED:
        path = tmp_path_factory.mktemp("demo13") / "demo.db"
        shutil.copy(county_db_file, path)
        engine = make_engine(f"sqlite:///{path}")
        seed_demo(engine, months=13, today=TODAY)
        engine.dispose()
        _SEEDED["path"] = path
    return _SEEDED["path"]


@pytest.fixture(scope="module")
def demo_engine(tmp_path_factory, county_db_file):
    """A copy of the seeded demo county for this module."""
    path = tmp_path_factory.mktemp("demo_copy") / "demo.db"
    shutil.copy(seeded_file(tmp_path_factory, county_db_file), path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()
