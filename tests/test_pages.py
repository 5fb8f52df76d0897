"""Every page declared in liushou_dash.web.navigation.PAGES, generated from that declaration:
a page added to PAGES is opened here, by every role allowed to see it and refused to every
other, from its first commit, without editing this module. What each page shows in detail
is checked in its own module (tests/test_pages_<page>.py, tests/test_bulletin.py for 月度通报).

Most tests run on the seeded demo county that the page tests share (conftest.demo_site), so
the cache stays warm; the rest on a small database of two townships or none."""
from __future__ import annotations

from pathlib import PurePath

import pytest

from liushou_dash.core import filtering
from liushou_dash.core.db import transaction
from liushou_dash.core.models import Setting
from liushou_dash.indicators import stored
from liushou_dash.web.navigation import PAGES, ROOT
from tests.apptest import (
    ROLES,
    account,
    card_texts,
    fine,
    run_page_alone,
    two_townships,
    url_of,
)
from tests.apptest import app_on, demo_app  # noqa: F401  (fixtures)
from tests.demo_db import LATEST

FILTERED = [spec.path for spec in PAGES if spec.filters]   # the dashboards: they show data
ALLOWED = [(spec, role) for spec in PAGES for role in spec.roles]
REFUSED = [(spec, role) for spec in PAGES for role in ROLES if role not in spec.roles]


def name(spec) -> str:
    return PurePath(spec.path).stem


def shows_data(app) -> bool:
    """A card with a number, a table with rows, a chart or a map: more than a title and
    messages."""
    return bool(any(m.value.split("[")[-1].rstrip("]") not in ("", "—") for m in app.metric)
                or any(len(d.value) for d in app.dataframe)
                or any(len(t.value) for t in app.table)
                or app.get("plotly_chart") or app.get("vega_lite_chart")
                or app.get("deck_gl_json_chart"))


def test_every_file_in_app_pages_is_a_declared_page():
    """A page file not in PAGES is never reached (and never tested here); a declared page
    without its file is silently left out of the navigation."""
    files = {f"app_pages/{path.name}" for path in (ROOT / "app_pages").glob("*.py")}
    assert files == {spec.path for spec in PAGES}
    assert len({spec.title for spec in PAGES}) == len(PAGES)


@pytest.mark.parametrize("spec, role", ALLOWED,
                         ids=[f"{name(spec)}-{role}" for spec, role in ALLOWED])
def test_every_page_opens_for_every_role_allowed_to_see_it(demo_app, spec, role):
    app = demo_app(spec.path, role=role)   # fine(): the page raised nothing

    [title] = [t.value for t in app.title]
    assert spec.title in title              # this page ran, not the default one
    assert any("示例数据" in info.value for info in app.info)   # the demo banner, on every page
    assert not any("无权访问" in e.value for e in app.error)
    assert not any("暂无" in info.value for info in app.info)
    assert shows_data(app), [e.type for e in app.main]


@pytest.mark.parametrize("spec, role", REFUSED,
                         ids=[f"{name(spec)}-{role}" for spec, role in REFUSED])
def test_every_page_reached_outside_the_navigation_refuses_every_other_role(
        demo_site, monkeypatch, spec, role):
    """As when a URL opens the page file without app.py: hiding a page is not access
    control, every page checks the role itself. (Every page refuses some role.)"""
    engine, people = demo_site
    monkeypatch.setenv("LIUSHOU_DATABASE_URL", url_of(engine))
    app = run_page_alone(spec.path, people[role])

    assert [e.value for e in app.error] == ["当前账号无权访问此页面"]
    assert not app.title and not app.dataframe and not app.metric and not app.button
    assert not app.file_uploader and not app.get("download_button")


@pytest.mark.parametrize("page", FILTERED, ids=[PurePath(p).stem for p in FILTERED])
def test_every_dashboard_says_so_while_there_are_no_returns(engine, app_on, page):
    app = app_on(engine, account(engine, "admin"), page)  # master data, no returns
    assert any("暂无" in info.value for info in app.info)
    assert not app.metric and not app.get("plotly_chart")


def test_every_dashboard_copes_with_sparse_data(engine, app_on):
    """Two townships of twenty-nine, homes and a ledger for one only, a single month chosen:
    every page still draws, the missing townships shown as missing."""
    two_townships(engine)
    app = app_on(engine, account(engine, "admin"), FILTERED[0],
                 query={"from": "2026-04", "to": "2026-04"})
    for page in FILTERED:
        if page != FILTERED[0]:
            app = fine(app.switch_page(page).run())
        assert app.get("plotly_chart") or app.get("deck_gl_json_chart") or app.dataframe, page


def test_a_township_without_this_months_return_still_has_every_page(demo_app, demo_county):
    month = stored.township_table(demo_county, filtering.Filter((LATEST,)))
    missing = month.loc[month["reported"] == 0, "township_code"].iloc[0]
    app = demo_app("app_pages/cockpit.py", query={"township": missing})
    assert card_texts(app)["留守儿童数"] == "—"
    for page in FILTERED:
        if page != "app_pages/cockpit.py":
            app = fine(app.switch_page(page).run())


def test_demo_banner_only_when_the_demo_flag_is_set(engine, app_on):
    """The flag itself, on the small database (on the demo county every page shows the
    banner to every role: test_every_page_opens_for_every_role_allowed_to_see_it)."""
    two_townships(engine)
    admin = account(engine, "admin")
    assert not any("示例数据" in info.value for info in app_on(engine, admin).info)

    with transaction(engine) as session:
        session.merge(Setting(key="demo", value="1"))
    assert any("示例数据" in info.value for info in app_on(engine, admin).info)
