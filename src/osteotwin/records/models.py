"""SQLAlchemy 2 models of the clinic's records: accounts, patients, DXA, labs, medications,
food and exercise logs, plans, assessments, sessions and the audit log.

Names carry units (``bmd_g_cm2``, ``grams``). Personal data (names, dates of birth, e-mail
addresses) lives only in these tables, never in application logs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Timezone-aware current time in UTC (stored as UTC everywhere)."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    """An account: a clinician (sees her/his patients) or a patient (sees her own record)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # "clinician" | "patient"
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # When the account was first used (password set or first sign-in); None: invited, never activated.
    activated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Patient(Base):
    """A woman on (or about to start) an aromatase inhibitor, owned by one clinician.

    ``identifier_system`` / ``identifier_value`` hold her record number (the MRN of a FHIR import:
    Patient.identifier, with "" for a missing system); a clinician has at most one patient per MRN,
    so re-importing the same Bundle updates her instead of creating a copy."""

    __tablename__ = "patients"
    __table_args__ = (Index("ix_patients_clinician_identifier", "clinician_id", "identifier_system",
                            "identifier_value", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    account_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, unique=True
    )
    name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    identifier_system: Mapped[str | None] = mapped_column(String(200), nullable=True)
    identifier_value: Mapped[str | None] = mapped_column(String(100), nullable=True)
    menopausal_status: Mapped[str] = mapped_column(String(20), default="postmenopausal")
    menopause_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    weight_kg: Mapped[float] = mapped_column(Float)
    height_cm: Mapped[float] = mapped_column(Float)
    # Risk factors (the `assess` input's risk_factors block)
    current_smoker: Mapped[bool] = mapped_column(Boolean, default=False)
    former_smoker: Mapped[bool] = mapped_column(Boolean, default=False)
    family_history_hip_fracture: Mapped[bool] = mapped_column(Boolean, default=False)
    prior_fragility_fracture: Mapped[bool] = mapped_column(Boolean, default=False)
    oral_glucocorticoid_months: Mapped[float] = mapped_column(Float, default=0)
    falls_last_12_months: Mapped[int] = mapped_column(Integer, default=0)
    alcohol_units_per_day: Mapped[float] = mapped_column(Float, default=0)
    rheumatoid_arthritis: Mapped[bool] = mapped_column(Boolean, default=False)
    # Planner profile
    diet_pattern: Mapped[str] = mapped_column(String(20), default="omnivore")
    energy_kcal_per_day: Mapped[float | None] = mapped_column(Float, nullable=True)
    dislikes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    vertebral_fracture: Mapped[bool] = mapped_column(Boolean, default=False)
    bone_metastases: Mapped[bool] = mapped_column(Boolean, default=False)
    lymphedema: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    dxa_results: Mapped[list[DxaResult]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="DxaResult.date"
    )
    labs: Mapped[list[LabResult]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="LabResult.date"
    )
    medications: Mapped[list[Medication]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="Medication.start_date"
    )
    food_log: Mapped[list[FoodLogEntry]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="FoodLogEntry.id"
    )
    exercise_log: Mapped[list[ExerciseLogEntry]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="ExerciseLogEntry.id"
    )
    alert_acknowledgements: Mapped[list[AlertAcknowledgement]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="AlertAcknowledgement.id"
    )


class DxaResult(Base):
    """One DXA measurement at one site."""

    __tablename__ = "dxa_results"
    __table_args__ = (Index("ix_dxa_results_patient_date", "patient_id", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    site: Mapped[str] = mapped_column(String(20))  # lumbar_spine | total_hip | femoral_neck
    bmd_g_cm2: Mapped[float] = mapped_column(Float)
    t_score: Mapped[float] = mapped_column(Float)
    z_score: Mapped[float | None] = mapped_column(Float, nullable=True)  # as reported; None: derived for age
    device: Mapped[str] = mapped_column(String(20), default="hologic")
    patient: Mapped[Patient] = relationship(back_populates="dxa_results")


class LabResult(Base):
    """One laboratory value (e.g. vitamin_d_25_oh in ng/mL)."""

    __tablename__ = "lab_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    test: Mapped[str] = mapped_column(String(40))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(20))
    patient: Mapped[Patient] = relationship(back_populates="labs")


class Medication(Base):
    """A course of an endocrine therapy or bone agent, with its dates.

    Bone agents given periodically carry ``dose_mg`` and ``every_months`` (or ``every_days``);
    their individual administration dates are derived from start, stop and interval.
    """

    __tablename__ = "medications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    drug: Mapped[str] = mapped_column(String(40))
    start_date: Mapped[dt.date] = mapped_column(Date)
    stop_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    dose_mg: Mapped[float | None] = mapped_column(Float, nullable=True)
    every_months: Mapped[float | None] = mapped_column(Float, nullable=True)
    every_days: Mapped[float | None] = mapped_column(Float, nullable=True)
    patient: Mapped[Patient] = relationship(back_populates="medications")


class FoodLogEntry(Base):
    """Grams of one USDA food eaten on a date (the `nutrients` food-log row)."""

    __tablename__ = "food_log"
    __table_args__ = (Index("ix_food_log_patient_date", "patient_id", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    food_id: Mapped[str] = mapped_column(String(10))
    food_name: Mapped[str] = mapped_column(String(300), default="")
    grams: Mapped[float] = mapped_column(Float)
    patient: Mapped[Patient] = relationship(back_populates="food_log")


class ExerciseLogEntry(Base):
    """One exercise session: kind, minutes and, for resistance work, sets x reps at load_kg."""

    __tablename__ = "exercise_log"
    __table_args__ = (Index("ix_exercise_log_patient_date", "patient_id", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))  # aerobic | impact | resistance | balance (library kind)
    minutes: Mapped[float] = mapped_column(Float, default=0)
    exercise: Mapped[str] = mapped_column(String(60))  # planner library id
    sets: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    load_kg: Mapped[float | None] = mapped_column(Float, nullable=True)
    patient: Mapped[Patient] = relationship(back_populates="exercise_log")


class SavedPlan(Base):
    """A lifestyle plan made for a patient (the `plan` output), kept as issued."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)


class SavedAssessment(Base):
    """An assessment (the `assess` output) as shown to a clinician at a date."""

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    assessment: Mapped[dict[str, Any]] = mapped_column(JSON)


class AlertAcknowledgement(Base):
    """A clinician has seen an alert of the assessment (clinic/assessment.py ``Alert``).

    The acknowledgement holds for the alert as it read then (``fingerprint`` of its text): when the
    alert's numbers or wording change, it shows as new again. Who acknowledged it is in the audit log."""

    __tablename__ = "alert_acknowledgements"
    __table_args__ = (Index("ix_alert_acknowledgements_patient_alert", "patient_id", "alert_id", "fingerprint",
                            unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    alert_id: Mapped[str] = mapped_column(String(80))
    fingerprint: Mapped[str] = mapped_column(String(16))
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    acknowledged_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    patient: Mapped[Patient] = relationship(back_populates="alert_acknowledgements")


class AuditEvent(Base):
    """Who did what to which patient record, and when. Written for every read and write."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_patient_at", "patient_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    action: Mapped[str] = mapped_column(String(20))  # one of osteotwin.records.audit.AUDIT_ACTIONS
    patient_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    what: Mapped[str] = mapped_column(String(200))


class WebSession(Base):
    """A server-side session: only the SHA-256 of the cookie value is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class OneTimeLink(Base):
    """A one-time link: create the first clinician, sign in (demo), or set a patient's password."""

    __tablename__ = "one_time_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(30))  # first_clinician | sign_in | set_password
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class LoginFailure(Base):
    """A failed sign-in, for throttling. The key is an HMAC-SHA256 (hex) of "account:<e-mail>",
    "client:<address>" or "device:<id>" under the server secret: without the secret the stored
    keys cannot be matched to addresses or e-mails by trying candidates."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key_hmac", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hmac: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ServerSecret(Base):
    """A random secret of this installation (e.g. the key of the failure-record HMACs and of the
    pre-session CSRF tokens), created on first use and never shown."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value_hex: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
