"""What every browser test module shares: the demo county, seeded once per test run (each
module's server works on its own copy, see test_browser.demo_db)."""
from __future__ import annotations

from pathlib import Path

import pytest

from liushou_dash.core.db import init_db, make_engine
from liushou_dash.demo.seed import seed_demo


@pytest.fixture(scope="session")
def seeded_demo_file(tmp_path_factory) -> Path:
    """The demo county up to last month."""
    path = tmp_path_factory.mktemp("browser") / "demo.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    seed_demo(engine, months=13)
    engine.dispose()
    return path
