"""Which pages exist, how they are grouped, and who may see them: declared once as data.

app.py builds st.navigation from this on every rerun, for the logged-in user's role. Hiding a
page is not access control: every page and core function re-checks the role itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Clerks see their own township's upload page only: the dashboards show the whole county.
DASHBOARD = ("leader", "staff", "admin")
COUNTY = ("staff", "admin")


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    group: str
    roles: tuple[str, ...] = DASHBOARD
    filters: bool = False  # the page reads the sidebar's filters (months, townships, ...)


PAGES = (
    PageSpec("app_pages/cockpit.py", "总览", "看板", filters=True),
    PageSpec("app_pages/children.py", "留守儿童", "看板", filters=True),
    PageSpec("app_pages/homes.py", "关爱阵地", "看板", filters=True),
    PageSpec("app_pages/funding.py", "资金", "看板", filters=True),
    PageSpec("app_pages/pairing.py", "结对帮扶", "看板", filters=True),
    PageSpec("app_pages/map.py", "乡镇地图", "看板", filters=True),
    PageSpec("app_pages/meeting.py", "会议大屏", "看板", filters=True),
    PageSpec("app_pages/progress.py", "上报进度", "数据", COUNTY, filters=True),
    PageSpec("app_pages/upload.py", "数据上报", "数据", ("clerk",)),
    PageSpec("app_pages/review.py", "审核", "数据", COUNTY),
    PageSpec("app_pages/download.py", "数据下载", "数据", COUNTY, filters=True),
    PageSpec("app_pages/bulletin.py", "月度通报", "数据", ("leader", "staff", "admin")),
    PageSpec("app_pages/admin.py", "管理", "管理", ("admin",)),
)


def pages_for(role: str | None) -> dict[str, list[PageSpec]]:
    """The pages a role may open, by group, in declaration order (None: every page)."""
    groups: dict[str, list[PageSpec]] = {}
    for spec in PAGES:
        if (role is None or role in spec.roles) and (ROOT / spec.path).exists():
            groups.setdefault(spec.group, []).append(spec)
    return groups
