"""The county's monitoring rules (rules.toml): score weights, pass marks, alert and
plausibility thresholds. Loaded and checked against the catalogue once per file."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from liushou_dash import catalog

RULES_FILE = Path(__file__).resolve().parent / "rules.toml"
RULES_ENV = "LIUSHOU_RULES_FILE"


@dataclass(frozen=True)
class Rules:
    weights: Mapping[str, float]        # rate indicator key -> weight in the composite score
    pass_marks: Mapping[str, float]     # rate indicator key -> the share below which it lags
    months_running: int
    funds_check_month: int
    funds_min_rate: float
    change_abs: int
    change_rel: float
    enrolment_abs: int
    enrolment_rel: float
    copied_min_left_behind: int


def _rate_shares(section: Mapping, name: str, *, allow_above_one: bool) -> dict[str, float]:
    """A {indicator key: number} section, every key a rate indicator of the catalogue."""
    values = {}
    for key, value in section.items():
        indicator = catalog.INDICATORS_BY_KEY.get(key)
        if indicator is None or not indicator.is_rate or indicator.target is None:
            raise ValueError(f"rules.toml [{name}]：“{key}”不是指标目录中有目标值的比率指标")
        if not isinstance(value, (int, float)) or value < 0 or (value > 1 and not allow_above_one):
            raise ValueError(f"rules.toml [{name}] {key} 的值无效：{value!r}")
        values[key] = float(value)
    return values


def parse_rules(data: Mapping) -> Rules:
    weights = _rate_shares(data.get("weights", {}), "weights", allow_above_one=True)
    if not weights or sum(weights.values()) <= 0:
        raise ValueError("rules.toml [weights]：至少要有一个权重大于 0 的指标")
    alerts, checks = data.get("alerts", {}), data.get("plausibility", {})
    return Rules(
        weights=MappingProxyType(weights),
        pass_marks=MappingProxyType(
            _rate_shares(data.get("pass_marks", {}), "pass_marks", allow_above_one=False)),
        months_running=int(alerts.get("months_running", 3)),
        funds_check_month=int(alerts.get("funds_check_month", 9)),
        funds_min_rate=float(alerts.get("funds_min_rate", 0.5)),
        change_abs=int(checks.get("change_abs", 10)),
        change_rel=float(checks.get("change_rel", 0.2)),
        enrolment_abs=int(checks.get("enrolment_abs", 30)),
        enrolment_rel=float(checks.get("enrolment_rel", 0.15)),
        copied_min_left_behind=int(checks.get("copied_min_left_behind", 40)),
    )


def load_rules(path: Path | None = None) -> Rules:
    """The rules of `path`, else of the file LIUSHOU_RULES_FILE names (a county may keep
    its own outside the code, so an upgrade does not touch it), else the shipped rules.toml."""
    return _load(Path(path or os.environ.get(RULES_ENV) or RULES_FILE))


@lru_cache(maxsize=8)
def _load(path: Path) -> Rules:
    with open(path, "rb") as handle:
        return parse_rules(tomllib.load(handle))
