"""Every command answers a wrong argument in Chinese with exit code 2, never a traceback;
`export` takes any range of months."""
from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from liushou_dash.cli import main
from liushou_dash.ingest import ingest_file
from tests.fixtures import TOWNSHIP, school_frame
from tests.returns import workbook

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess:
    """The command as a person types it: its own process, its exit code and what it prints."""
    return subprocess.run([sys.executable, "-m", "liushou_dash", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, says", [
    (["reset-password"], "缺少必需的参数：name"),
    (["seed-demo", "--scale", "town"], "参数 --scale 的值 'town' 不可用"),
    (["seed-demo", "--months", "many"], "参数 --months 应为整数"),
    (["export", "--from", "2026-01"], "缺少必需的参数"),
    (["export", "--from", "2026-13", "--to", "2026-10", "-o", "x.csv"], "月份格式应为 YYYY-MM"),
    (["export", "--from", "2026-10", "--to", "2026-01", "-o", "x.csv"], "晚于结束月份"),
    (["export", "--from", "2026-01", "--to", "2026-10", "-o", "/no/such/folder/x.csv"],
     "文件无法读写：/no/such/folder/x.csv（文件或目录不存在）"),
    (["--db", "postgresql+psycopg://nobody@127.0.0.1:1/none", "init-db"], "无法连接数据库"),
    (["--db", "not a url", "init-db"], "无法连接数据库"),
    (["no-such-command"], "参数 command 的值 'no-such-command' 不可用"),
])
def test_a_wrong_argument_is_answered_in_chinese_with_exit_code_2(engine, args, says):
    if args[0] != "--db":
        args = ["--db", engine.url.render_as_string(), *args]
    done = run(*args)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr
    assert "Traceback" not in done.stderr and "error:" not in done.stderr


def test_export_takes_a_century_and_gives_the_months_it_has(engine, tmp_path):
    ingest_file(engine, workbook({"schools": school_frame(engine)}), "r.xlsx", TOWNSHIP,
                "2026-10")
    url, out = engine.url.render_as_string(), tmp_path / "导出.csv"
    assert main(["--db", url, "export", "--from", "2000-01", "--to", "2100-12",
                 "-o", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert {row["period"] for row in rows} == {"2026-10"}
    assert len(rows) == 29  # every township of the county, the one that reported among them

    assert main(["--db", url, "export", "--from", "1990-01", "--to", "1999-12",
                 "-o", str(out)]) == 0
    header, *body = out.read_bytes().decode("utf-8-sig").splitlines()
    assert header.startswith("period,township_code,township_name") and body == []
