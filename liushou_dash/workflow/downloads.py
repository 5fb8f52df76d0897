"""Every data download leaves an audit row (every write is audited, and a download is how
data leaves the system).

Pages call `audit_download` from the download button's on_click, which Streamlit runs when
the user clicks; the account is re-read first, so a deactivated account's click is refused
and that refusal is audited too.
"""
from __future__ import annotations

from sqlalchemy.engine import Engine

from liushou_dash.core import audit
from liushou_dash.core.actors import ROLES, Actor
from liushou_dash.workflow.auth import acting

DOWNLOAD = "download"


def audit_download(engine: Engine, actor: Actor, what: str, **detail) -> None:
    """Record that `actor` downloaded `what` (a short name: "template", "audit_log"...);
    `detail` says which part (township, period, file name, filter)."""
    with acting(engine, actor, DOWNLOAD, *ROLES, object_type="download",
                object_id=what[:50]) as (session, me):
        audit.record(session, me.username, DOWNLOAD, "download", what[:50], **detail)
