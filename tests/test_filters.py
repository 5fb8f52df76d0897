"""filters: the sidebar's selection, its round trip through a query string, and cutting a
county-wide table to the chosen townships."""
from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import pandas as pd
import pytest

from liushou_dash.core import filtering
from liushou_dash.core.periods import periods_between
from liushou_dash.indicators import stored
from liushou_dash.web import filters
from liushou_dash.web.filters import Options, Selection
from tests.demo_db import LATEST, demo_engine  # noqa: F401  (a fixture)

OPTIONS = Options(periods_between("2025-01", "2026-10"), ("520525001", "520525101",
                                                                   "520525108"))


def as_link(selection: Selection) -> dict[str, list[str]]:
    """What a browser hands back after the query string went through a real URL."""
    return parse_qs(urlencode(selection.to_query(), doseq=True))


def test_the_default_is_the_year_up_to_the_latest_month():
    default = OPTIONS.default()
    assert (default.period_from, default.period_to) == ("2025-11", "2026-10")
    assert default.townships == () and default.school_types == () and not default.approved_only


def test_a_short_history_defaults_to_all_of_it():
    short = Options(("2026-09", "2026-10"), ("520525001",))
    assert (short.default().period_from, short.default().period_to) == ("2026-09", "2026-10")


@pytest.mark.parametrize("selection", [
    Selection("2026-10", "2026-10"),
    Selection("2025-03", "2026-02", ("520525101", "520525108"), ("小学", "教学点"), True),
    Selection("2025-01", "2026-10", ("520525001",)),
])
def test_a_selection_survives_the_round_trip_through_a_link(selection):
    assert OPTIONS.parse(as_link(selection)) == selection


def test_every_value_is_written_even_the_defaults():
    """A link copied today must open the same months after next month's returns arrive."""
    query = OPTIONS.default().to_query()
    assert query == {"from": "2025-11", "to": "2026-10"}


def test_a_hand_edited_link_falls_back_instead_of_failing():
    parsed = OPTIONS.parse({"from": ["2031-01"], "to": ["garbage"],
                            "township": ["999", "520525108"], "type": ["大学", "小学"],
                            "approved": ["maybe"]})
    assert (parsed.period_from, parsed.period_to) == ("2025-11", "2026-10")
    assert parsed.townships == ("520525108",)
    assert parsed.school_types == ("小学",)
    assert parsed.approved_only is False


def test_reversed_months_are_put_in_order_and_choices_in_the_options_order():
    parsed = OPTIONS.parse({"from": "2026-05", "to": "2025-02",
                            "township": ["520525108", "520525001"], "approved": "1"})
    assert (parsed.period_from, parsed.period_to) == ("2025-02", "2026-05")
    assert parsed.townships == ("520525001", "520525108")
    assert parsed.approved_only


def test_the_filter_of_a_selection():
    flt = Selection("2026-01", "2026-03", ("520525108",), ("小学",), True).to_filter()
    assert flt.periods == ("2026-01", "2026-02", "2026-03")
    assert flt.townships == ("520525108",) and flt.school_types == ("小学",)
    assert flt.approved_only
    assert Selection("2026-01", "2026-01").to_filter().townships is None


def test_restricting_the_county_table_equals_asking_sql_for_the_townships(demo_engine):
    chosen = ("520525101", "520525108", "520525213")
    periods = periods_between("2026-08", LATEST)
    county = stored.township_table(demo_engine, filtering.Filter(periods, school_types=("小学",)))
    asked = stored.township_table(demo_engine, filtering.Filter(periods, townships=chosen,
                                                               school_types=("小学",)))
    pd.testing.assert_frame_equal(filters.restrict(county, chosen), asked)
    assert len(filters.restrict(county, None)) == len(county)
