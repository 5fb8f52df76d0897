import os

import pytest

from tests.fixtures import county_engine

PG_URL = os.environ.get("LIUSHOU_TEST_PG_URL")


@pytest.fixture
def engine(tmp_path):
    """A SQLite database with the demo county's master data."""
    return county_engine(f"sqlite:///{tmp_path / 'test.db'}")


@pytest.fixture
def pg_engine():
    if not PG_URL:
        pytest.skip("LIUSHOU_TEST_PG_URL is not set")
    engine = county_engine(PG_URL)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_engine(request, tmp_path):
    """The same test on SQLite and, when LIUSHOU_TEST_PG_URL is set, on PostgreSQL."""
    if request.param == "sqlite":
        return county_engine(f"sqlite:///{tmp_path / 'test.db'}")
    return request.getfixturevalue("pg_engine")
