"""数据下载 (app_pages/download.py) through AppTest: the files handed out are the command
line's `export` files byte for byte (CSV) or cell for cell (Excel), with Chinese headers."""
from __future__ import annotations

import io

import openpyxl
import pandas as pd

from liushou_dash.cli import main as cli
from liushou_dash.core import filtering
from liushou_dash.reports import export
from tests.apptest import table_with, url_of
from tests.apptest import demo_app, downloads  # noqa: F401  (fixtures)
from tests.demo_db import LATEST
from tests.fixtures import OTHER_TOWNSHIP, TOWNSHIP


def sheet_rows(data: bytes) -> list[tuple]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def test_the_download_page_hands_out_the_command_lines_files(demo_app, demo_county, downloads,
                                                             tmp_path):
    query = {"from": "2026-07", "to": LATEST, "township": [TOWNSHIP, OTHER_TOWNSHIP]}
    app = demo_app("app_pages/download.py", query)
    name = f"留守儿童乡镇数据_2026-07_{LATEST}"
    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"cli.{fmt}"
        assert cli(["--db", url_of(demo_county), "export", "--from", "2026-07", "--to", LATEST,
                    "--township", TOWNSHIP, "--township", OTHER_TOWNSHIP, "--level",
                    "township", "--format", fmt, "--labels", "-o", str(out)]) == 0
        files = downloads[f"{name}.{fmt}"], out.read_bytes()
        if fmt == "csv":
            assert files[0] == files[1]
        else:  # a workbook carries the time it was written: compare what it holds
            assert sheet_rows(files[0]) == sheet_rows(files[1])
    assert downloads[f"{name}.csv"].startswith(b"\xef\xbb\xbf")

    downloads.clear()
    app.radio(key="download_level").set_value("school").run()
    app.multiselect(key="download_columns_school").set_value(["left_behind", "paired_rate"]).run()
    flt = filtering.Filter.between("2026-07", LATEST, townships=(OTHER_TOWNSHIP, TOWNSHIP))
    csv = pd.read_csv(io.BytesIO(downloads[f"留守儿童学校数据_2026-07_{LATEST}.csv"]),
                      encoding="utf-8-sig", dtype={"乡镇代码": str, "学校代码": str})
    # files for people: Chinese headers (the command line keeps the keys unless --labels)
    assert list(csv.columns) == ["月份", "乡镇代码", "乡镇名称", "学校代码", "学校名称",
                                 "留守儿童数", "结对率"]
    expected = export.export_frame(demo_county, flt, "school", ["left_behind", "paired_rate"])
    assert csv["留守儿童数"].tolist() == expected["left_behind"].tolist()
    preview = table_with(app, "学校")
    assert list(preview.columns)[-2:] == ["留守儿童数", "结对率"]
