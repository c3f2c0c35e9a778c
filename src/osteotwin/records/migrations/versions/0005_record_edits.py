"""record edits: the Z-score of a DXA result

Revision ID: 0005_record_edits (after 0004_alert_acknowledgements)
Create Date: 2026-12-06

- ``dxa_results.z_score``: the Z-score as reported on the DXA report (nullable: older rows and
  reports without one; the assessment then derives it for age, osteotwin.records.plausibility).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_record_edits"
down_revision = "0004_alert_acknowledgements"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dxa_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("z_score", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dxa_results", schema=None) as batch_op:
        batch_op.drop_column("z_score")
