"""patient identifier (MRN) for FHIR re-import

Revision ID: 0002_patient_identifier
Revises: 0001
Create Date: 2026-12-06

Adds ``patients.identifier_system`` and ``patients.identifier_value`` (the MRN of a FHIR import)
and a unique index per clinician, so that importing the same patient's Bundle again updates her.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_patient_identifier"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identifier_system", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("identifier_value", sa.String(length=100), nullable=True))
        batch_op.create_index("ix_patients_clinician_identifier",
                              ["clinician_id", "identifier_system", "identifier_value"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index("ix_patients_clinician_identifier")
        batch_op.drop_column("identifier_value")
        batch_op.drop_column("identifier_system")
