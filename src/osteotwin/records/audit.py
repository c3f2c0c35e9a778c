"""The audit log: every read or write of a patient record, every sign-in, sign-out and password
change, and every refused request (401, 403, 404, throttled sign-in), with who, what and when.

``what`` names the kind of data touched (``"dxa"``, ``"assessment"``) or the route template of a
refused request, never its content, so the audit log itself holds no clinical values, names or
e-mail addresses.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from osteotwin.records.models import AuditEvent

AUDIT_ACTIONS = ("read", "create", "update", "delete", "denied", "export", "import",
                 "sign_in", "sign_in_failed", "sign_out", "password_set", "invite")


def audit(session: Session, user_id: int | None, action: str, patient_id: int | None, what: str) -> None:
    """Add one audit row in the caller's transaction (committed or rolled back with it)."""
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"action = {action!r}: allowed {AUDIT_ACTIONS}")
    session.add(AuditEvent(user_id=user_id, action=action, patient_id=patient_id, what=what[:200]))


def audit_trail(session: Session, patient_id: int, limit: int = 200) -> list[AuditEvent]:
    """The newest audit rows of one patient record, newest first."""
    statement = (
        select(AuditEvent)
        .where(AuditEvent.patient_id == patient_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(statement))
