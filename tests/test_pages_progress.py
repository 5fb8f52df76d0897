"""上报进度 (app_pages/progress.py) through AppTest: the reporting matrix, the on-time
rates and the chase list, against liushou_dash.workflow.progress."""
from __future__ import annotations

import datetime as dt

from liushou_dash.indicators import stored
from liushou_dash.workflow import progress
from tests.apptest import YEAR, table_with
from tests.apptest import demo_app  # noqa: F401  (fixtures)


def test_the_progress_page(demo_app, demo_county):
    app = demo_app("app_pages/progress.py")
    found = progress.statuses(demo_county, YEAR.periods, dt.date.today())
    matrix = app.dataframe[0].value
    expected = progress.matrix(found)
    assert matrix.shape == expected.shape
    assert (matrix.to_numpy() == expected.to_numpy()).all()

    rates = table_with(app, "及时率").set_index("乡镇")
    table = stored.township_table(demo_county, YEAR)
    reported = table.groupby("township_name")["reported"].sum()
    assert (rates["已报单位数"] == reported.reindex(rates.index)).all()

    period = progress.reporting_period(dt.date.today())
    chase = progress.chase_list(demo_county, progress.statuses(
        demo_county, (period,), dt.date.today()), dt.date.today())
    shown_chase = table_with(app, "剩余天数")
    assert list(shown_chase["乡镇"]) == list(chase["township_name"])
    assert len(app.get("download_button")) == 2
