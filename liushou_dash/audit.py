"""The audit trail: every write leaves one row (who, what, when, before/after ids)."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy.orm import Session

from .models import AuditEntry


def record(session: Session, username: str | None, action: str, object_type: str = "",
           object_id: str | None = None, before_id: int | None = None,
           after_id: int | None = None, **detail) -> None:
    session.add(AuditEntry(
        at=dt.datetime.now(), username=username, action=action, object_type=object_type,
        object_id=object_id, before_id=before_id, after_id=after_id,
        detail=json.dumps(detail, ensure_ascii=False, default=str)))
