"""What the administrator's 管理 page does, without Streamlit: master data and boundaries
from files, the monthly deadline, the audit log.

Every function takes the acting user and checks the administrator role through
auth.acting, which audits a refusal; every write leaves an audit row.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
from pathlib import Path, PurePath

import pandas as pd
from sqlalchemy import distinct, func, select
from sqlalchemy.engine import Engine

from liushou_dash.core import audit
from liushou_dash.core.actors import ROLE_LABELS, Actor
from liushou_dash.core.masterdata import (
    MasterDataError,
    master_from_sheets,
    read_master,
    store_in,
    store_township_boundaries,
)
from liushou_dash.core.models import (
    STATUS_LABELS,
    AuditEntry,
    School,
    Setting,
    Township,
    Village,
)
from liushou_dash.core.settings import DEADLINE_SETTING, deadline_day
from liushou_dash.ingest.read import Unreadable, read_upload
from liushou_dash.workflow import accounts, changes, meeting_links
from liushou_dash.workflow.auth import acting

ADMIN = "admin"
DEADLINE_RANGE = (1, 28)     # every month has a 28th
MASTER_SUFFIXES = (".csv", ".xlsx", ".xlsm", ".xls")
BOUNDARY_TYPES = ("Polygon", "MultiPolygon")
AUDIT_LIMIT = 5000
ACTION_LABELS = {
    "login": "登录", "login_failed": "登录失败", "login_delayed": "等待期间尝试登录",
    "login_locked": "锁定期间尝试登录", "account_locked": "账号被锁定",  # rows from before the delays
    "login_inactive": "停用账号尝试登录", "logout": "退出登录", "unlock_user": "解除登录等待",
    "expired": "登录超时", "create_user": "创建用户", "change_password": "修改密码",
    "reset_password": "重置密码", "activate": "启用账号", "deactivate": "停用账号",
    "denied": "越权操作被拒绝", "submit": "提交数据", "approve": "审核通过", "return": "退回",
    "unlock": "解锁", "roll_back": "回退", "download": "下载数据", "load_master": "导入主数据",
    "load_boundaries": "导入乡镇边界", "set_deadline": "设置上报截止日",
    "seed_demo": "生成示例数据", "migrate": "升级数据库结构", "backup": "备份数据库",
    "restore": "恢复数据库", **meeting_links.ACTION_LABELS,
}
OBJECT_LABELS = {"user": "账号", "submission": "提交", "masterdata": "主数据",
                 "setting": "设置", "download": "下载", "audit": "审计日志", "database": "数据库",
                 meeting_links.OBJECT_TYPE: "会议大屏链接"}
# The audit rows' details (audit.record's keyword arguments, stored as JSON) in words.
DETAIL_LABELS = {
    "refused": "被拒操作", "reason": "原因", "failures": "近期输错次数", "until": "截至",
    "address": "来源地址",
    "role": "角色", "township_code": "乡镇代码", "display_name": "姓名",
    "status_before": "原状态", "status_after": "新状态", "status": "状态", "comment": "意见",
    "approved_by": "原审核人", "file_name": "文件名", "file": "文件名", "sha256": "文件摘要",
    "carried": "沿用上月", "townships": "乡镇数", "villages": "村(居)数", "schools": "学校数",
    "stored": "已导入", "without": "缺边界乡镇数", "before": "原值", "after": "新值",
    "township": "乡镇", "period": "月份", "user": "用户", "actions": "操作", "since": "起",
    "level": "层级", "format": "格式", "scale": "规模", "counties": "县数", "periods": "月数",
    "submissions": "提交份数", "note": "说明", "created_by": "创建人",
}
_DETAIL_VALUES = {"refused": ACTION_LABELS, "actions": ACTION_LABELS, "role": ROLE_LABELS,
                  "status_before": STATUS_LABELS, "status_after": STATUS_LABELS,
                  "status": STATUS_LABELS, "level": {"township": "乡镇", "school": "学校"},
                  "scale": {"county": "县", "city": "市", "province": "省"}}
AUDIT_COLUMNS = {"at": "时间", "username": "用户", "action_label": "操作",
                 "object_label": "对象类型", "object_id": "对象", "before_id": "原记录",
                 "after_id": "新记录", "detail": "详情"}
USER_COLUMNS = {"username": "用户名", "display_name": "姓名", "role_label": "角色",
                "township_name": "乡镇", "active": "启用", "failures": "近期输错次数",
                "wait_until": "登录等待至", "created_at": "创建时间"}


# --- Master data and boundaries ----------------------------------------------------------------

def _safe_name(file_name: str) -> str:
    """The uploaded name without any folder, kept because read_master recognises a CSV's
    table by its name (townships.csv ...)."""
    name = re.sub(r"[^\w.\-]", "_", PurePath(file_name or "").name)
    if PurePath(name).suffix.lower() not in MASTER_SUFFIXES:
        raise MasterDataError([f"文件“{file_name}”不是 CSV 或 Excel 文件，"
                               "请上传 townships.csv、villages.csv、schools.csv 或一个 .xlsx 工作簿"])
    return name


def _sheet_frame(rows: list[list]) -> pd.DataFrame:
    """A raw sheet as a text table with its first row as the header."""
    if not rows:
        return pd.DataFrame()
    header, *body = [[changes.shown(v) for v in row] for row in rows]  # 5205251089.0 read
    header = [name.strip() for name in header]                      # as 5205251089
    return pd.DataFrame(body, columns=header)


def _read_upload(data: bytes, file_name: str):
    """A workbook is read in the reader worker, like a township's return: no file can take
    the server down (a stray far-away cell would make calamine build a huge grid here)."""
    name = _safe_name(file_name)
    if PurePath(name).suffix.lower() != ".csv":
        try:
            sheets = read_upload(data)
        except Unreadable as refusal:
            raise MasterDataError([refusal.issue.message]) from None
        return master_from_sheets({sheet.name: _sheet_frame(sheet.rows) for sheet in sheets})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            return read_master(path)
        except MasterDataError:
            raise
        except Exception as exc:  # pandas and calamine raise many types for a broken file
            raise MasterDataError([f"文件无法读取（{type(exc).__name__}），"
                                   "请确认是 UTF-8 编码的 CSV 或 .xlsx 文件"]) from None


def _require_admin(engine: Engine, actor: Actor, action: str, object_id: str = "") -> None:
    with acting(engine, actor, action, ADMIN, object_type="masterdata", object_id=object_id):
        pass


def load_master_file(engine: Engine, actor: Actor, data: bytes, file_name: str) -> dict:
    """Townships, villages and schools from one uploaded CSV or workbook (checked before
    anything is written; see masterdata.store). Raises MasterDataError with the problems."""
    _require_admin(engine, actor, "load_master", file_name[:50])  # before reading the file
    master = _read_upload(data, file_name)
    with acting(engine, actor, "load_master", ADMIN, object_type="masterdata",
                object_id=file_name[:50]) as (session, me):
        return store_in(session, master, file_name, me.username)


def _feature_code(feature) -> str:
    """As masterdata.store_township_boundaries reads it: property `code`, else the id."""
    if not isinstance(feature, dict):
        return ""
    props = feature.get("properties")
    props = props if isinstance(props, dict) else {}
    return str(props.get("code") or feature.get("id") or "")


def boundary_problems(collection, known: set[str]) -> list[str]:
    """Why a GeoJSON cannot be township boundaries: its shape, and codes that are not
    townships of the master data (or appear twice)."""
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection" \
            or not isinstance(collection.get("features"), list):
        return ["文件不是 GeoJSON 要素集合（FeatureCollection）"]
    problems, seen = [], set()
    for n, feature in enumerate(collection["features"], start=1):
        code = _feature_code(feature)
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not isinstance(geometry, dict) or geometry.get("type") not in BOUNDARY_TYPES:
            problems.append(f"第{n}个要素：不是多边形（Polygon/MultiPolygon）")
        if code not in known:
            problems.append(f"第{n}个要素：乡镇代码“{code}”不在主数据中")
        elif code in seen:
            problems.append(f"第{n}个要素：乡镇代码“{code}”重复")
        seen.add(code)
    return problems or ([] if seen else ["文件中没有任何乡镇边界"])


def _parse_geojson(data: bytes):
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise MasterDataError(["文件不是有效的 GeoJSON（UTF-8 编码的 JSON）"]) from None


def load_boundaries(engine: Engine, actor: Actor, data: bytes) -> dict:
    """Township polygons from a GeoJSON whose features carry the township code (property
    `code`); all or nothing. Returns how many were stored and which townships still lack one."""
    collection = _parse_geojson(data)
    with acting(engine, actor, "load_boundaries", ADMIN, object_type="masterdata") as (
            session, me):
        known = set(session.scalars(select(Township.code)))
        problems = boundary_problems(collection, known)
        if problems:
            raise MasterDataError(problems)
        store_township_boundaries(session, collection)
        session.flush()
        missing = list(session.scalars(select(Township.name).where(
            Township.boundary.is_(None)).order_by(Township.code)))
        audit.record(session, me.username, "load_boundaries", "masterdata", "townships",
                     stored=len(collection["features"]), without=len(missing))
    return {"stored": len(collection["features"]), "without": missing}


def master_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {"townships": conn.scalar(select(func.count()).select_from(Township)),
                "villages": conn.scalar(select(func.count()).select_from(Village)),
                "schools": conn.scalar(select(func.count()).select_from(School)),
                "boundaries": conn.scalar(select(func.count()).select_from(Township).where(
                    Township.boundary.is_not(None)))}


def townships(engine: Engine) -> dict[str, str]:
    """Code -> name of every township, for choosing one (master data, not scoped)."""
    with engine.connect() as conn:
        return dict(conn.execute(select(Township.code, Township.name).order_by(Township.code))
                    .all())


def schools_of(engine: Engine, township_code: str) -> pd.DataFrame:
    """A township's schools as the master data holds them (names exactly as loaded)."""
    query = (select(School.code.label("学校代码"), School.name.label("学校名称"),
                    School.type.label("类型"), School.village_code.label("村(居)代码"))
             .where(School.township_code == township_code).order_by(School.code))
    with engine.connect() as conn:
        return pd.read_sql(query, conn)


# --- The deadline ------------------------------------------------------------------------------

def set_deadline_day(engine: Engine, actor: Actor, day: int) -> None:
    """Returns of a month are due on this day of the next month."""
    low, high = DEADLINE_RANGE
    if not isinstance(day, int) or not low <= day <= high:
        raise ValueError(f"截止日应为 {low}–{high} 之间的整数（每个月都有这些日期）")
    before = deadline_day(engine)
    with acting(engine, actor, "set_deadline", ADMIN, object_type="setting",
                object_id=DEADLINE_SETTING) as (session, me):
        session.merge(Setting(key=DEADLINE_SETTING, value=str(day)))
        audit.record(session, me.username, "set_deadline", "setting", DEADLINE_SETTING,
                     before=before, after=day)


# --- Users and the audit log -------------------------------------------------------------------

def users_table(engine: Engine, actor: Actor) -> pd.DataFrame:
    frame = accounts.list_users(engine, actor)
    frame["active"] = frame["active"].map({True: "是", False: "否"})
    return frame[list(USER_COLUMNS)].rename(columns=USER_COLUMNS)


def audit_choices(engine: Engine, actor: Actor) -> tuple[list[str], list[str]]:
    """The user names and actions that occur in the log, for the filters."""
    with acting(engine, actor, "read_audit", ADMIN, object_type="audit") as (session, _):
        users = sorted(u for u in session.scalars(select(distinct(AuditEntry.username))) if u)
        actions = sorted(session.scalars(select(distinct(AuditEntry.action))))
    return users, actions


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def audit_log(engine: Engine, actor: Actor, username: str | None = None,
              actions: list[str] | None = None, since: dt.date | None = None,
              until: dt.date | None = None, limit: int = AUDIT_LIMIT) -> pd.DataFrame:
    """The newest `limit` audit rows matching who, what and when (dates inclusive)."""
    conditions = []
    if username:
        conditions.append(AuditEntry.username == username)
    if actions:
        conditions.append(AuditEntry.action.in_(actions))
    if since:
        conditions.append(AuditEntry.at >= dt.datetime.combine(since, dt.time.min))
    if until:
        conditions.append(AuditEntry.at < dt.datetime.combine(until + dt.timedelta(days=1),
                                                               dt.time.min))
    query = (select(AuditEntry.at, AuditEntry.username, AuditEntry.action,
                    AuditEntry.object_type, AuditEntry.object_id, AuditEntry.before_id,
                    AuditEntry.after_id, AuditEntry.detail)
             .where(*conditions).order_by(AuditEntry.id.desc()).limit(limit))
    with acting(engine, actor, "read_audit", ADMIN, object_type="audit") as (session, _):
        frame = pd.read_sql(query, session.connection())
    frame["action_label"] = frame["action"].map(action_label)
    frame["object_label"] = frame["object_type"].map(lambda t: OBJECT_LABELS.get(t, t))
    frame["detail"] = frame["detail"].map(detail_text)
    for column in ("before_id", "after_id"):
        frame[column] = frame[column].astype("Int64")
    return frame[list(AUDIT_COLUMNS)].rename(columns=AUDIT_COLUMNS)


def detail_text(detail: str | None) -> str:
    """An audit row's details in words: 原状态：已提交；新状态：已审核；意见：… (keys without
    a value are left out; keys and values without a label are shown as stored)."""
    try:
        found = json.loads(detail) if detail else {}
    except ValueError:
        return detail or ""
    if not isinstance(found, dict):
        return str(found)
    return "；".join(f"{DETAIL_LABELS.get(key, key)}：{_detail_value(key, value)}"
                    for key, value in found.items() if value not in (None, "", []))


def _detail_value(key: str, value) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(_detail_value(key, v) for v in value)
    return str(_DETAIL_VALUES.get(key, {}).get(value, value))
