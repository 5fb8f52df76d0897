"""What the login screen needs to know before anybody is logged in (DESIGN.md "Deployment").

A production database gets no default account: its first run asks for the first
administrator, and only while the database holds no account at all. The demo database has
its demo accounts (auth.create_demo_accounts) and lists them on the login screen.
No Streamlit here; liushou_dash.session draws the screens.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from liushou_dash.core.db import has_schema
from liushou_dash.core.models import User
from liushou_dash.core.settings import is_demo
from liushou_dash.workflow import auth
from liushou_dash.workflow.auth import Actor

NO_SCHEMA, FIRST_ADMIN, DEMO, LOGIN = "no_schema", "first_admin", "demo", "login"
NO_SCHEMA_MESSAGE = ("数据库尚未初始化。请管理员在服务器上运行 "
                     "`python -m liushou_dash init-db` 后刷新本页。")


def _user_count(engine: Engine) -> int | None:
    """How many accounts exist; None when the schema has not been created yet."""
    with engine.connect() as conn:
        if not has_schema(conn):
            return None
        return conn.scalar(select(func.count()).select_from(User))


def login_state(engine: Engine) -> str:
    """Which login screen to show: NO_SCHEMA, FIRST_ADMIN, DEMO or LOGIN."""
    count = _user_count(engine)
    if count is None:
        return NO_SCHEMA
    if is_demo(engine):
        return DEMO
    return FIRST_ADMIN if count == 0 else LOGIN


def demo_accounts() -> pd.DataFrame:
    """The demo accounts as the login screen lists them (user name, role, password)."""
    return pd.DataFrame([{"用户名": username, "角色": auth.ROLE_LABELS[role],
                          "密码": auth.DEMO_PASSWORD}
                         for username, role, _, _ in auth.DEMO_ACCOUNTS])


def create_first_admin(engine: Engine, username: str, password: str,
                       display_name: str = "", address: str | None = None) -> Actor:
    """The first administrator of a fresh production database, then logged in (from
    `address`, as auth.authenticate takes it). The audit names the new account as its own
    creator: nobody else made it.

    Refused as soon as any account exists: judged again in the transaction that inserts
    (auth.create_user's only_if_first), not only on the screen, so that the form cannot be
    replayed, nor sent twice at once, to add an administrator to a running system."""
    if is_demo(engine):
        raise PermissionError(auth.ALREADY_SET_UP)
    auth.create_user(engine, Actor.system(), username, "admin", password,
                     display_name=display_name, only_if_first=True)
    return auth.authenticate(engine, username, password, address=address)
