"""Passwords: the policy a new one must meet, and bcrypt (README "快速开始"：账号与登录).

Password policy: at least 10 characters and at most 72 bytes in UTF-8 (bcrypt's limit; bcrypt
5 refuses longer input rather than silently truncating it), not only spaces nor one character
repeated, not containing the user name, not in common_passwords.txt. The only exception is the
demo database's accounts, whose password is `demo`: `accounts.create_demo_accounts` stores
them directly and never goes through `accounts.create_user`.
"""
from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path

import bcrypt

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_BYTES = 72
NAME_IN_PASSWORD = 3        # a user name this long or longer may not appear in its password
PASSWORD_RULES = f"至少 {MIN_PASSWORD_LENGTH} 个字符，不能包含用户名，不能是常见密码"
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")
BCRYPT_ROUNDS = 12          # about 0.25 s per hash: cheap for a login, costly for a guesser


class WeakPassword(ValueError):
    """A password the policy refuses; the message says why, in Chinese."""


def normal_username(username: str) -> str:
    """A user name as accounts are stored and looked up: stripped, lower case."""
    return (username or "").strip().lower()


def _encoded(password: str) -> bytes:
    if not isinstance(password, str) or not password:
        raise WeakPassword("密码不能为空")
    data = password.encode("utf-8")
    if len(data) > MAX_PASSWORD_BYTES:
        raise WeakPassword(f"密码过长：不能超过 {MAX_PASSWORD_BYTES} 字节（约 24 个汉字）")
    return data


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text("utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines
                     if line.strip() and not line.startswith("#"))


def check_password_policy(password: str, username: str = "") -> None:
    """Raise WeakPassword (Chinese) unless `password` may be set for `username` (see the
    module docstring). A name shorter than NAME_IN_PASSWORD may appear: two letters turn up
    inside too many good passwords (and cannot be a whole password of the least length)."""
    _encoded(password)
    if not password.strip():
        raise WeakPassword("密码不能只由空格组成")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符")
    if len(set(password)) == 1:
        raise WeakPassword("密码不能由同一个字符重复组成")
    typed, name = password.strip().lower(), normal_username(username)
    if len(name) >= NAME_IN_PASSWORD and name in typed:
        raise WeakPassword("密码不能包含用户名")
    if typed in _common_passwords():
        raise WeakPassword("这是常见密码，很容易被猜中，请换一个")


def hash_password(password: str) -> str:
    """A salted bcrypt hash, as text ($2b$...)."""
    return bcrypt.hashpw(_encoded(password), bcrypt.gensalt(BCRYPT_ROUNDS)).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    """False for a wrong, empty or over-long password and for a malformed hash."""
    try:
        return bcrypt.checkpw(_encoded(password), password_hash.encode("ascii"))
    except (ValueError, UnicodeEncodeError, AttributeError):
        return False


@lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> bytes:
    return bcrypt.hashpw(b"no such account", bcrypt.gensalt(rounds))


def spend_verify_time(password: str) -> None:
    """Cost an unknown user name as much as a wrong password, so timing does not tell
    which user names exist."""
    verify_password(password, _dummy_hash(BCRYPT_ROUNDS).decode("ascii"))


def verify_seconds() -> float:
    """How long checking a password takes on this machine, measured once per cost."""
    return _measured_seconds(BCRYPT_ROUNDS)


@lru_cache(maxsize=4)
def _measured_seconds(rounds: int) -> float:
    _dummy_hash(rounds)
    start = time.perf_counter()
    spend_verify_time("measure")
    return time.perf_counter() - start
