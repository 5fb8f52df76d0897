"""Databases for the tests: the demo county's master data (`engine`, `pg_engine`,
`any_engine`), and the seeded demo county the page tests share (`demo_site`,
`demo_county`)."""
import os
import shutil

import pytest

from liushou_dash.core.db import make_engine
from liushou_dash.workflow import passwords
from tests.apptest import CLERK_TOWNSHIP, ROLES, account
from tests.demo_db import seeded_file
from tests.fixtures import county_engine

PG_URL = os.environ.get("LIUSHOU_TEST_PG_URL")


@pytest.fixture(autouse=True)
def fast_bcrypt(monkeypatch):
    """The cheapest bcrypt cost, so that tests logging in dozens of times stay fast;
    test_auth.test_default_cost checks the real one."""
    monkeypatch.setattr(passwords, "BCRYPT_ROUNDS", 4)


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


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory, county_db_file):
    """(engine, {role: Actor}): one copy of the seeded demo county (tests.demo_db: 13 months
    up to 2026-10) that the page tests of the whole session read, never changing its data
    (they add audit rows only), with an account of every role made before any page reads
    it: a new account moves the data version, so none is made later and the cache stays
    warm across tests and modules.
    Defined here, not in tests/apptest.py: a session fixture imported into several modules
    would be made once per module."""
    path = tmp_path_factory.mktemp("demo_site") / "demo.db"
    shutil.copy(seeded_file(tmp_path_factory, county_db_file), path)
    engine = make_engine(f"sqlite:///{path}")
    with pytest.MonkeyPatch.context() as patch:   # fast_bcrypt is per test
        patch.setattr(passwords, "BCRYPT_ROUNDS", 4)
        people = {role: account(engine, role, CLERK_TOWNSHIP if role == "clerk" else None)
                  for role in ROLES}
    yield engine, people
    engine.dispose()


@pytest.fixture
def demo_county(demo_site):
    """The shared demo county's engine (demo_site), for computing what its pages show."""
    return demo_site[0]
