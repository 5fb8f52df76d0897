import os
import shutil

import pytest

from liushou_dash.core.db import make_engine
from liushou_dash.workflow import auth
from tests.fixtures import county_engine

PG_URL = os.environ.get("LIUSHOU_TEST_PG_URL")


@pytest.fixture(autouse=True)
def fast_bcrypt(monkeypatch):
    """The cheapest bcrypt cost, so that tests logging in dozens of times stay fast;
    test_auth.test_default_cost checks the real one."""
    monkeypatch.setattr(auth, "BCRYPT_ROUNDS", 4)


@pytest.fixture(scope="session")
def county_db_file(tmp_path_factory):
    """The demo county's master data migrated once; each test gets its own copy."""
    path = tmp_path_factory.mktemp("county") / "county.db"
    county_engine(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture
def engine(tmp_path, county_db_file):
    """A SQLite database with the demo county's master data and no returns."""
    path = tmp_path / "test.db"
    shutil.copy(county_db_file, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine():
    if not PG_URL:
        pytest.skip("LIUSHOU_TEST_PG_URL is not set")
    engine = county_engine(PG_URL)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_engine(request):
    """The same test on SQLite and, when LIUSHOU_TEST_PG_URL is set, on PostgreSQL."""
    return request.getfixturevalue("engine" if request.param == "sqlite" else "pg_engine")
