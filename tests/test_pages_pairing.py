"""结对帮扶 (app_pages/pairing.py) through AppTest: schools ordered by how many pairing
targets they miss, against liushou_dash.indicators.targets."""
from __future__ import annotations

import pytest

from liushou_dash.core import filtering
from liushou_dash.indicators import readers, targets
from tests.apptest import table_with
from tests.apptest import demo_app  # noqa: F401  (fixtures)
from tests.demo_db import LATEST


def test_the_pairing_page_puts_the_schools_below_target_first(demo_app, demo_county):
    app = demo_app("app_pages/pairing.py")
    schools = readers.school_table(demo_county, filtering.Filter((LATEST,)))
    table = table_with(app, "学校")
    keys = ("paired_rate", "mentor_load", "visit_rate", "contact_rate")
    missed = targets.missed_count(schools, keys, LATEST)
    assert table["未达标项数"].iloc[0] == missed.max()
    assert table["未达标项数"].is_monotonic_decreasing
    first = schools.set_index("school_name").loc[table["学校"].iloc[0]]
    assert table["结对率"].iloc[0] == pytest.approx(first["paired_rate"] * 100)
    assert table["人均帮扶"].iloc[0] == pytest.approx(first["mentor_load"])
