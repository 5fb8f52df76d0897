"""The composite score and the township ranking: weights from the one rules file, targets
capped, missing data, ties, rank change. Expected values are worked out here by hand."""
from __future__ import annotations

import io
import math
import tomllib

import pandas as pd
import pytest

from liushou_dash import catalog
from liushou_dash.catalog.rules import RULES_FILE, load_rules, parse_rules
from liushou_dash.indicators import ranking
from liushou_dash.reports.export import export_table
from tests.demo_db import LATEST, PREVIOUS, demo_engine  # noqa: F401  (a fixture)

ISSUE_INDICATORS = {"建档率", "结对率", "月走访率", "亲情联系率", "之家村(居)覆盖率", "资金拨付率",
                    "及时率"}
PERIOD = "2026-06"   # even pace of the year's money: 6/12 = 50%
EQUAL = {"archived_rate": 1, "paired_rate": 1}


def table(rows: list[dict], period: str = PERIOD) -> pd.DataFrame:
    """A one-month township table: every row reported unless it says otherwise."""
    frame = pd.DataFrame(rows)
    frame.insert(0, "period", period)
    frame["reported"] = frame.get("reported", pd.Series(1, index=frame.index)).fillna(1)
    frame["township_name"] = frame["township_code"].map(lambda c: f"{c}镇")
    return frame


# --- The configuration file --------------------------------------------------------------------

def test_every_weighted_indicator_of_the_rules_file_is_a_catalogue_rate():
    with open(RULES_FILE, "rb") as handle:
        raw = tomllib.load(handle)
    for section in ("weights", "pass_marks"):
        for key, value in raw[section].items():
            indicator = catalog.INDICATORS_BY_KEY.get(key)
            assert indicator is not None, key
            assert indicator.is_rate and indicator.target is not None, key
            assert value > 0, key
    assert {catalog.label_of(k) for k in raw["weights"]} == ISSUE_INDICATORS


def test_the_loaded_rules_are_the_file():
    with open(RULES_FILE, "rb") as handle:
        raw = tomllib.load(handle)
    rules = load_rules()
    assert dict(rules.weights) == {k: float(v) for k, v in raw["weights"].items()}
    assert rules.months_running == raw["alerts"]["months_running"]
    assert rules.change_abs == raw["plausibility"]["change_abs"]


@pytest.mark.parametrize("section, problem", [
    ({"weights": {"left_behind": 1}}, "留守儿童数 is a count, not a rate"),
    ({"weights": {"no_such_rate": 1}}, "unknown"),
    ({"weights": {"standardized_rate": 1}}, "a rate without a target"),
    ({"weights": {"paired_rate": -1}}, "negative"),
    ({"weights": {"paired_rate": 0}}, "nothing weighs"),
    ({"weights": {"paired_rate": 1}, "pass_marks": {"paired_rate": 1.5}}, "above 100%"),
])
def test_a_bad_rules_file_is_refused_in_chinese(section, problem):
    with pytest.raises(ValueError, match="rules.toml"):
        parse_rules(section)


# --- The score ---------------------------------------------------------------------------------

def test_score_is_the_weighted_share_of_targets_met():
    frame = table([{"township_code": "A", "archived_rate": 0.9, "paired_rate": 0.6,
                    "disbursement_rate": 0.25}])
    weights = {"archived_rate": 3, "paired_rate": 1, "disbursement_rate": 2}
    # disbursement is judged against the even pace of June (50%): 0.25 / 0.5 = 0.5
    expected = (3 * 0.9 + 1 * 0.6 + 2 * 0.5) / 6 * 100
    assert ranking.scores(frame, weights).iloc[0] == pytest.approx(round(expected, 2))


def test_beating_a_target_earns_nothing_extra():
    frame = table([{"township_code": "A", "archived_rate": 1.0, "paired_rate": 0.5,
                    "disbursement_rate": 0.9}])   # 0.9 is far above June's pace
    weights = {"archived_rate": 1, "paired_rate": 1, "disbursement_rate": 1}
    assert ranking.scores(frame, weights).iloc[0] == pytest.approx(round(2.5 / 3 * 100, 2))


def test_weights_decide_the_order():
    frame = table([{"township_code": "A", "archived_rate": 1.0, "paired_rate": 0.7},
                   {"township_code": "B", "archived_rate": 0.7, "paired_rate": 1.0}])
    first = ranking.rank_townships(frame, {"archived_rate": 3, "paired_rate": 1})
    second = ranking.rank_townships(frame, {"archived_rate": 1, "paired_rate": 3})
    assert list(first["township_code"]) == ["A", "B"]
    assert list(second["township_code"]) == ["B", "A"]


def test_an_indicator_without_a_value_drops_out_with_its_weight():
    # B has no money allocated yet (no disbursement rate): judged on the rest, not given 0.
    frame = table([{"township_code": "A", "archived_rate": 0.8, "disbursement_rate": 0.5},
                   {"township_code": "B", "archived_rate": 0.8,
                    "disbursement_rate": float("nan")}])
    score = ranking.scores(frame, {"archived_rate": 1, "disbursement_rate": 1})
    assert score.iloc[0] == pytest.approx(90.0)       # (0.8 + 1) / 2
    assert score.iloc[1] == pytest.approx(80.0)       # 0.8 alone


def test_a_township_without_a_return_gets_no_score_and_no_rank_and_comes_last():
    frame = table([{"township_code": "A", "archived_rate": float("nan"),
                    "paired_rate": float("nan"), "reported": 0},
                   {"township_code": "B", "archived_rate": 0.5, "paired_rate": 0.5},
                   {"township_code": "C", "archived_rate": 0.9, "paired_rate": 0.9}])
    ranked = ranking.rank_townships(frame, EQUAL)
    assert list(ranked["township_code"]) == ["C", "B", "A"]
    assert list(ranked["rank"].iloc[:2]) == [1, 2]
    assert pd.isna(ranked["rank"].iloc[2]) and math.isnan(ranked["score"].iloc[2])


def test_a_township_with_no_rate_at_all_has_no_score():
    frame = table([{"township_code": "A", "archived_rate": float("nan"),
                    "paired_rate": float("nan")}])
    assert math.isnan(ranking.scores(frame, EQUAL).iloc[0])


# --- Ties and changes --------------------------------------------------------------------------

def test_equal_scores_share_a_rank_and_the_next_rank_is_skipped():
    frame = table([{"township_code": "A", "archived_rate": 0.9, "paired_rate": 0.7},
                   {"township_code": "B", "archived_rate": 0.7, "paired_rate": 0.9},
                   {"township_code": "C", "archived_rate": 1.0, "paired_rate": 1.0},
                   {"township_code": "D", "archived_rate": 0.5, "paired_rate": 0.5}])
    ranked = ranking.rank_townships(frame, EQUAL).set_index("township_code")
    assert ranked["rank"].to_dict() == {"C": 1, "A": 2, "B": 2, "D": 4}
    assert ranked["tied"].to_dict() == {"C": False, "A": True, "B": True, "D": False}


def test_scores_that_show_alike_are_tied():
    # 80.004 and 79.996 both read 80.00 in the bulletin: ranking them apart would be arbitrary.
    frame = table([{"township_code": "A", "archived_rate": 0.80004, "paired_rate": 0.80004},
                   {"township_code": "B", "archived_rate": 0.79996, "paired_rate": 0.79996}])
    ranked = ranking.rank_townships(frame, EQUAL)
    assert list(ranked["rank"]) == [1, 1] and ranked["tied"].all()


def test_rank_change_against_last_month():
    now = table([{"township_code": "A", "archived_rate": 0.9, "paired_rate": 0.9},
                 {"township_code": "B", "archived_rate": 0.8, "paired_rate": 0.8},
                 {"township_code": "C", "archived_rate": 0.7, "paired_rate": 0.7}])
    before = table([{"township_code": "A", "archived_rate": 0.5, "paired_rate": 0.5},
                    {"township_code": "B", "archived_rate": 0.9, "paired_rate": 0.9},
                    {"township_code": "C", "archived_rate": float("nan"),
                     "paired_rate": float("nan"), "reported": 0}], "2026-05")
    ranked = ranking.rank_townships(now, EQUAL, before).set_index("township_code")
    assert ranked.loc["A", "previous_rank"] == 2 and ranked.loc["A", "rank_change"] == 1
    assert ranked.loc["B", "previous_rank"] == 1 and ranked.loc["B", "rank_change"] == -1
    assert pd.isna(ranked.loc["C", "previous_rank"]) and pd.isna(ranked.loc["C", "rank_change"])


def test_bottom_takes_more_townships_when_the_last_place_is_shared():
    ranked = pd.DataFrame({"township_code": list("ABCDE"), "rank": pd.array(
        [1, 2, 3, 3, None], dtype="Int64")})
    assert list(ranking.bottom(ranked, 2)["township_code"]) == ["C", "D"]
    assert list(ranking.bottom(ranked, 3)["township_code"]) == ["B", "C", "D"]


def test_shortfalls_name_the_heaviest_loss_first():
    row = {"period": PERIOD, "archived_rate": 0.95, "paired_rate": 0.5,
           "disbursement_rate": 0.6}
    weights = {"archived_rate": 1, "paired_rate": 1, "disbursement_rate": 2}
    lost = ranking.shortfalls(row, weights)
    assert [key for key, _ in lost] == ["paired_rate", "archived_rate"]  # money is on pace
    assert lost[0][1] == pytest.approx(1 / 4 * 0.5 * 100)


# --- From the database: the same numbers as export ---------------------------------------------

def test_ranking_of_the_demo_county_is_computed_from_the_export(demo_engine):
    csv = pd.read_csv(io.BytesIO(export_table(demo_engine, PREVIOUS, LATEST)),
                      encoding="utf-8-sig", dtype={"township_code": str})
    weights = load_rules().weights

    def expected_scores(period):
        rows = csv[csv["period"] == period]
        month = int(period[5:])
        score = {}
        for row in rows.itertuples():
            if row.reported == 0:
                continue
            present = {k: w for k, w in weights.items() if not pd.isna(getattr(row, k))}
            targets = {k: (month / 12 if k == "disbursement_rate" else 1.0) for k in present}
            earned = sum(w * min(getattr(row, k) / targets[k], 1) for k, w in present.items())
            score[row.township_code] = round(earned / sum(present.values()) * 100, 2)
        return score

    ranked = ranking.ranking(demo_engine, LATEST).set_index("township_code")
    expected = expected_scores(LATEST)
    scored = ranked[ranked["score"].notna()]
    assert set(scored.index) == set(expected)
    for code, score in expected.items():
        # the CSV rounds rates to four decimals, which may move a score by a hundredth
        assert ranked.loc[code, "score"] == pytest.approx(score, abs=0.02), code
        better = sum(1 for other in expected.values() if other > ranked.loc[code, "score"] + 0.02)
        assert ranked.loc[code, "rank"] >= better + 1
    before = expected_scores(PREVIOUS)
    best_before = max(before, key=before.get)
    assert ranked.loc[best_before, "previous_rank"] == 1
