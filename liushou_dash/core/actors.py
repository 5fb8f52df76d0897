"""Who acts: the roles and the acting user every core function is given (workflow/auth.py
signs people in and checks what a role may do)."""
from __future__ import annotations

import getpass
from dataclasses import dataclass, field

ROLES = ("leader", "clerk", "staff", "admin")
ROLE_LABELS = {"leader": "县领导", "clerk": "乡镇填报员", "staff": "县级审核人员",
               "admin": "系统管理员"}
SYSTEM = "system"  # the trusted command line: a pseudo-role, and a user name nobody may take
SYSTEM_LABEL = "命令行"


@dataclass(frozen=True)
class Actor:
    """Who is acting: what the session holds after a login, passed to every core function."""
    username: str
    role: str
    township_code: str | None = None
    display_name: str = ""
    # The account's session_epoch when this login began. Left out of equality: it tells
    # which login this is, not who acts.
    epoch: int = field(default=0, compare=False)

    @classmethod
    def system(cls) -> Actor:
        """The trusted command line (whoever runs it already holds the database), recorded
        in the audit trail as "system:" and the operating-system user who ran it."""
        return cls(f"{SYSTEM}:{_os_user()}"[:50], SYSTEM, None, SYSTEM_LABEL)

    @property
    def is_system(self) -> bool:
        return self.role == SYSTEM

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, SYSTEM_LABEL)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return "unknown"
