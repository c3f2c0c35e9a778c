"""accounts hardening: activation time, HMAC-keyed sign-in failures, server secrets

Revision ID: 0003_accounts_hardening (after 0002_patient_identifier)
Revises: 0001
Create Date: 2026-12-06

- ``users.activated_at``: when an account was first used; an invitation may be re-issued only
  for an account never activated. Existing accounts with a password count as activated.
- ``login_failures.key_sha256`` becomes ``key_hmac``: the keys are now HMACs under a server secret;
  the old unsalted digests are deleted (they only throttle for 15 minutes anyway).
- ``server_secrets``: random per-installation secrets (created on first use).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_accounts_hardening"
down_revision = "0002_patient_identifier"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value_hex", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_secrets")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE users SET activated_at = created_at WHERE password_hash IS NOT NULL")
    _recreate_login_failures("key_hmac")


def _recreate_login_failures(key_column: str) -> None:
    """The failure records only throttle for 15 minutes: the table is recreated empty with the new key."""
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_login_failures_key_at")
    op.drop_table("login_failures")
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(key_column, sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index("ix_login_failures_key_at", [key_column, "at"], unique=False)


def downgrade() -> None:
    _recreate_login_failures("key_sha256")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("activated_at")
    op.drop_table("server_secrets")
