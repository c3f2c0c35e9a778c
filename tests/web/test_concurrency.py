"""Concurrency: 20 parallel writers through the HTTP API against a real server; nothing is lost,
every write is audited, on SQLite (WAL, BEGIN IMMEDIATE) and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select
from tests.web.conftest import add_patient, make_account

from osteotwin.records.models import AuditEvent, LabResult
from osteotwin.web.security import SESSION_COOKIE

WRITERS = 20
WRITES_EACH = 5


def test_twenty_parallel_writers_lose_nothing(live_server, database):
    clinician = make_account(database, "clinician")
    patient_id = add_patient(database, clinician, with_dxa=False)
    # 20 writers, each with its own HTTP connection, all writing to the same record at once
    url = f"{live_server.url}/api/v1/patients/{patient_id}/labs"

    def writer(index: int) -> list[int]:
        statuses = []
        with httpx.Client(cookies={SESSION_COOKIE: clinician.session_token}, timeout=120) as client:
            for j in range(WRITES_EACH):
                day = dt.date(2020, 1, 1) + dt.timedelta(days=index * WRITES_EACH + j)
                response = client.post(url, headers={"X-CSRF-Token": clinician.csrf_token},
                                       json={"date": day.isoformat(), "test": "calcium", "value": 2.0 + index / 100})
                statuses.append(response.status_code)
        return statuses

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        results = list(pool.map(writer, range(WRITERS)))
    assert all(status == 201 for statuses in results for status in statuses), results
    with database.transaction() as session:
        rows = session.scalars(select(LabResult).where(LabResult.patient_id == patient_id)).all()
        audited = session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.patient_id == patient_id, AuditEvent.action == "update"))
    assert len(rows) == WRITERS * WRITES_EACH
    assert len({r.date for r in rows}) == WRITERS * WRITES_EACH  # each write landed exactly once
    assert audited == WRITERS * WRITES_EACH
