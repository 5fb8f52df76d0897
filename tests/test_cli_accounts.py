"""The command line's account commands: create-user, reset-password and unlock-user, their
audit rows (under "system:" and the operating-system user), the password policy, and their
exit codes (0 done, 1 no such user, 2 a wrong argument) with Chinese messages."""
from __future__ import annotations

import datetime as dt
import getpass
import io
import json

import pytest

from liushou_dash.cli import main as cli
from liushou_dash.core.actors import Actor
from liushou_dash.workflow import auth, throttle
from tests.apptest import url_of
from tests.fixtures import PASSWORD, TOWNSHIP, audit_rows, make_user

NEW = "Lsz-reset-2026"
ATTACKER = "203.0.113.9"


@pytest.fixture
def run(engine, monkeypatch, capsys):
    """run(*arguments, stdin=None) -> (exit code, stdout, stderr), against `engine`."""
    def run_cli(*arguments: str, stdin: str | None = None):
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = cli(["--db", url_of(engine), *arguments])
        out, err = capsys.readouterr()
        return code, out, err
    return run_cli


def typed(monkeypatch, *answers: str) -> None:
    """A person at the terminal, typing `answers` to the password prompts."""
    replies = iter(answers)
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(replies))


def system_user() -> str:
    return Actor.system().username


def test_reset_password_sets_it_ends_the_sessions_and_is_audited(engine, run):
    clerk = make_user(engine, "clerkx", "clerk", TOWNSHIP)

    code, out, err = run("reset-password", "clerkx", "--password-stdin", stdin=f"{NEW}\n")

    assert (code, err) == (0, "") and "已重置用户 clerkx 的密码" in out
    assert auth.authenticate(engine, "clerkx", NEW) == clerk
    with pytest.raises(auth.SessionEnded):
        auth.refresh_actor(engine, clerk)
    [row] = audit_rows(engine, "reset_password")
    assert (row.username, row.object_id) == (system_user(), "clerkx")
    assert system_user() == f"system:{getpass.getuser()}"


def test_reset_password_asks_twice_at_the_terminal(engine, run, monkeypatch):
    make_user(engine, "clerkx", "clerk", TOWNSHIP)
    typed(monkeypatch, NEW, "Something-else-1")
    assert run("reset-password", "clerkx")[0:3:2] == (2, "两次输入的密码不一致\n")
    typed(monkeypatch, NEW, NEW)
    assert run("reset-password", "clerkx")[0] == 0
    assert auth.authenticate(engine, "clerkx", NEW)


@pytest.mark.parametrize("password, why", [
    ("12345678", "至少"), ("1qaz2wsx3edc", "常见"), (" " * 12, "空格"),
    ("clerkx-2026-x", "用户名"), ("", "不能为空")])
def test_reset_password_refuses_a_weak_password_as_a_wrong_argument(engine, run, password,
                                                                    why):
    make_user(engine, "clerkx", "clerk", TOWNSHIP)
    code, out, err = run("reset-password", "clerkx", "--password-stdin", stdin=password + "\n")
    assert (code, out) == (2, "") and why in err and "Traceback" not in err
    assert auth.authenticate(engine, "clerkx", PASSWORD)   # unchanged
    assert not audit_rows(engine, "reset_password")


@pytest.mark.parametrize("command", [["reset-password", "nobody", "--password-stdin"],
                                     ["unlock-user", "nobody"]])
def test_an_unknown_user_is_said_in_chinese_with_exit_code_1(engine, run, command):
    code, out, err = run(*command, stdin=f"{NEW}\n")
    assert (code, out, err) == (1, "", "用户“nobody”不存在\n")


def test_unlock_user_lifts_the_accounts_delay_and_is_audited(engine, run):
    make_user(engine, "clerkx", "clerk", TOWNSHIP)
    now = dt.datetime.now()
    for _ in range(throttle.ACCOUNT_DELAY.most):   # a stranger, all at once
        with pytest.raises(auth.LoginError):
            auth.authenticate(engine, "clerkx", "Guess-123456", now=now, address=ATTACKER)
    with pytest.raises(auth.LoginError):       # the owner now waits ...
        auth.authenticate(engine, "clerkx", PASSWORD, now=now, address="198.51.100.4")

    code, out, err = run("unlock-user", "clerkx")

    assert (code, err) == (0, "") and "已解除用户 clerkx 的登录等待" in out
    auth.authenticate(engine, "clerkx", PASSWORD, now=now, address="198.51.100.4")  # ... no more
    [row] = audit_rows(engine, "unlock_user")
    assert (row.username, row.object_id) == (system_user(), "clerkx")
    assert json.loads(row.detail)["failures"] == throttle.ACCOUNT_DELAY.free + 1


@pytest.mark.parametrize("password", ["password123", "Zhangsan-2026", "short"])
def test_create_user_refuses_a_weak_password_as_a_wrong_argument(engine, run, password):
    code, out, err = run("create-user", "zhangsan", "--role", "leader", "--password-stdin",
                         stdin=password + "\n")
    assert (code, out) == (2, "") and "密码" in err
    assert not audit_rows(engine, "create_user")


def test_create_user_accepts_a_good_password(engine, run):
    code, out, _ = run("create-user", "zhangsan", "--role", "leader", "--password-stdin",
                       stdin=f"{NEW}\n")
    assert code == 0 and "已创建用户 zhangsan" in out
    assert audit_rows(engine, "create_user")[0].username == system_user()
