"""alert acknowledgements: a clinician has seen an alert of the assessment

Revision ID: 0004_alert_acknowledgements
Revises: 0003_accounts_hardening
Create Date: 2026-12-06

- ``alert_acknowledgements``: one row per patient, alert id and alert-text fingerprint (so a changed
  alert shows again), with who and when; deleted with the patient.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_alert_acknowledgements"
down_revision = "0003_accounts_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_acknowledgements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.String(length=80), nullable=False),
        sa.Column("fingerprint", sa.String(length=16), nullable=False),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="CASCADE",
                                name=op.f("fk_alert_acknowledgements_patient_id_patients")),
        sa.ForeignKeyConstraint(["acknowledged_by"], ["users.id"], ondelete="SET NULL",
                                name=op.f("fk_alert_acknowledgements_acknowledged_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_acknowledgements")),
    )
    with op.batch_alter_table("alert_acknowledgements", schema=None) as batch_op:
        batch_op.create_index("ix_alert_acknowledgements_patient_alert", ["patient_id", "alert_id", "fingerprint"],
                              unique=True)


def downgrade() -> None:
    with op.batch_alter_table("alert_acknowledgements", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_acknowledgements_patient_alert")
    op.drop_table("alert_acknowledgements")
