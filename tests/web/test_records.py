"""Records: migrations, WAL, one transaction per write, conversion to the `assess` input, demo clinic."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select
from tests.web.conftest import add_patient

from osteotwin.records.accounts import verify_password
from osteotwin.records.demo import DEMO_PATIENTS, ensure_demo_clinic
from osteotwin.records.models import AuditEvent, Base, DxaResult, Medication, Patient, User
from osteotwin.records.patients import administration_dates, record_dict


def test_migrations_create_every_table_and_match_the_models(database):
    tables = set(inspect(database.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables
    with database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"
    database.upgrade()  # idempotent on an up-to-date database


def test_sqlite_default_file_is_created_in_wal_mode(tmp_path, monkeypatch):
    from osteotwin.records.database import Database

    monkeypatch.delenv("OSTEOTWIN_DATABASE_URL", raising=False)
    monkeypatch.setenv("OSTEOTWIN_DATA_DIR", str(tmp_path / "data"))
    db = Database()
    try:
        assert (tmp_path / "data" / "osteotwin.sqlite3").exists()
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        db.dispose()


def test_a_failed_write_leaves_the_database_as_before(database, clinician):
    patient_id = add_patient(database, clinician)
    with database.transaction() as session:
        before = session.scalar(select(func.count(DxaResult.id)))
    with pytest.raises(RuntimeError), database.transaction() as session:
        session.add(DxaResult(patient_id=patient_id, date=dt.date(2026, 1, 1), site="total_hip",
                              bmd_g_cm2=0.8, t_score=-1.2))
        session.flush()
        raise RuntimeError("crash mid-request")
    with database.transaction() as session:
        assert session.scalar(select(func.count(DxaResult.id))) == before


def test_record_converts_to_the_assess_input_and_validates(database, clinician):
    from osteotwin.clinic import PatientRecord
    from osteotwin.clinic.projection import scenario_patient

    patient_id = add_patient(database, clinician)
    with database.transaction() as session:
        patient = session.get(Patient, patient_id)
        session.add(Medication(patient_id=patient_id, drug="denosumab", start_date=dt.date(2025, 1, 10),
                               dose_mg=60, every_months=6, stop_date=dt.date(2026, 1, 10)))
        session.flush()
        session.refresh(patient)
        record = record_dict(patient, on=dt.date(2026, 2, 1))
    assert record["patient"]["age_years"] == pytest.approx(66.0, abs=0.1)
    assert [d["site"] for d in record["dxa"]] == ["lumbar_spine", "total_hip", "lumbar_spine", "total_hip"]
    denosumab = next(m for m in record["medications"] if m["drug"] == "denosumab")
    assert denosumab["dates"] == ["2025-01-10", "2025-07-11", "2026-01-09"]
    parsed = PatientRecord.model_validate(record)
    assert len(parsed.dxa) == 4
    block = scenario_patient(parsed)  # the clinic maps the stored record to the engine's patient block
    assert block["lumbar_spine_t_score"] == -2.0 and block["total_hip_t_score"] == -1.3
    assert block["years_since_menopause"] == 15


def test_weekly_oral_dates():
    med = Medication(drug="alendronate", start_date=dt.date(2026, 1, 1), stop_date=dt.date(2026, 1, 29), every_days=7)
    assert administration_dates(med) == ["2026-01-01", "2026-01-08", "2026-01-15", "2026-01-22", "2026-01-29"]


def test_demo_clinic_is_created_once_without_passwords(database):
    with database.transaction() as session:
        first = ensure_demo_clinic(session)
    with database.transaction() as session:
        second = ensure_demo_clinic(session)
        patients = session.scalars(select(Patient)).all()
        users = session.scalars(select(User)).all()
        assert len(patients) == len(DEMO_PATIENTS) == 3
        assert all(u.password_hash is None for u in users)  # no default password anywhere
        assert not any(verify_password(u.password_hash, "") for u in users)
        for patient in patients:
            sites = {r.site for r in patient.dxa_results}
            assert sites == {"lumbar_spine", "total_hip"}
            assert len(patient.dxa_results) >= 6  # three or more visits, two sites
            assert patient.labs and patient.medications
    assert first["clinician"] != second["clinician"]  # a fresh one-time link at every start


def test_audit_rows_name_the_data_kind_not_its_values(database, clinician, client):
    patient_id = add_patient(database, clinician, name="Zelda Uniquename")
    client.cookies.update(clinician.cookies())
    assert client.get(f"/patients/{patient_id}").status_code == 200
    with database.transaction() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.patient_id == patient_id)).all()
        assert any(e.action == "read" and e.user_id == clinician.user_id for e in events)
        assert not any("Zelda" in e.what for e in events)
