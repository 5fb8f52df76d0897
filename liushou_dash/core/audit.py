"""The audit trail: every write leaves one row (who, what, when, before/after ids), and the
rows form a hash chain, so that a row edited, deleted or slipped in afterwards shows.

Each row is sealed with `seq` (its place in the chain, 1, 2, 3 ...), `prev_hash` (the
`row_hash` of the row before it) and `row_hash`, the SHA-256 of both and of the row's
content in one canonical form (`chain_hash`). `verify` walks the chain.

Rows are sealed at the last moment of their transaction, in the session's before_commit,
not when `record` adds them: sealing must read the chain's end and hold it until the commit,
and a transaction may go on for a while after its audit row (a master data load rewrites
the dashboards' tables). The hold is PostgreSQL's transaction-level advisory lock, released
by the commit; SQLite's write transactions hold the whole database already (BEGIN IMMEDIATE
in db.transaction). The unique `seq` refuses a fork should anything seal without the lock.
Bulk writers (the city and province demo) seal their rows with `sealed_frame`.

A chain protects against edits made without recomputing it: whoever can rewrite every hash
after a row can forge the rest. What goes beyond that is keeping the last hash elsewhere
(`verify-audit` prints it): a chain that no longer ends in it was cut or rewritten.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from liushou_dash.core.db import has_schema
from liushou_dash.core.models import AuditEntry

GENESIS = "0" * 64   # prev_hash of the first row
CONTENT = ("at", "username", "action", "object_type", "object_id", "before_id", "after_id",
           "detail")
# Any 64-bit number that no other advisory lock of this database uses.
ADVISORY_LOCK = 0x4C53_4155_4449_54  # "LSAUDIT"
_UNSEALED = "liushou_audit_unsealed"  # session.info: rows `record` added, not yet sealed
VERIFY_BATCH = 5000


def record(session: Session, username: str | None, action: str, object_type: str = "",
           object_id: str | None = None, before_id: int | None = None,
           after_id: int | None = None, **detail) -> None:
    """Add one audit row to the session's transaction; it is sealed when that commits.
    Values are stored as the chain will read them back (text ids, whole-number ids)."""
    entry = AuditEntry(
        at=dt.datetime.now(), username=username, action=action, object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        before_id=None if before_id is None else int(before_id),
        after_id=None if after_id is None else int(after_id),
        detail=json.dumps(detail, ensure_ascii=False, default=str))
    session.add(entry)
    session.info.setdefault(_UNSEALED, []).append(entry)


# --- Sealing -------------------------------------------------------------------------------------

def chain_hash(prev_hash: str, seq: int, content: dict) -> str:
    """The row hash: SHA-256 over the previous row's hash, the row's place and its content
    as compact JSON (times to the microsecond, as both databases store them)."""
    at = content["at"]
    values = [prev_hash, seq, at.isoformat(sep=" ", timespec="microseconds"),
              *(content[key] for key in CONTENT[1:])]
    canonical = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _chain_end(conn: Connection) -> tuple[int, str]:
    """(seq, row_hash) of the last sealed row, under the lock that orders sealers."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
    last = conn.execute(select(AuditEntry.seq, AuditEntry.row_hash)
                        .where(AuditEntry.seq.is_not(None))
                        .order_by(AuditEntry.seq.desc()).limit(1)).first()
    return (last.seq, last.row_hash) if last else (0, GENESIS)


def seal(conn: Connection, contents: list[dict]) -> list[tuple[int, str, str]]:
    """(seq, prev_hash, row_hash) for rows about to join the chain, in their order. Takes
    the sealing lock (PostgreSQL), held until the transaction ends."""
    seq, prev_hash = _chain_end(conn)
    seals = []
    for content in contents:
        seq += 1
        row_hash = chain_hash(prev_hash, seq, content)
        seals.append((seq, prev_hash, row_hash))
        prev_hash = row_hash
    return seals


@event.listens_for(Session, "before_commit")
def _seal_session(session: Session) -> None:
    """Seal the rows `record` added in this transaction, just before it commits. Rows whose
    add was rolled back (a savepoint) are no longer in the session and are left out."""
    if session.in_nested_transaction():
        return  # the outermost commit seals
    entries = [e for e in session.info.pop(_UNSEALED, []) if e in session]
    if not entries:
        return
    contents = [{key: getattr(e, key) for key in CONTENT} for e in entries]
    for entry, (seq, prev_hash, row_hash) in zip(entries, seal(session.connection(),
                                                               contents)):
        entry.seq, entry.prev_hash, entry.row_hash = seq, prev_hash, row_hash


def sealed_frame(conn: Connection, frame: pd.DataFrame) -> pd.DataFrame:
    """Audit rows written in bulk (columns CONTENT), sealed in their order: for
    bulk.insert_frame, which bypasses the session and so its before_commit."""
    contents = [{key: _plain(getattr(row, key)) for key in CONTENT}
                for row in frame.itertuples(index=False)]
    seals = seal(conn, contents)
    return frame.assign(seq=[s[0] for s in seals], prev_hash=[s[1] for s in seals],
                        row_hash=[s[2] for s in seals])


def _plain(value):
    """A frame's cell as `record` would hold it: None, int, str or datetime (pandas holds
    ids as floats beside a missing one, and times as Timestamps)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return int(value) if isinstance(value, (float, np.integer)) else value


# --- Verifying -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    count: int                 # rows in the chain
    problem: str | None        # the first row found wrong, in words; None when intact
    last_hash: str = GENESIS   # the chain's end (keep it elsewhere to detect a cut later)

    @property
    def intact(self) -> bool:
        return self.problem is None


def _break(row, expected_seq: int, prev_hash: str, prev_id: int | None) -> str | None:
    """What is wrong with `row` as the next link after (expected_seq - 1, prev_hash)."""
    if row.seq != expected_seq:
        gap = (f"第 {expected_seq} 条" if row.seq == expected_seq + 1
               else f"第 {expected_seq}–{row.seq - 1} 条")
        after = f"编号 {prev_id} 之后、" if prev_id is not None else ""
        return f"审计日志的{gap}缺失（{after}{_where(row)}之前）：记录被删除"
    if row.prev_hash != prev_hash:
        return (f"审计日志{_where(row)}没有接在前一条之后：它是后来插入的，"
                "或前一条的摘要被改动过")
    if row.row_hash != chain_hash(prev_hash, row.seq, row._mapping):
        return f"审计日志{_where(row)}的内容与其摘要不符：记录被修改"
    return None


def _where(row) -> str:
    return f"第 {row.seq} 条（编号 {row.id}，{row.at:%Y-%m-%d %H:%M:%S}）"


def _outside_chain(conn: Connection) -> str | None:
    """The first row without a place in the chain: written around the application."""
    row = conn.execute(select(AuditEntry.id, AuditEntry.at)
                       .where(AuditEntry.seq.is_(None)).order_by(AuditEntry.id).limit(1)).first()
    if row is None:
        return None
    return (f"审计日志编号 {row.id}（{row.at:%Y-%m-%d %H:%M:%S}）"
            "不在审计链中：它是绕过系统插入的")


def verify(engine: Engine) -> Verdict:
    """Walk the chain in seq order, recomputing every hash; the first break is named."""
    columns = [AuditEntry.id, AuditEntry.seq, AuditEntry.prev_hash, AuditEntry.row_hash,
               *(getattr(AuditEntry, key) for key in CONTENT)]
    count, prev_hash, prev_id = 0, GENESIS, None
    with engine.connect() as conn:
        rows = conn.execution_options(yield_per=VERIFY_BATCH).execute(
            select(*columns).where(AuditEntry.seq.is_not(None)).order_by(AuditEntry.seq))
        for row in rows:
            problem = _break(row, count + 1, prev_hash, prev_id)
            if problem:
                return Verdict(count, problem, prev_hash)
            count, prev_hash, prev_id = row.seq, row.row_hash, row.id
        return Verdict(count, _outside_chain(conn), prev_hash)


# --- When the figures last moved ---------------------------------------------------------------
# 数据截至 on every surface: the last write that changed what a figure shows (an upload, a
# review, a return, a roll back or unlock, master data, the deadline, a restore), not the
# latest upload only: a return or a roll back moves the figures too.
FIGURE_ACTIONS = ("submit", "approve", "return", "roll_back", "unlock", "load_master",
                  "load_boundaries", "set_deadline", "seed_demo", "restore")


def last_figure_change(engine: Engine) -> dt.datetime | None:
    """The time of the latest audit row of FIGURE_ACTIONS; None on an empty database."""
    with engine.connect() as conn:
        if not has_schema(conn):
            return None
        return conn.scalar(select(func.max(AuditEntry.at))
                           .where(AuditEntry.action.in_(FIGURE_ACTIONS)))
