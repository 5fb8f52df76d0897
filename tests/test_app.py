"""The dashboards through Streamlit's AppTest, logged in, against real databases.

Every number a page shows is checked against what liushou_dash.metrics (or the reader the
page names) gives for the same filter, computed here independently of the page; the sidebar
filters are driven through the URL and the widgets; downloads are compared byte for byte with
the command line's files. Most tests share one seeded demo county (tests.demo_db) and one warm
cache, so the module stays quick."""
from __future__ import annotations

import base64
import datetime as dt
import io
import json

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pytest
import streamlit as st
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from liushou_dash import catalog
from liushou_dash.catalog import columns
from liushou_dash.cli import main as cli
from liushou_dash.core import filtering, orgunits, periods
from liushou_dash.core.db import dispose_engines, transaction
from liushou_dash.core.models import Setting
from liushou_dash.indicators import (
    alerts,
    composition,
    homes,
    ledger,
    ranking,
    ratios,
    readers,
    stored,
    targets,
)
from liushou_dash.ingest.store import store_submission
from liushou_dash.reports import export
from liushou_dash.web import cache
from liushou_dash.web.navigation import pages_for
from liushou_dash.workflow import auth, progress
from liushou_dash.workflow.downloads import audit_download
from tests.apptest import APP, account, fine, sign_in, url_of  # noqa: F401
from tests.demo_db import LATEST, demo_engine  # noqa: F401  (a fixture)
from tests.fixtures import (
    OTHER_TOWNSHIP,
    TOWNSHIP,
    funding_frame,
    home_frame,
    school_frame,
)

DASHBOARDS = ("app_pages/cockpit.py", "app_pages/children.py", "app_pages/homes.py", "app_pages/funding.py",
              "app_pages/pairing.py", "app_pages/map.py", "app_pages/meeting.py", "app_pages/progress.py",
              "app_pages/download.py")
DEFAULT_FROM = "2025-11"   # the demo's latest month is 2026-10: a year up to it


def shown(key: str, value) -> str:
    """How a card shows a value, written out here rather than borrowed from the code."""
    if pd.isna(value):
        return "—"
    indicator = catalog.INDICATORS_BY_KEY[key]
    if indicator.is_percent:
        return f"{value * 100:.1f}%"
    if indicator.is_rate:
        return f"{value:.1f}"
    return f"{int(value):,}"


def card_texts(app: AppTest) -> dict[str, str]:
    """label -> the value without its colour markup (":red[61.7%]" -> "61.7%")."""
    return {m.label: m.value.split("[")[-1].rstrip("]") for m in app.metric}


def charts_of(app: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def values(field) -> list:
    """A trace's x or y as a list: plotly sends numbers as base64 typed arrays."""
    if isinstance(field, dict) and "bdata" in field:
        return np.frombuffer(base64.b64decode(field["bdata"]), dtype=field["dtype"]).tolist()
    return list(field)


def chart_titled(app: AppTest, title: str) -> dict:
    [chart] = [c for c in charts_of(app) if c["layout"]["title"]["text"] == title]
    return chart


def table_with(app: AppTest, column: str) -> pd.DataFrame:
    [table] = [d.value for d in app.dataframe if column in d.value.columns]
    return table


# --- A small database: the two townships of tests.fixtures -----------------------------------

@pytest.fixture
def open_app(monkeypatch):
    """app.py against `engine`, an administrator (who sees every dashboard) logged in, the
    caches empty; optionally another page."""
    def run(engine, page: str | None = None, query: dict | None = None) -> AppTest:
        monkeypatch.setenv("LIUSHOU_DATABASE_URL", url_of(engine))
        app = AppTest.from_file(APP, default_timeout=60)
        sign_in(app, account(engine, "admin"))
        for key, value in (query or {}).items():
            app.query_params[key] = value
        fine(app.run())
        return fine(app.switch_page(page).run()) if page else app
    st.cache_data.clear()
    yield run
    st.cache_data.clear()
    dispose_engines()


def fill(engine):
    """March for one township, April for two (April is the latest month)."""
    april = school_frame(engine, seed=2)
    with transaction(engine) as session:
        store_submission(session, township_code=TOWNSHIP, period="2026-03",
                         frames={"schools": school_frame(engine, seed=1)},
                         submitted_at=dt.datetime(2026, 4, 3))
        store_submission(session, township_code=TOWNSHIP, period="2026-04",
                         frames={"schools": april, "homes": home_frame(engine),
                                 "funding": funding_frame(2026)},
                         submitted_at=dt.datetime(2026, 5, 4))
        store_submission(session, township_code=OTHER_TOWNSHIP, period="2026-04",
                         frames={"schools": school_frame(engine, OTHER_TOWNSHIP)},
                         submitted_at=dt.datetime(2026, 5, 9))
    return april


def test_cockpit_cards_are_the_county_summary_of_the_latest_month(engine, open_app):
    april = fill(engine)
    own = school_frame(engine, OTHER_TOWNSHIP)

    app = open_app(engine)

    summary = stored.county_summary(engine, filtering.Filter(("2026-04",)))
    assert summary["left_behind"] == april.left_behind.sum() + own.left_behind.sum()
    cards = card_texts(app)
    for key in ("left_behind", "archived_rate", "paired_rate", "village_coverage",
                "disbursement_rate", "report_rate"):
        assert cards[catalog.INDICATORS_BY_KEY[key].label] == shown(key, summary[key]), key
    helps = {m.label: m.proto.help for m in app.metric}
    assert helps["建档率"].startswith(catalog.INDICATORS_BY_KEY["archived_rate"].formula())
    assert any("2026年4月" in c.value for c in app.caption)


def test_demo_banner_only_when_the_demo_flag_is_set(engine, open_app):
    fill(engine)
    assert not any("示例数据" in info.value for info in open_app(engine).info)

    with transaction(engine) as session:
        session.merge(Setting(key="demo", value="1"))
    st.cache_data.clear()
    app = open_app(engine)
    for page in [spec.path for specs in pages_for("admin").values() for spec in specs]:
        app = fine(app.switch_page(page).run())
        assert any("示例数据" in info.value for info in app.info), page


def test_every_dashboard_copes_with_sparse_data(engine, open_app):
    """Two townships of twenty-nine, homes and a ledger for one only, a single month chosen:
    every page still draws, the missing townships shown as missing."""
    fill(engine)
    app = open_app(engine, query={"from": "2026-04", "to": "2026-04"})
    for page in DASHBOARDS:
        app = fine(app.switch_page(page).run())
        assert app.get("plotly_chart") or app.get("deck_gl_json_chart") or app.dataframe, page


@pytest.mark.parametrize("page", DASHBOARDS)
def test_every_dashboard_says_so_while_there_are_no_returns(engine, open_app, page):
    app = open_app(engine, page)  # master data, no returns
    assert any("暂无" in info.value for info in app.info)
    assert not app.metric and not app.get("plotly_chart")


def test_database_without_schema_shows_a_friendly_message(tmp_path, monkeypatch):
    monkeypatch.setenv("LIUSHOU_DATABASE_URL", f"sqlite:///{tmp_path / 'blank.db'}")
    st.cache_data.clear()

    app = fine(AppTest.from_file(APP, default_timeout=60).run())  # nobody can log in yet

    assert any("init-db" in error.value for error in app.error)
    st.cache_data.clear()
    dispose_engines()


def _store_more(engine) -> str:
    """A correction of one township's April stored through the core, as another replica or
    the command line would; returns the card the county's 留守儿童数 then shows."""
    more = school_frame(engine, TOWNSHIP, seed=7)
    with transaction(engine) as session:
        store_submission(session, township_code=TOWNSHIP, period="2026-04",
                         frames={"schools": more})
    return shown("left_behind", more.left_behind.sum()
                 + school_frame(engine, OTHER_TOWNSHIP).left_behind.sum())


def test_a_write_elsewhere_shows_once_the_data_version_is_read_again(engine, open_app,
                                                                     monkeypatch):
    fill(engine)
    monkeypatch.setattr(cache, "VERSION_SECONDS", 3600)   # the version read below is trusted
    before = card_texts(open_app(engine))["留守儿童数"]
    expected = _store_more(engine)
    assert expected != before

    app = AppTest.from_file(APP, default_timeout=60)
    sign_in(app, account(engine, "admin"))
    assert card_texts(fine(app.run()))["留守儿童数"] == before   # the version not read again
    monkeypatch.setattr(cache, "VERSION_SECONDS", 0)      # ... until it is: nobody cleared a cache
    assert card_texts(fine(app.run()))["留守儿童数"] == expected


def test_a_write_on_this_replica_shows_on_its_next_run(engine, open_app, monkeypatch):
    fill(engine)
    monkeypatch.setattr(cache, "VERSION_SECONDS", 3600)
    app = open_app(engine)
    expected = _store_more(engine)

    cache.clear_caches()                                          # what every writer calls
    assert card_texts(fine(app.run()))["留守儿童数"] == expected


def test_logins_and_downloads_leave_the_cached_readings_alone(engine, open_app, monkeypatch):
    """A login (or a stranger's failed guesses, or a download) moves no data, so it must not
    make every replica re-read its dashboards."""
    fill(engine)
    monkeypatch.setattr(cache, "VERSION_SECONDS", 0)
    open_app(engine)
    admin = account(engine, "admin")              # made already: this only logs in
    version = cache.data_version()
    account(engine, "admin")
    with pytest.raises(auth.LoginError):
        auth.authenticate(engine, admin.username, "wrong password")
    audit_download(engine, admin, "export", level="school")
    assert cache.data_version() == version
    _store_more(engine)
    assert cache.data_version() != version


# --- The demo county --------------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def fresh_cache_for_the_module():
    st.cache_data.clear()
    yield
    st.cache_data.clear()
    dispose_engines()


@pytest.fixture
def dashboard(demo_engine, monkeypatch):
    """open(page=None, query=None): app.py against the demo county, an administrator logged
    in, the link's `query`; the cache stays warm from test to test (one database)."""
    monkeypatch.setenv("LIUSHOU_DATABASE_URL", url_of(demo_engine))
    admin = account(demo_engine, "admin")

    def open_page(page: str | None = None, query: dict | None = None) -> AppTest:
        app = AppTest.from_file(APP, default_timeout=60)
        sign_in(app, admin)
        for key, value in (query or {}).items():
            app.query_params[key] = value
        fine(app.run())
        return fine(app.switch_page(page).run()) if page else app
    return open_page


@pytest.fixture(scope="module")
def year(demo_engine):
    """The default filter: the year up to the latest month, every township."""
    return filtering.Filter.between(DEFAULT_FROM, LATEST)


def test_the_cockpit_of_the_demo_county(dashboard, demo_engine, year):
    app = dashboard()

    summary = stored.county_summary(demo_engine, year)
    cards = card_texts(app)
    assert len(cards) == 9
    for card in app.metric:
        key = next(i.key for i in catalog.INDICATORS if i.label == card.label)
        assert cards[card.label] == shown(key, summary[key]), key
        status = targets.status(key, summary[key], LATEST)
        if status:
            assert card.value.startswith(f":{targets.COLOURS[status]}["), key
    assert app.query_params == {"from": DEFAULT_FROM, "to": LATEST}


def test_the_cockpit_lists_unguarded_children_and_missing_returns(dashboard, demo_engine):
    app = dashboard()
    found = alerts.alerts(demo_engine, LATEST, today=dt.date.today())
    unguarded = [a.message for a in found if a.kind == alerts.UNGUARDED]
    missing = [a.message for a in found if a.kind == alerts.MISSING_RETURN]
    assert unguarded and missing
    [error] = app.error
    assert all(message in error.value for message in unguarded)
    assert any(all(message in w.value for message in missing) for w in app.warning)


def test_the_cockpit_league_table_is_the_months_ranking(dashboard, demo_engine):
    table = table_with(dashboard(), "综合得分")
    expected = ranking.ranking(demo_engine, LATEST)
    assert list(table["乡镇"]) == list(expected["township_name"])
    assert table["综合得分"].tolist() == pytest.approx(expected["score"].tolist(), nan_ok=True)
    by_name = table.set_index("乡镇")
    month = stored.township_table(demo_engine, filtering.Filter((LATEST,)))
    row = month.dropna(subset=["paired_rate"]).iloc[0]
    assert by_name.loc[row["township_name"], "结对率"] == pytest.approx(row["paired_rate"] * 100)


def vega_charts_of(app: AppTest) -> list[tuple[dict, pd.DataFrame]]:
    """Each Vega-Lite chart's spec and the rows sent beside it (Arrow)."""
    return [(json.loads(chart.proto.spec),
             pa.ipc.open_stream(chart.proto.data.data).read_all().to_pandas())
            for chart in app.get("vega_lite_chart")]


def test_the_cockpit_trend_is_the_county_month_by_month(dashboard, demo_engine, year):
    [(spec, data)] = [c for c in vega_charts_of(dashboard())
                      if c[0]["title"]["text"] == "全县主要指标月度趋势"]
    series = ratios.county_by_period(stored.township_table(demo_engine, year))
    paired = data[data["指标"] == "结对率"]
    assert paired["比率"].tolist() == pytest.approx(series["paired_rate"].tolist())
    assert paired["月份"].tolist() == [periods.period_label(p) for p in year.periods]
    assert spec["encoding"]["y"]["axis"]["format"] == ".1%"


def test_the_cockpit_loads_no_plotly(dashboard):
    """The landing page: plotly.js would cost a new tab about a second before it paints."""
    assert dashboard().get("vega_lite_chart") and not dashboard().get("plotly_chart")


def test_a_copied_link_opens_the_same_numbers_on_any_page(dashboard, demo_engine):
    query = {"from": "2026-04", "to": "2026-09", "township": ["520525108", "520525101"],
             "type": ["小学", "教学点"], "approved": "1"}
    flt = filtering.Filter.between("2026-04", "2026-09", townships=("520525101", "520525108"),
                                 school_types=("小学", "教学点"), approved_only=True)
    summary = stored.county_summary(demo_engine, flt)

    for page in ("app_pages/cockpit.py", "app_pages/children.py"):
        app = dashboard(page, query)
        cards = card_texts(app)
        assert cards["留守儿童数"] == shown("left_behind", summary["left_behind"]), page
        assert cards["无人监护人数"] == shown("guardian_none", summary["guardian_none"]), page
        assert app.query_params == {"from": "2026-04", "to": "2026-09",
                                    "township": ["520525101", "520525108"],
                                    "type": ["小学", "教学点"], "approved": "1"}
        assert "骔岭镇、张家湾镇 · 小学、教学点 · 仅已审核数据" in app.caption[0].value


def test_filters_are_kept_across_pages_and_written_into_the_link(dashboard, demo_engine):
    app = dashboard()
    app.multiselect(key="filter_townships").set_value(["520525108"]).run()
    app.select_slider(key="filter_months").set_value(("2026-01", "2026-06")).run()
    assert app.query_params == {"from": "2026-01", "to": "2026-06", "township": "520525108"}

    fine(app.switch_page("app_pages/review.py").run())   # a page without the filters
    fine(app.switch_page("app_pages/homes.py").run())
    assert app.multiselect(key="filter_townships").value == ["520525108"]
    assert app.select_slider(key="filter_months").value == ("2026-01", "2026-06")
    flt = filtering.Filter.between("2026-01", "2026-06", townships=("520525108",))
    coverage = stored.county_summary(demo_engine, flt)["village_coverage"]
    assert card_texts(app)["之家村(居)覆盖率"] == shown("village_coverage", coverage)


def test_choosing_townships_reads_nothing_again(dashboard, monkeypatch):
    """The cockpit reads the county once per month; choosing townships cuts the cached
    tables, and going back to a range already seen reads nothing."""
    st.cache_data.clear()
    calls = []
    real = stored.township_table
    monkeypatch.setattr(stored, "township_table",
                        lambda engine, flt, *shown: calls.append(flt.periods)
                        or real(engine, flt, *shown))
    app = dashboard()
    first = len(calls)
    assert first > 0

    app.multiselect(key="filter_townships").set_value(["520525108"]).run()
    app.multiselect(key="filter_townships").set_value(["520525108", "520525101"]).run()
    assert len(calls) == first

    app.select_slider(key="filter_months").set_value(("2025-10", LATEST)).run()
    assert calls[first:] == [("2025-10",)]   # only the month not read before
    app.select_slider(key="filter_months").set_value((DEFAULT_FROM, LATEST)).run()
    assert len(calls) == first + 1


def test_the_children_page(dashboard, demo_engine):
    app = dashboard("app_pages/children.py")
    month = stored.township_table(demo_engine, filtering.Filter((LATEST,)))
    parts = composition.composition(ratios.totals(month))
    chart = chart_titled(app, "留守儿童构成")
    shares = {trace["name"]: values(trace["x"])[0] for trace in chart["data"]}
    for row in parts.itertuples():
        assert shares[row.label] == pytest.approx(row.share), row.label

    stacked = chart_titled(app, "各乡镇留守儿童监护类型构成")
    grandparents = next(t for t in stacked["data"] if t["name"] == "祖辈监护")
    by_name = month.set_index("township_name")
    for name, count in zip(values(grandparents["y"]), values(grandparents["x"])):
        assert count == by_name.loc[name, "guardian_grandparents"]

    app.selectbox(key="children_township").set_value(TOWNSHIP).run()
    schools = readers.school_table(demo_engine, filtering.Filter((LATEST,), townships=(TOWNSHIP,)))
    table = table_with(app, "学校类型")
    assert list(table["学校"]) == list(schools["school_name"])
    assert table["留守儿童数"].tolist() == schools["left_behind"].tolist()


def test_the_homes_page(dashboard, demo_engine):
    app = dashboard("app_pages/homes.py")
    listed = homes.home_list(demo_engine, LATEST)
    month = stored.township_table(demo_engine, filtering.Filter((LATEST,)))
    assert len(table_with(app, "依托单位")) == len(listed) == month["homes"].sum()
    assert any(f"之家名单（{len(listed)}所）" == h.value for h in app.subheader)
    villages = table_with(app, "村(居)名称")
    assert len(villages) == (month["villages"] - month["villages_with_home"]).sum()
    equipment = table_with(app, "四项齐全").set_index("乡镇")
    assert equipment.loc["全县", "四项齐全"] == pytest.approx(
        homes.county_equipment(listed)["complete"] * 100)


def test_the_funding_page(dashboard, demo_engine):
    app = dashboard("app_pages/funding.py")
    month = stored.township_table(demo_engine, filtering.Filter((LATEST,)))
    cards = card_texts(app)
    assert cards["年度累计下达资金"] == columns.format_wan_yuan(month["allocated"].sum())
    assert cards["年度累计支出资金"] == columns.format_wan_yuan(month["disbursed"].sum())
    bars = chart_titled(app, "按乡镇的资金下达与支出")["data"][1]
    by_name = month.set_index("township_name")
    for name, wan in zip(values(bars["y"]), values(bars["x"])):
        assert wan == pytest.approx(by_name.loc[name, "disbursed"] / 10000)

    entries = ledger.entries(demo_engine, LATEST)
    assert len(table_with(app, "凭证号")) == len(entries)
    app.multiselect(key="ledger_kinds").set_value(["下达"]).run()
    picked = table_with(app, "凭证号")
    assert len(picked) == (entries["kind"] == "下达").sum()
    assert picked["金额（元）"].sum() == pytest.approx(month["allocated"].sum())


def test_the_pairing_page_puts_the_schools_below_target_first(dashboard, demo_engine):
    app = dashboard("app_pages/pairing.py")
    schools = readers.school_table(demo_engine, filtering.Filter((LATEST,)))
    table = table_with(app, "学校")
    keys = ("paired_rate", "mentor_load", "visit_rate", "contact_rate")
    missed = targets.missed_count(schools, keys, LATEST)
    assert table["未达标项数"].iloc[0] == missed.max()
    assert table["未达标项数"].is_monotonic_decreasing
    first = schools.set_index("school_name").loc[table["学校"].iloc[0]]
    assert table["结对率"].iloc[0] == pytest.approx(first["paired_rate"] * 100)
    assert table["人均帮扶"].iloc[0] == pytest.approx(first["mentor_load"])


def test_the_map_page(dashboard, demo_engine):
    app = dashboard("app_pages/map.py")
    [deck] = app.get("deck_gl_json_chart")
    spec = json.loads(deck.proto.json)
    assert "mapStyle" not in spec and spec["views"][0]["@@type"] == "OrthographicView"
    assert json.loads(deck.proto.tooltip) == {"text": "{tooltip}"}
    assert [layer["id"] for layer in spec["layers"]] == ["townships", "homes", "names"]
    assert any(w.value == "乡镇边界为示意" for w in app.warning)

    app.selectbox(key="map_indicator").set_value("village_coverage").run()
    app.toggle(key="map_homes").set_value(False).run()
    app.toggle(key="map_schools").set_value(True).run()
    spec = json.loads(app.get("deck_gl_json_chart")[0].proto.json)
    assert [layer["id"] for layer in spec["layers"]] == ["townships", "schools", "names"]
    month = stored.township_table(demo_engine, filtering.Filter((LATEST,)))
    row = month.iloc[0]
    tooltips = [p["tooltip"] for p in spec["layers"][0]["data"]]
    assert (f"{row['township_name']}\n之家村(居)覆盖率："
            f"{columns.format_percent(row['village_coverage'])}") in "\n".join(tooltips)
    assert len(spec["layers"][1]["data"]) == len(orgunits.schools(demo_engine))


def test_the_progress_page(dashboard, demo_engine, year):
    app = dashboard("app_pages/progress.py")
    found = progress.statuses(demo_engine, year.periods, dt.date.today())
    matrix = app.dataframe[0].value
    expected = progress.matrix(found)
    assert matrix.shape == expected.shape
    assert (matrix.to_numpy() == expected.to_numpy()).all()

    rates = table_with(app, "及时率").set_index("乡镇")
    table = stored.township_table(demo_engine, year)
    reported = table.groupby("township_name")["reported"].sum()
    assert (rates["已报单位数"] == reported.reindex(rates.index)).all()

    period = progress.reporting_period(dt.date.today())
    chase = progress.chase_list(demo_engine, progress.statuses(
        demo_engine, (period,), dt.date.today()), dt.date.today())
    shown_chase = table_with(app, "剩余天数")
    assert list(shown_chase["乡镇"]) == list(chase["township_name"])
    assert len(app.get("download_button")) == 2


def sheet_rows(data: bytes) -> list[tuple]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


@pytest.fixture
def downloads(monkeypatch):
    """Every file a page hands to a download button: {file name: bytes}."""
    files = {}
    real = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        files[filename] = path_or_data
        return real(self, path_or_data, mimetype, kind, filename)
    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    return files


def test_the_download_page_hands_out_the_command_lines_files(dashboard, demo_engine, downloads,
                                                             tmp_path):
    query = {"from": "2026-07", "to": LATEST, "township": [TOWNSHIP, OTHER_TOWNSHIP]}
    app = dashboard("app_pages/download.py", query)
    name = f"留守儿童乡镇数据_2026-07_{LATEST}"
    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"cli.{fmt}"
        assert cli(["--db", url_of(demo_engine), "export", "--from", "2026-07", "--to", LATEST,
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
    expected = export.export_frame(demo_engine, flt, "school", ["left_behind", "paired_rate"])
    assert csv["留守儿童数"].tolist() == expected["left_behind"].tolist()
    preview = table_with(app, "学校")
    assert list(preview.columns)[-2:] == ["留守儿童数", "结对率"]


def test_the_meeting_screen(dashboard, demo_engine):
    app = dashboard("app_pages/meeting.py")
    stamp = progress.data_as_of(demo_engine)
    assert any(f"数据截至 {stamp.year}年{stamp.month}月{stamp.day}日 {stamp:%H:%M}" in h.value
               for h in app.subheader)
    assert len(app.metric) == 9
    [league] = app.table
    assert list(league.value["乡镇"]) == list(ranking.ranking(demo_engine, LATEST)["township_name"])
    assert app.get("deck_gl_json_chart")


def test_many_meeting_screens_share_one_reading(dashboard, monkeypatch):
    """Forty screens refreshing cost one query: every session reads through the shared
    cache, so a second screen (another session) reaches the database not at all."""
    st.cache_data.clear()
    calls = []
    for module, name in ((stored, "township_table"), (readers, "school_table")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda engine, flt, *more, real=real, name=name,
                            **options: calls.append(name) or real(engine, flt, *more, **options))
    dashboard("app_pages/meeting.py")
    assert calls
    calls.clear()
    second = dashboard("app_pages/meeting.py")
    fine(second.run())             # what the fragment's timer does every minute
    assert calls == []


def test_a_township_without_this_months_return_still_has_every_page(dashboard, demo_engine):
    month = stored.township_table(demo_engine, filtering.Filter((LATEST,)))
    missing = month.loc[month["reported"] == 0, "township_code"].iloc[0]
    app = dashboard(query={"township": missing})
    assert card_texts(app)["留守儿童数"] == "—"
    for page in DASHBOARDS:
        app = fine(app.switch_page(page).run())
