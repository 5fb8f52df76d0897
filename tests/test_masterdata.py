"""Loading townships, villages and schools: clear errors, nothing half-loaded."""
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from liushou_dash.cli import main
from liushou_dash.core.db import session_maker
from liushou_dash.core.masterdata import DEMO_DIR, MasterDataError, load_master
from liushou_dash.core.models import County, School, Township, Village
from tests.fixtures import fresh_engine


def counts(engine):
    with session_maker(engine)() as s:
        return [s.scalar(select(func.count()).select_from(m))
                for m in (County, Township, Village, School)]


def demo_copy(tmp_path: Path, edit=None) -> Path:
    folder = tmp_path / "master"
    folder.mkdir()
    for name in ("townships.csv", "villages.csv", "schools.csv"):
        frame = pd.read_csv(DEMO_DIR / name, dtype=str, keep_default_na=False)
        if edit:
            frame = edit(name, frame)
        frame.to_csv(folder / name, index=False)
    return folder


def test_demo_county_loads_with_boundaries(tmp_path):
    engine = fresh_engine(f"sqlite:///{tmp_path / 'm.db'}")
    load_master(engine, DEMO_DIR)
    expected = [1] + [len(pd.read_csv(DEMO_DIR / f)) for f in
                      ("townships.csv", "villages.csv", "schools.csv")]
    assert counts(engine) == expected
    with session_maker(engine)() as s:
        assert s.get(County, "520525").boundary.startswith('{"type"')
        township = s.get(Township, "520525108")
        assert township.boundary and township.boundary_synthetic


@pytest.mark.parametrize("table, column, value, fragment", [
    ("townships.csv", "code", "52052510", "应为9位数字"),
    ("villages.csv", "township_code", "520525999", "孤立记录"),
    ("schools.csv", "type", "大学", "学校类型"),
    ("schools.csv", "code", "5205250002", "重复"),
])
def test_bad_master_data_is_refused_whole(tmp_path, table, column, value, fragment):
    def edit(name, frame):
        if name == table:
            frame.loc[0, column] = value
        return frame
    engine = fresh_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with pytest.raises(MasterDataError) as error:
        load_master(engine, demo_copy(tmp_path, edit))
    assert any(fragment in p for p in error.value.problems)
    assert counts(engine) == [0, 0, 0, 0]


def test_workbook_source_and_cli(tmp_path, capsys):
    path = tmp_path / "master.xlsx"
    with pd.ExcelWriter(path) as writer:
        for name, sheet in (("townships.csv", "乡镇"), ("villages.csv", "村居"), ("schools.csv", "学校")):
            pd.read_csv(DEMO_DIR / name, dtype=str, keep_default_na=False).to_excel(
                writer, sheet_name=sheet, index=False)
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert main(["--db", url, "load-master", str(path)]) == 0
    assert "学校 187 所" in capsys.readouterr().out
    broken = tmp_path / "schools.csv"
    frame = pd.read_csv(DEMO_DIR / "schools.csv", dtype=str, keep_default_na=False)
    frame.loc[3, "township_code"] = "520525999"
    frame.to_csv(broken, index=False)
    assert main(["--db", url, "load-master", str(broken)]) == 1
    assert "孤立记录" in capsys.readouterr().err
