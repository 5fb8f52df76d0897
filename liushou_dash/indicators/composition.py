"""How the left-behind children divide up: by guardian, stage, sex, and whether both parents
are away. Each dimension's parts add up to 留守儿童数 (the validator enforces it: E07–E09)."""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from liushou_dash import catalog

ONE_PARENT_AWAY, ONE_PARENT_AWAY_LABEL = "one_parent_away", "单亲外出"
PARENTS_GROUP = "父母外出"


def _group(name: str) -> dict[str, str]:
    return {f.key: f.label for f in catalog.SCHOOLS.fields if f.group == name}


# dimension label -> {part key: part label}, in the template's column order
DIMENSIONS: dict[str, dict[str, str]] = {
    catalog.GUARDIAN_GROUP: _group(catalog.GUARDIAN_GROUP),
    catalog.STAGE_GROUP: _group(catalog.STAGE_GROUP),
    catalog.SEX_GROUP: _group(catalog.SEX_GROUP),
    PARENTS_GROUP: {"both_parents_away": catalog.label_of("both_parents_away"),
                    ONE_PARENT_AWAY: ONE_PARENT_AWAY_LABEL},
}
PART_LABELS = {key: label for parts in DIMENSIONS.values() for key, label in parts.items()}


def with_parts(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` (rows of school counts) with the one derived part, one_parent_away."""
    return frame.assign(**{ONE_PARENT_AWAY: frame["left_behind"] - frame["both_parents_away"]})


def composition(totals: Mapping) -> pd.DataFrame:
    """dimension, part, label, count and share (of 留守儿童数) of one row of totals."""
    total = totals.get("left_behind")
    rows = []
    for dimension, parts in DIMENSIONS.items():
        for part, label in parts.items():
            count = (total - totals["both_parents_away"] if part == ONE_PARENT_AWAY
                     else totals[part])
            rows.append({"dimension": dimension, "part": part, "label": label, "count": count,
                         "share": count / total if total else float("nan")})
    return pd.DataFrame(rows)


def by_township(table: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """Long form for stacked bars: township_code, township_name, part, label, count — the
    townships with a return only, in the table's order."""
    parts = DIMENSIONS[dimension]
    reported = with_parts(table[table["left_behind"].notna()])
    long = reported.melt(id_vars=["township_code", "township_name"], value_vars=list(parts),
                         var_name="part", value_name="count")
    return long.assign(label=long["part"].map(parts), count=long["count"].astype("int64"))
