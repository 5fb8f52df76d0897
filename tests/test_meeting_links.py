"""Meeting-screen links (workflow/meeting_links.py): made and revoked by an administrator only,
stored as a hash of their token, expiring, every step audited, on SQLite and PostgreSQL; and
through Streamlit's AppTest, a link opens the meeting screen without a login and nothing
else, and a screen whose link is revoked says so. The link in a real browser (F5, the
projector's 1920 × 1080) is tests/browser/test_browser_meeting.py."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from liushou_dash.core import audit, filtering
from liushou_dash.core.actors import Actor
from liushou_dash.core.db import dispose_engines, session_maker
from liushou_dash.core.models import AuditEntry, MeetingLink
from liushou_dash.web import cache, session
from liushou_dash.workflow import accounts, meeting_links
from tests.apptest import APP, app_on, fine, press, url_of, widget  # noqa: F401 (a fixture)
from tests.demo_db import LATEST, demo_engine  # noqa: F401  (a fixture)
from tests.fixtures import OTHER_TOWNSHIP, TOWNSHIP, audit_rows, make_user

T0 = dt.datetime(2026, 12, 8, 9, 0)
ROOT = Path(__file__).resolve().parent.parent


def stored_links(engine) -> list[MeetingLink]:
    with session_maker(engine)() as s:
        return list(s.scalars(select(MeetingLink).order_by(MeetingLink.id)))


def details(rows) -> list[dict]:
    return [json.loads(row.detail) for row in rows]


# --- The core, on both databases ---------------------------------------------------------------

def test_a_link_opens_until_it_expires(any_engine):
    boss = make_user(any_engine, "boss", "admin")
    created = meeting_links.create(any_engine, boss, 12, note="十二月联席会议", now=T0)
    assert created.path == f"/?meeting={created.token}" and len(created.token) >= 40
    assert created.expires_at == T0 + dt.timedelta(hours=12)

    opened = meeting_links.resolve(any_engine, created.token, now=T0 + dt.timedelta(hours=11))
    assert opened.valid and opened.reason is None
    assert opened.link == meeting_links.Link(created.id, None, "十二月联席会议",
                                             T0 + dt.timedelta(hours=12))
    late = meeting_links.resolve(any_engine, created.token, now=T0 + dt.timedelta(hours=12))
    assert not late.valid and late.reason.startswith("会议大屏链接已过期")
    assert "2026年12月8日 21:00" in late.reason

    [row] = audit_rows(any_engine, meeting_links.CREATE, "boss")
    assert row.object_type == "meeting_link" and row.object_id == str(created.id)
    assert details([row])[0]["note"] == "十二月联席会议"
    table = meeting_links.links(any_engine, boss, now=T0 + dt.timedelta(hours=13))
    assert table.loc[0, "状态"] == meeting_links.STATE_EXPIRED
    assert table.loc[0, "创建人"] == "boss" and table.loc[0, "显示范围"] == "全部乡镇"


def test_only_the_hash_of_a_token_is_stored(any_engine):
    boss = make_user(any_engine, "boss", "admin")
    created = meeting_links.create(any_engine, boss, 2, now=T0)
    [link] = stored_links(any_engine)
    assert link.token_hash == hashlib.sha256(created.token.encode()).hexdigest()
    with session_maker(any_engine)() as s:
        audit_text = [r.detail + (r.object_id or "") for r in s.scalars(select(AuditEntry))]
    kept = [str(getattr(link, c.key)) for c in MeetingLink.__table__.columns] + audit_text
    assert not any(created.token in text for text in kept)
    assert created.token not in meeting_links.links(any_engine, boss).to_csv()
    assert link.token_hash not in meeting_links.links(any_engine, boss).to_csv()
    # the hash itself opens nothing
    assert meeting_links.resolve(any_engine, link.token_hash).reason == meeting_links.INVALID


def test_a_revoked_link_opens_nothing_and_says_so(any_engine):
    boss = make_user(any_engine, "boss", "admin")
    created = meeting_links.create(any_engine, boss, now=T0)
    other = meeting_links.create(any_engine, boss, now=T0)
    meeting_links.revoke(any_engine, boss, created.id, now=T0 + dt.timedelta(hours=1))

    assert meeting_links.resolve(any_engine, created.token, now=T0 + dt.timedelta(hours=2)
                                 ).reason == meeting_links.REVOKED
    assert meeting_links.resolve(any_engine, other.token, now=T0 + dt.timedelta(hours=2)).valid
    with pytest.raises(ValueError, match="已于"):
        meeting_links.revoke(any_engine, boss, created.id)
    with pytest.raises(ValueError, match="没有编号"):
        meeting_links.revoke(any_engine, boss, 999)
    [row] = audit_rows(any_engine, meeting_links.REVOKE, "boss")
    assert row.object_id == str(created.id)
    table = meeting_links.links(any_engine, boss, now=T0 + dt.timedelta(hours=2))
    states = dict(zip(table["编号"], table["状态"]))
    assert states == {created.id: "已撤销", other.id: "有效"}
    assert meeting_links.revocable(table) == [other.id]
    assert table.loc[table["编号"] == created.id, "撤销人"].item() == "boss"
    assert audit.verify(any_engine).intact


@pytest.mark.parametrize("token", [None, "", "abc", "x" * 43, "a b c d e f g h i j k l m n o p",
                                   "'; DROP TABLE meeting_links; --" + "x" * 20])
def test_a_token_that_is_no_link_is_invalid(any_engine, token):
    assert meeting_links.resolve(any_engine, token).reason == meeting_links.INVALID
    assert meeting_links.opened(any_engine, token).reason == meeting_links.INVALID
    assert audit_rows(any_engine, meeting_links.OPEN) == []


def test_each_opening_is_audited_with_where_it_came_from(any_engine):
    boss = make_user(any_engine, "boss", "admin")
    created = meeting_links.create(any_engine, boss)
    assert meeting_links.opened(any_engine, created.token, address="10.1.2.3").valid
    assert meeting_links.resolve(any_engine, created.token).valid   # a refresh: not audited
    [row] = audit_rows(any_engine, meeting_links.OPEN)
    assert row.username is None and row.object_id == str(created.id)
    assert details([row]) == [{"address": "10.1.2.3", "created_by": "boss"}]
    meeting_links.revoke(any_engine, boss, created.id)
    assert not meeting_links.opened(any_engine, created.token).valid
    assert len(audit_rows(any_engine, meeting_links.OPEN)) == 1


@pytest.mark.parametrize("role", ["clerk", "leader", "staff"])
def test_only_an_administrator_makes_lists_or_revokes_links(any_engine, role):
    boss = make_user(any_engine, "boss", "admin")
    made = meeting_links.create(any_engine, boss)
    someone = make_user(any_engine, f"{role}1", role, TOWNSHIP if role == "clerk" else None)
    with pytest.raises(PermissionError):
        meeting_links.create(any_engine, someone, 12)
    with pytest.raises(PermissionError):
        meeting_links.revoke(any_engine, someone, made.id)
    with pytest.raises(PermissionError):
        meeting_links.links(any_engine, someone)
    assert len(stored_links(any_engine)) == 1 and stored_links(any_engine)[0].revoked_at is None
    refused = [d["refused"] for d in details(audit_rows(any_engine, "denied", f"{role}1"))]
    assert refused == [meeting_links.CREATE, meeting_links.REVOKE, "list_meeting_links"]


def test_a_link_shows_the_townships_it_was_made_for(any_engine):
    boss = make_user(any_engine, "boss", "admin")
    created = meeting_links.create(any_engine, boss, townships=[TOWNSHIP, OTHER_TOWNSHIP])
    assert meeting_links.resolve(any_engine, created.token).link.townships == tuple(
        sorted((TOWNSHIP, OTHER_TOWNSHIP)))
    table = meeting_links.links(any_engine, boss)
    assert table.loc[0, "显示范围"] == "骔岭镇、张家湾镇"
    with pytest.raises(ValueError, match="不在主数据中"):
        meeting_links.create(any_engine, boss, townships=["999999999"])


@pytest.mark.parametrize("hours", [0, 73, -1, 1.5, "12", True])
def test_hours_out_of_range_are_refused(any_engine, hours):
    boss = make_user(any_engine, "boss", "admin")
    with pytest.raises(ValueError, match="有效时长"):
        meeting_links.create(any_engine, boss, hours)
    assert stored_links(any_engine) == []


def test_a_link_ends_with_its_makers_account(any_engine):
    boss = make_user(any_engine, "boss", "admin")
    make_user(any_engine, "boss2", "admin")
    created = meeting_links.create(any_engine, boss)
    accounts.set_active(any_engine, Actor.system(), "boss", False)
    assert meeting_links.resolve(any_engine, created.token).reason == meeting_links.CREATOR_GONE
    accounts.set_active(any_engine, Actor.system(), "boss", True)
    assert meeting_links.resolve(any_engine, created.token).valid
    by_command_line = meeting_links.create(any_engine, Actor.system())
    assert meeting_links.resolve(any_engine, by_command_line.token).valid


# --- Through the app (AppTest) -----------------------------------------------------------------

@pytest.fixture
def app_with(demo_engine, monkeypatch):  # noqa: F811  (demo_engine is a fixture)
    """open(query): app.py against the demo county, nobody logged in, with `query` in the
    address."""
    monkeypatch.setenv("LIUSHOU_DATABASE_URL", url_of(demo_engine))
    st.cache_data.clear()

    def open_app(**query) -> AppTest:
        app = AppTest.from_file(APP, default_timeout=60)
        for key, value in query.items():
            app.query_params[key] = value
        return fine(app.run())
    yield open_app
    st.cache_data.clear()
    dispose_engines()


def on_meeting_screen(app: AppTest) -> bool:
    return (any("联席会议大屏" in t.value for t in app.title) and len(app.metric) >= 9
            and len(app.table) == 2 and bool(app.get("deck_gl_json_chart")))


def test_a_link_opens_the_meeting_screen_alone_without_a_login(demo_engine, app_with):  # noqa: F811
    boss = make_user(demo_engine, "linkboss", "admin")
    created = meeting_links.create(demo_engine, boss, 2)
    app = app_with(meeting=created.token)

    assert on_meeting_screen(app), [t.value for t in app.title]
    assert not app.text_input and session.ACTOR not in app.session_state  # no login, no account
    assert len(app.sidebar) == 0                                           # no filters, no menu
    assert not app.get("download_button")
    assert "需要立即处理" in [h.value for h in app.subheader]
    assert any("无人监护" in e.value for e in app.error)                    # the alert list itself
    assert app.session_state[cache.FILTER_KEY].latest == LATEST
    assert app.query_params["meeting"] == created.token                    # kept for F5

    fine(app.run())                                    # the screen's refresh
    opened = [r for r in audit_rows(demo_engine, meeting_links.OPEN)
              if r.object_id == str(created.id)]
    assert len(opened) == 1                            # once per session, not per refresh

    # No other page is registered for this session: the link reaches nothing else.
    with pytest.raises(ValueError, match="navigation page"):
        app.switch_page("app_pages/admin.py")
    with pytest.raises(ValueError, match="navigation page"):
        app.switch_page("app_pages/cockpit.py")


def test_a_link_for_some_townships_shows_those(demo_engine, app_with):  # noqa: F811
    boss = make_user(demo_engine, "linkboss2", "admin")
    created = meeting_links.create(demo_engine, boss, 2, townships=[TOWNSHIP])
    app = app_with(meeting=created.token)
    assert app.session_state[cache.FILTER_KEY].townships == (TOWNSHIP,)
    assert any("张家湾镇" in c.value for c in app.caption)


def test_a_revoked_or_expired_link_shows_why_and_no_data(demo_engine, app_with):  # noqa: F811
    boss = make_user(demo_engine, "linkboss3", "admin")
    created = meeting_links.create(demo_engine, boss, 2)
    app = app_with(meeting=created.token)
    assert on_meeting_screen(app)
    meeting_links.revoke(demo_engine, boss, created.id)
    fine(app.run())
    assert [e.value for e in app.error] == [meeting_links.REVOKED] and not app.metric

    old = meeting_links.create(demo_engine, boss, 1, now=dt.datetime.now() - dt.timedelta(hours=2))
    app = app_with(meeting=old.token)
    assert app.error[0].value.startswith("会议大屏链接已过期") and not app.metric
    app = app_with(meeting="no-such-link-0123456789abcdef")
    assert [e.value for e in app.error] == [meeting_links.INVALID] and not app.metric


def test_the_screens_own_refresh_checks_the_link(demo_engine, monkeypatch):  # noqa: F811
    """The meeting page run by itself, as its fragment's timer runs it (neither app.py nor
    the gate): once the link is revoked, the screen drops its data."""
    monkeypatch.setenv("LIUSHOU_DATABASE_URL", url_of(demo_engine))
    boss = make_user(demo_engine, "linkboss4", "admin")
    created = meeting_links.create(demo_engine, boss, 2)
    link = meeting_links.resolve(demo_engine, created.token).link
    app = AppTest.from_file(str(ROOT / "app_pages" / "meeting.py"), default_timeout=60)
    app.session_state[session.MEETING] = (created.token, link)
    app.session_state[cache.FILTER_KEY] = filtering.Filter.between("2025-11", LATEST)
    fine(app.run())
    assert len(app.metric) >= 9
    meeting_links.revoke(demo_engine, boss, created.id)
    fine(app.run())
    assert session.MEETING not in app.session_state and not app.metric
    dispose_engines()


def test_a_leaders_meeting_screen_still_needs_the_login(demo_engine, app_with):  # noqa: F811
    app = app_with()
    assert "用户名" in [t.label for t in app.text_input] and not app.metric


def test_the_admin_page_makes_shows_once_and_revokes_a_link(engine, app_on):
    boss = make_user(engine, "boss", "admin")
    app = app_on(engine, boss, "app_pages/admin.py")
    assert "还没有生成过会议大屏链接。" in [c.value for c in app.caption]
    widget(app.number_input, "有效时长（小时）").set_value(3)
    widget(app.text_input, "说明").input("十二月联席会议")
    app = press(app, "生成链接")

    [code] = app.code
    token = code.value.rpartition("?meeting=")[2]
    assert code.value == f"/?meeting={token}"      # AppTest's browser has no address
    link = meeting_links.resolve(engine, token).link
    assert link.note == "十二月联席会议"
    assert link.expires_at - stored_links(engine)[0].created_at == dt.timedelta(hours=3)
    assert any(f"编号 {link.id}" in s.value for s in app.success)
    table = [d.value for d in app.dataframe if "状态" in d.value.columns][0]
    assert table["状态"].tolist() == ["有效"] and token not in table.to_csv()

    app = fine(app.run())                            # shown once: gone on the next run
    assert not app.code
    widget(app.selectbox, "撤销链接").set_value(link.id)
    app = press(app, "撤销")
    assert meeting_links.resolve(engine, token).reason == meeting_links.REVOKED
    table = [d.value for d in app.dataframe if "状态" in d.value.columns][0]
    assert table["状态"].tolist() == ["已撤销"]
