"""The login gate and what the account pages share, on the Streamlit side.

The session holds the logged-in `Actor` (with the session epoch it logged in under) and
the time of its last activity. On every rerun the gate re-reads the account from the database
(a deactivated account, a changed role or a password changed elsewhere takes effect at once)
and logs out a session idle for auth.SESSION_IDLE_MINUTES. A fragment's own runs do not pass
through app.py, so fragments are made with `fragment`, which passes the gate first.
An address carrying a meeting-screen link (?meeting=TOKEN, workflow/meeting_links.py) goes
through `meeting_gate` instead: the meeting screen alone, with no account behind it, as long
as the link holds; the same fragments check the link again on each of their runs.
Logging in, the first administrator and every rule live in auth.py and accounts.py; this
module only draws the screens. Hiding a page is not access control: pages pass the actor to
core functions that check it again.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
from pathlib import PurePath

import streamlit as st
from sqlalchemy.engine import Engine

from liushou_dash.core.actors import Actor
from liushou_dash.core.cell_text import (
    defused,  # one rule for every surface: cell_text.defuse
)
from liushou_dash.core.db import database_url, engine_for
from liushou_dash.core.masterdata import MasterDataError
from liushou_dash.web import cache
from liushou_dash.web.filters import QUERY_TOWNSHIP
from liushou_dash.web.markup import escaped
from liushou_dash.web.navigation import PAGES
from liushou_dash.workflow import accounts, auth, meeting_links, passwords, throttle
from liushou_dash.workflow.auth import LoginError

ACTOR, LAST_SEEN, FLASH = "actor", "last_seen", "flash"
TITLE = "留守儿童关爱工作监测平台"
EXPIRED = f"超过 {auth.SESSION_IDLE_MINUTES} 分钟未操作，登录已失效，请重新登录"
NOT_ALLOWED = "当前账号无权访问此页面"
MEETING, MEETING_OPENED = "meeting_link", "meeting_opened"  # st.session_state, see meeting_gate
MEETING_PAGE, MEETING_TITLE = "app_pages/meeting.py", "会议大屏"


def engine() -> Engine:
    return engine_for(database_url())


def table(frame) -> None:
    """A table as every account page shows one: no index, "—" for what is empty. Cells are
    drawn as text, so whatever a file or a user put in them is never markup, and defused,
    so a cell copied into Excel is never a formula."""
    st.dataframe(defused(frame), hide_index=True, placeholder=cache.NOT_AVAILABLE)


# --- Messages that survive a rerun ------------------------------------------------------------

def flash(message: str, kind: str = "success") -> None:
    """Show `message` on the next run (an action reruns the page to show its result)."""
    st.session_state[FLASH] = (kind, message)


def show_flash() -> None:
    kind, message = st.session_state.pop(FLASH, (None, None))
    if message:
        getattr(st, kind)(message)


def act(action, actor: Actor, *args, done) -> None:
    """Run one core write as `actor`; on success clear the cached readers and rerun with
    `done` (a text, or a function of the result) shown; a refusal is shown in place."""
    try:
        result = action(engine(), actor, *args)
    except MasterDataError as refusal:
        st.error("未导入，问题如下：")
        table({"问题": refusal.problems})
        return
    except (ValueError, PermissionError) as refusal:
        st.error(escaped(refusal))
        return
    cache.clear_caches()
    flash(done(result) if callable(done) else done)
    st.rerun()


# --- The gate -----------------------------------------------------------------------------------

def _remember(actor: Actor) -> None:
    st.session_state[ACTOR] = actor
    st.session_state[LAST_SEEN] = dt.datetime.now()


def _forget(message: str | None = None) -> None:
    """Drop everything the session held (uploads, verdicts), keeping only a message.
    Key by key: st.session_state.clear() would also wipe Streamlit's own bookkeeping."""
    for key in list(st.session_state):
        del st.session_state[key]
    if message:
        flash(message, "warning")


def _still_valid() -> Actor | None:
    """The session's actor as the database sees it now; None when nobody is logged in, or
    after ending a session that no longer holds (idle too long, account deactivated,
    password changed elsewhere), keeping the reason for the login screen."""
    actor = st.session_state.get(ACTOR)
    if actor is None:
        return None
    if auth.session_expired(st.session_state.get(LAST_SEEN)):
        auth.logout(engine(), actor, "expired")
        _forget(EXPIRED)
        return None
    try:
        return auth.refresh_actor(engine(), actor)
    except auth.SessionEnded as ended:
        _forget(str(ended))
        return None


def _current() -> Actor | None:
    fresh = _still_valid()
    if fresh is not None:
        _remember(fresh)  # a rerun is activity
    return fresh


def gate() -> Actor:
    """The logged-in actor; otherwise the login screen is drawn and the run stops there."""
    actor = _current()
    if actor is None:
        st.navigation(_login_pages(), position="hidden").run()
        st.stop()
    _sidebar(actor)
    return actor


def fragment(run_every=None):
    """st.fragment, whose every run passes the gate first. A fragment's own runs (its timer,
    its widgets) run neither app.py nor its page, so without this a meeting screen would go
    on refreshing after its session should have ended; when it has, the whole app reruns
    and the gate shows the login with the reason. A fragment's run is not activity: a
    screen left refreshing on its own still expires after auth.SESSION_IDLE_MINUTES.
    A screen opened by a meeting link checks the link instead: revoked or expired, the whole
    app reruns and meeting_gate says so."""
    def decorate(body):
        @st.fragment(run_every=run_every)
        @functools.wraps(body)
        def gated(*args, **kwargs):
            if not (_link_holds() if MEETING in st.session_state
                    else _still_valid() is not None):
                st.rerun()
            return body(*args, **kwargs)
        return gated
    return decorate


# --- Meeting-screen links -----------------------------------------------------------------------

def meeting_token() -> str | None:
    """The meeting-screen token the address carries (?meeting=TOKEN), if any."""
    return st.query_params.get(meeting_links.QUERY_KEY)


def meeting_link() -> meeting_links.Link | None:
    """The link this session's meeting screen was opened by; None for a logged-in user."""
    held = st.session_state.get(MEETING)
    return None if held is None else held[1]


def meeting_gate():
    """For an address with a meeting link: the meeting screen alone, as the page to run,
    with the link's filter left for it; no account is involved and no other page is
    registered, so the link opens nothing else, nor any download (views.audited_download
    draws none without an actor). Its opening is audited once per browser session. A link
    that does not hold (无效, 已过期, 已撤销) shows why, and the run stops there."""
    token = meeting_token()
    opened = st.session_state.setdefault(MEETING_OPENED, set())  # tokens, as in the address
    if token in opened:
        found = meeting_links.resolve(engine(), token)
    else:
        found = meeting_links.opened(engine(), token, address=client_address())
        if found.valid:
            opened.add(token)
    link = found.link
    if link is None:
        st.session_state.pop(MEETING, None)
        st.navigation(_everywhere(lambda: _link_refused(found.reason)),
                      position="hidden").run()
        st.stop()
    st.session_state[MEETING] = (token, link)
    st.session_state[cache.FILTER_KEY] = _link_filter(link)
    return st.navigation(_everywhere(MEETING_PAGE), position="hidden")


def _everywhere(page) -> list:
    """`page` (a file or a function) under the site's address and under every page's, so
    that a link with another page's address shows it too, not "page not found"."""
    return [st.Page(page, title=MEETING_TITLE, url_path="meeting_link", default=True),
            *(st.Page(page, title=MEETING_TITLE, url_path=PurePath(spec.path).stem)
              for spec in PAGES)]


def _link_filter(link: meeting_links.Link):
    """The dashboards' default filter (the latest month) cut to the link's townships;
    None while the database holds no returns."""
    options = cache.filter_options()
    if options is None:
        return None
    return options.parse({QUERY_TOWNSHIP: list(link.townships or ())}).to_filter()


def _link_holds() -> bool:
    """Whether the link this session's screen was opened by still holds; if not, it is
    forgotten (meeting_gate says why on the rerun)."""
    token, _ = st.session_state[MEETING]
    if meeting_links.resolve(engine(), token).valid:
        return True
    del st.session_state[MEETING]
    return False


def _link_refused(reason: str | None) -> None:
    st.title(TITLE)
    st.error(reason or meeting_links.INVALID)
    address = site_address()
    if address:
        st.caption(f"登录地址：{escaped(address)}/")


def site_address() -> str:
    """This app's address as the browser has it, without the page and the query (where a
    link to hand out starts); empty when the browser has not said (AppTest)."""
    url = (st.context.url or "").rstrip("/")
    head, _, last = url.rpartition("/")
    pages = {PurePath(spec.path).stem for spec in PAGES}
    return head if last in pages and not head.endswith("/") else url


def client_address() -> str:
    """Where this session's browser connects from, for the login throttle (see
    throttle.client_address; proxies are trusted only when listed in LIUSHOU_TRUSTED_PROXIES).
    Streamlit gives the peer as text, or None for this machine; AppTest's stand-in runtime
    gives neither, and counts as this machine."""
    peer = st.context.ip_address
    return throttle.client_address(peer if isinstance(peer, str) else None,
                               st.context.headers.get_all("X-Forwarded-For"),
                               os.environ.get("LIUSHOU_TRUSTED_PROXIES", ""))


def page_actor(*roles: str) -> Actor:
    """The actor, for a page open to `roles` only; anyone else sees a refusal and nothing
    more (st.navigation already hides the page, this covers a page reached another way)."""
    actor = st.session_state.get(ACTOR)
    if actor is None or actor.role not in roles:
        st.error(NOT_ALLOWED)
        st.stop()
    return actor


def _login_pages() -> list:
    """The login screen under every page's address, so that a link to a page shows the
    login instead of "page not found", and after logging in the user lands on that page."""
    login = st.Page(_login_page, title="登录", default=True)
    return [login, *(st.Page(_login_page, title="登录", url_path=PurePath(spec.path).stem)
                     for spec in PAGES)]


# --- Screens ------------------------------------------------------------------------------------

def _login_page() -> None:
    with st.columns([1, 2, 1])[1]:  # a narrow form in the middle reads better than a wide one
        _login_screen()


def _login_screen() -> None:
    st.title(TITLE)
    show_flash()
    state = accounts.login_state(engine())
    if state == accounts.NO_SCHEMA:
        st.error(accounts.NO_SCHEMA_MESSAGE)
    elif state == accounts.FIRST_ADMIN:
        _first_admin_form()
    else:
        if state == accounts.DEMO:
            st.info(cache.DEMO_BANNER)
            st.caption("示例账号（仅示例数据库提供，只能在本机登录）：")
            st.table(accounts.demo_accounts(), hide_index=True)
        _login_form()


def _login_form() -> None:
    with st.form("login"):
        username = st.text_input("用户名")
        password = st.text_input("密码", type="password")
        submitted = st.form_submit_button("登录", type="primary")
    if submitted:
        try:
            actor = auth.authenticate(engine(), username, password,
                                      address=client_address())
        except LoginError as refusal:
            st.error(str(refusal))
            return
        _forget()
        _remember(actor)
        st.rerun()


def _first_admin_form() -> None:
    st.info("这是一个新的数据库，系统中还没有任何账号。请创建首个系统管理员账号，"
            "之后用它登录并为各乡镇和县级人员创建账号。")
    with st.form("first_admin"):
        username = st.text_input("管理员用户名", help="2–50 位小写字母、数字或 _ . -")
        display_name = st.text_input("姓名")
        password = st.text_input("密码", type="password", help=passwords.PASSWORD_RULES)
        again = st.text_input("再次输入密码", type="password")
        submitted = st.form_submit_button("创建管理员并登录", type="primary")
    if not submitted:
        return
    if password != again:
        st.error("两次输入的密码不一致")
        return
    try:
        actor = accounts.create_first_admin(engine(), username, password, display_name,
                                            address=client_address())
    except (ValueError, PermissionError) as refusal:
        st.error(str(refusal))
        return
    _remember(actor)
    st.rerun()


def _logout() -> None:
    actor = st.session_state.get(ACTOR)
    if actor is not None:
        auth.logout(engine(), actor)
    _forget("已退出登录")


def _sidebar(actor: Actor) -> None:
    with st.sidebar:
        st.caption(f"当前用户：{escaped(actor.display_name or actor.username)}"
                   f"（{actor.role_label}）")
        st.button("退出登录", on_click=_logout, icon=":material/logout:")
        with st.expander("修改密码"):
            _password_form(actor)


def _password_form(actor: Actor) -> None:
    with st.form("change_password", clear_on_submit=True):
        old = st.text_input("原密码", type="password")
        new = st.text_input("新密码", type="password", help=passwords.PASSWORD_RULES)
        submitted = st.form_submit_button("修改")
    if submitted:
        try:
            # this session goes on under the account's new epoch; its other sessions end
            _remember(accounts.change_password(engine(), actor, old, new,
                                           address=client_address()))
            st.success("密码已修改，该账号在其他地方的登录已结束")
        except (ValueError, PermissionError) as refusal:
            st.error(str(refusal))
