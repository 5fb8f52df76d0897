"""The login gate through AppTest: each role's pages, the login delays, logout, idle expiry,
the first administrator of a fresh database, and pages reached by the wrong role. Sessions
ended elsewhere (password change, deactivation, the meeting screen) are tests/test_sessions.py."""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import threading

import pytest
from streamlit.testing.v1 import AppTest

from liushou_dash.core.actors import ROLE_LABELS, Actor
from liushou_dash.core.db import dispose_engines, init_db, make_engine, transaction
from liushou_dash.core.models import LoginThrottle
from liushou_dash.web.markup import escaped as plain
from liushou_dash.web.navigation import PAGES, ROOT
from liushou_dash.web.session import ACTOR, NOT_ALLOWED
from liushou_dash.workflow import accounts, administration, auth, passwords, throttle
from tests.apptest import app_on, fine, log_in, sign_in, url_of, widget  # noqa: F401
from tests.demo_db import demo_engine  # noqa: F401  (the seeded demo county, once per module)
from tests.fixtures import PASSWORD, TOWNSHIP, audit_rows, make_user

EXISTING = [spec for spec in PAGES if (ROOT / spec.path).exists()]


def on_login_screen(app: AppTest) -> bool:
    return [b.label for b in app.button] == ["登录"] and not app.sidebar.button


def test_demo_login_screen_lists_the_demo_accounts_under_the_banner(demo_engine, app_on):
    app = app_on(demo_engine)

    assert on_login_screen(app)
    assert app.info[0].value.startswith("示例数据")
    listed = app.table[0].value
    assert listed["用户名"].tolist() == ["admin", "leader", "staff", "clerk108"]
    assert set(listed["密码"]) == {"demo"}


@pytest.mark.parametrize("username", ["admin", "leader", "staff", "clerk108"])
def test_each_demo_account_logs_in_and_sees_exactly_its_roles_pages(demo_engine, app_on,
                                                                   username):
    # The landing page's own content is the cockpit's tests' business, not checked here.
    app = log_in(app_on(demo_engine), username, "demo")

    role = dict((u, r) for u, r, _, _ in auth.DEMO_ACCOUNTS)[username]
    assert not on_login_screen(app)
    assert ROLE_LABELS[role] in app.sidebar.caption[0].value
    for spec in EXISTING:
        if role in spec.roles:
            app.switch_page(spec.path)   # registered by st.navigation for this role
        else:
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                app.switch_page(spec.path)
    home = "app_pages/upload.py" if role == "clerk" else "app_pages/cockpit.py"
    assert home in {s.path for s in EXISTING if role in s.roles}


def test_a_wrong_password_an_unknown_name_and_a_wait_read_the_same(engine, app_on):
    make_user(engine, "clerkz", "clerk", TOWNSHIP)
    app = app_on(engine)

    log_in(app, "clerkz", "wrong-password")
    assert [e.value for e in app.error] == [auth.BAD_LOGIN]
    log_in(app, "nobody", PASSWORD)
    assert [e.value for e in app.error] == [auth.BAD_LOGIN]
    [failed, unknown] = audit_rows(engine, "login_failed")
    assert json.loads(failed.detail)["address"] == throttle.LOOPBACK   # this machine, in AppTest
    assert unknown.username is None

    with transaction(engine) as session:  # this machine's address, as after many failures
        session.merge(LoginThrottle(key=f"ip:{throttle.LOOPBACK}",
                                    failures=throttle.ADDRESS_DELAY.most,
                                    last_failure=dt.datetime.now(),
                                    wait_until=dt.datetime.now() + throttle.ADDRESS_DELAY.cap))
    log_in(app, "clerkz", PASSWORD)  # the right password, before the wait is over
    assert [e.value for e in app.error] == [auth.BAD_LOGIN] and on_login_screen(app)
    assert audit_rows(engine, "login_delayed", "clerkz")


def test_logout_returns_to_the_login_screen_and_is_audited(engine, app_on):
    make_user(engine, "staffz", "staff")
    app = fine(log_in(app_on(engine), "staffz", PASSWORD))
    assert not on_login_screen(app)

    widget(app.sidebar.button, "退出登录").click()
    fine(app.run())

    assert on_login_screen(app) and "已退出登录" in app.warning[0].value
    assert ACTOR not in app.session_state
    assert len(audit_rows(engine, "logout", "staffz")) == 1


@pytest.mark.parametrize("idle_minutes, expired", [(auth.SESSION_IDLE_MINUTES - 1, False),
                                                   (auth.SESSION_IDLE_MINUTES + 1, True)])
def test_an_idle_session_expires(engine, app_on, idle_minutes, expired):
    actor = make_user(engine, "leaderz", "leader")
    app = app_on(engine, actor, idle=dt.timedelta(minutes=idle_minutes))

    assert on_login_screen(app) is expired
    assert bool(audit_rows(engine, "expired", "leaderz")) is expired
    if expired:
        assert "登录已失效" in app.warning[0].value


def test_a_deactivated_account_is_logged_out_at_its_next_click(engine, app_on):
    admin = make_user(engine, "boss", "admin")
    clerk = make_user(engine, "clerkz", "clerk", TOWNSHIP)
    app = app_on(engine, clerk)
    assert not on_login_screen(app)

    accounts.set_active(engine, admin, "clerkz", False)
    fine(app.run())

    assert on_login_screen(app) and "停用" in app.warning[0].value


def test_a_forged_role_in_the_session_is_replaced_by_the_database(engine, app_on):
    clerk = make_user(engine, "clerkz", "clerk", TOWNSHIP)
    forged = Actor(clerk.username, "admin", None, clerk.display_name)
    app = app_on(engine, forged)

    assert app.session_state[ACTOR] == clerk
    with pytest.raises(ValueError):
        app.switch_page("app_pages/admin.py")


def test_a_fresh_production_database_asks_for_the_first_administrator(engine, app_on):
    app = app_on(engine)   # master data, no account, not a demo
    assert not app.table and not any("demo" in t.value for t in app.markdown)
    assert [t.label for t in app.text_input] == ["管理员用户名", "姓名", "密码", "再次输入密码"]

    for box, text in zip(app.text_input, ("chief", "县管理员", "Lsz-first-2026", "different")):
        box.input(text)
    widget(app.button, "创建管理员并登录").click()
    fine(app.run())
    assert app.error[0].value == "两次输入的密码不一致"

    for box, text in zip(app.text_input, ("chief", "县管理员", "Lsz-first-2026", "Lsz-first-2026")):
        box.input(text)
    widget(app.button, "创建管理员并登录").click()
    fine(app.run())

    assert app.session_state[ACTOR].role == "admin"
    app.switch_page("app_pages/admin.py")
    [created] = audit_rows(engine, "create_user")   # made by nobody else: itself
    assert (created.username, created.object_id) == ("chief", "chief")
    with pytest.raises(PermissionError):  # the form cannot be replayed once an account exists
        accounts.create_first_admin(engine, "intruder", "Lsz-intrude-1", "")
    assert app_on(engine).button[0].label == "登录"


@pytest.mark.parametrize("password, why", [("Lsz-first", "至少"), ("a123456789", "常见"),
                                           ("Chief-2026-x", "用户名"), (" " * 10, "空格")])
def test_the_first_administrator_needs_a_good_password(engine, app_on, password, why):
    app = app_on(engine)
    for box, text in zip(app.text_input, ("chief", "县管理员", password, password)):
        box.input(text)
    widget(app.button, "创建管理员并登录").click()
    fine(app.run())

    assert why in app.error[0].value and ACTOR not in app.session_state
    assert not audit_rows(engine, "create_user")


@pytest.mark.parametrize("page, role, township", [
    ("app_pages/review.py", "clerk", TOWNSHIP), ("app_pages/admin.py", "staff", None),
    ("app_pages/upload.py", "leader", None), ("app_pages/admin.py", "clerk", TOWNSHIP)])
def test_a_page_reached_outside_the_navigation_refuses_the_wrong_role(engine, monkeypatch,
                                                                      page, role, township):
    """As when a URL opens the page file without app.py (see tests/apptest.py)."""
    monkeypatch.setenv("LIUSHOU_DATABASE_URL", url_of(engine))
    app = AppTest.from_file(str(ROOT / page), default_timeout=60)
    sign_in(app, make_user(engine, "someone", role, township))

    fine(app.run())

    assert [e.value for e in app.error] == [NOT_ALLOWED]
    assert not app.dataframe and not app.button and not app.file_uploader
    dispose_engines()


def test_a_display_name_with_markup_is_shown_as_typed(engine, app_on):
    name = "**粗**<img src=x onerror=alert(1)>[链接](http://x)"
    accounts.create_user(engine, Actor.system(), "odd", "leader", PASSWORD, display_name=name)
    app = fine(log_in(app_on(engine), "odd", PASSWORD))

    caption = app.sidebar.caption[0].value  # Markdown, with every mark escaped
    assert caption == f"当前用户：{plain(name)}（县领导）"
    assert re.sub(r"\\(.)", r"\1", plain(name)) == name  # shown exactly as typed
    assert not re.search(r"(?<!\\)[*<>\[\]()]", plain(name))


# --- Hardening of the server ------------------------------------------------------------------

def test_the_servers_settings_are_the_ones_streamlit_reads():
    from streamlit import config
    config.get_config_options(force_reparse=True)  # .streamlit/config.toml of the project
    assert (config.get_option("server.maxUploadSize"),
            config.get_option("server.enableXsrfProtection"),
            config.get_option("browser.gatherUsageStats"),
            config.get_option("client.showErrorDetails"),
            config.get_option("client.toolbarMode")) == (20, True, False, "none", "minimal")


def test_an_unexpected_error_shows_neither_path_nor_traceback(engine, app_on, monkeypatch):
    def broken(*_):
        raise RuntimeError("/srv/liushou/data/liushou.db: disk I/O error")
    monkeypatch.setattr(administration, "master_counts", broken)

    app = app_on(engine, make_user(engine, "boss", "admin"))
    app.switch_page("app_pages/admin.py").run()

    [shown] = app.exception
    assert "redacted" in shown.value and "/srv" not in shown.value
    assert not shown.stack_trace


def test_two_first_administrator_forms_at_once_make_one_administrator(any_engine, monkeypatch):
    """Both forms pass the screen's check while no account exists; the transaction that
    inserts judges again, so the second is refused instead of adding an administrator."""
    both_checked = threading.Barrier(2)
    hash_password = passwords.hash_password

    def slow_hash(password):  # holds each form inside its transaction until both arrive
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checked.wait(timeout=2)
        return hash_password(password)
    monkeypatch.setattr(accounts, "hash_password", slow_hash)
    outcomes = []

    def submit(name):
        try:
            outcomes.append(accounts.create_first_admin(any_engine, name, "Lsz-first-2026"))
        except PermissionError as refusal:
            outcomes.append(refusal)
    forms = [threading.Thread(target=submit, args=(name,)) for name in ("chief", "rival")]
    for form in forms:
        form.start()
    for form in forms:
        form.join(timeout=60)

    assert sorted(type(o).__name__ for o in outcomes) == ["Actor", "PermissionError"]
    assert len(accounts.list_users(any_engine, Actor.system())) == 1


def test_a_database_without_tables_asks_for_init_db_until_it_has_them(tmp_path, app_on):
    """The schema check remembers only a schema it found: after `init-db` the same running
    app offers the first administrator."""
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    app = app_on(engine)
    assert [e.value for e in app.error] == [accounts.NO_SCHEMA_MESSAGE]

    init_db(engine)
    app.run()
    assert not app.error and "管理员用户名" in [t.label for t in app.text_input]
    engine.dispose()
