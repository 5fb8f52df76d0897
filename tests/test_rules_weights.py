"""The county changes its scoring in rules.toml, not in code: a weight added or dropped there
reaches the ranking, the cockpit's league table and the bulletin's ranking table and text."""
from __future__ import annotations

import tomllib

import pytest

from liushou_dash import catalog
from liushou_dash.catalog.rules import RULES_ENV, RULES_FILE, load_rules
from liushou_dash.indicators import cards, ranking
from liushou_dash.reports import bulletin, bulletin_text
from tests.demo_db import LATEST, TODAY, demo_engine  # noqa: F401  (a fixture)


def toml(data: dict) -> str:
    """A small TOML writer for rules.toml's flat sections (numbers only)."""
    return "\n".join(f"[{name}]\n" + "\n".join(f"{k} = {v}" for k, v in section.items())
                     for name, section in data.items()) + "\n"


@pytest.fixture
def county_rules(tmp_path, monkeypatch):
    """rules.toml with 之家学校覆盖率 weighted (it was not) and 及时率 dropped."""
    data = tomllib.loads(RULES_FILE.read_text(encoding="utf-8"))
    data["weights"].pop("on_time_rate")
    data["weights"]["school_coverage"] = 10
    path = tmp_path / "rules.toml"
    path.write_text(toml(data), encoding="utf-8")
    monkeypatch.setenv(RULES_ENV, str(path))
    return load_rules()


def test_the_file_named_is_the_file_read(county_rules):
    assert "school_coverage" in county_rules.weights
    assert "on_time_rate" not in county_rules.weights


def test_the_ranking_weighs_what_the_file_says(demo_engine, county_rules):
    ranked = ranking.ranking(demo_engine, LATEST)
    assert "school_coverage" in ranked.columns and "on_time_rate" not in ranked.columns
    shipped = ranking.ranking(demo_engine, LATEST, weights=load_rules(RULES_FILE).weights)
    assert ranked["score"].tolist() != shipped["score"].tolist()


def test_the_cockpit_and_the_bulletin_follow(demo_engine, county_rules):
    assert "school_coverage" in cards.cockpit_indicators()
    b = bulletin.collect(demo_engine, LATEST, today=TODAY)
    header = list(bulletin_text.ranking_table(b).frame.columns)
    school = catalog.INDICATORS_BY_KEY["school_coverage"].short
    assert school in header and catalog.INDICATORS_BY_KEY["on_time_rate"].short not in header
    assert f"{school}（" in " ".join(p.text for p in bulletin_text.ranking_paragraphs(b))
