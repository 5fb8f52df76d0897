"""targets: met / near / missed against the catalogue's goals and the county's pass marks."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from liushou_dash.catalog.rules import load_rules
from liushou_dash.indicators import targets
from liushou_dash.indicators.targets import MET, MISSED, NEAR


def test_a_rate_at_its_goal_is_met_between_goal_and_pass_mark_near_below_missed():
    mark = load_rules().pass_marks["paired_rate"]
    assert targets.status("paired_rate", 1.0) == MET
    assert targets.status("paired_rate", (1.0 + mark) / 2) == NEAR
    assert targets.status("paired_rate", mark - 0.001) == MISSED


def test_without_a_pass_mark_five_percent_below_the_goal_is_near():
    assert "report_rate" not in load_rules().pass_marks
    assert targets.status("report_rate", 0.96) == NEAR
    assert targets.status("report_rate", 0.94) == MISSED


def test_zero_is_the_only_acceptable_number_of_unguarded_children():
    assert targets.status("guardian_none", 0) == MET
    assert targets.status("guardian_none", 1) == MISSED


def test_mentor_load_is_judged_against_its_ceiling():
    assert targets.status("mentor_load", 2.4) == MET
    assert targets.status("mentor_load", 3.1) == NEAR
    assert targets.status("mentor_load", 3.6) == MISSED


@pytest.mark.parametrize("period, value, expected", [
    ("2026-06", 0.55, MET),       # half the year gone, more than half spent
    ("2026-11", 0.55, MISSED),    # eleven twelfths gone
    ("2026-12", 1.0, MET),
])
def test_disbursement_is_judged_against_the_even_pace_of_its_month(period, value, expected):
    assert targets.target("disbursement_rate", period) == pytest.approx(
        int(period[5:]) / 12)
    assert targets.status("disbursement_rate", value, period) == expected


def test_no_value_or_no_goal_has_no_status():
    assert targets.status("paired_rate", math.nan) is None
    assert targets.status("left_behind_rate", 0.3) is None
    assert targets.status("standardized_rate", 0.9) is None


def test_below_target_first_puts_the_units_missing_most_targets_on_top():
    frame = pd.DataFrame({"name": ["good", "bad", "worse", "silent"],
                          "paired_rate": [1.0, 0.5, 0.7, math.nan],
                          "visit_rate": [1.0, 1.0, 0.5, math.nan]})
    ranked = targets.below_target_first(frame, ["paired_rate", "visit_rate"], first=1)
    assert list(ranked["name"]) == ["worse", "bad", "good", "silent"]
    assert list(ranked["missed"]) == [2, 1, 0, 0]
    assert list(ranked.columns) == ["name", "missed", "paired_rate", "visit_rate"]
