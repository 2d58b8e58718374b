"""monitoring: alerts with one unresolved alert per subject, notifications, rules, escalation paths

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ordertrail.adapters.db.migrations.append_only import forbid_update_and_delete

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column(
            "subject",
            sa.String(length=200),
            nullable=False,
            comment="Shipment id, order id or carrier.",
        ),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column(
            "details", sa.Text(), nullable=False, comment="JSON: what the rule or the test saw."
        ),
        sa.Column("opened_at", AT, nullable=False),
        sa.Column(
            "escalation_level", sa.Integer(), nullable=False, comment="Highest level reached."
        ),
        sa.Column("escalated_at", AT, nullable=True),
        sa.Column(
            "notified_level", sa.Integer(), nullable=False, comment="Highest level notified."
        ),
        sa.Column("acknowledged_at", AT, nullable=True),
        sa.Column("acknowledged_by", sa.String(length=128), nullable=True),
        sa.Column("resolved_at", AT, nullable=True),
        sa.Column("resolved_by", sa.String(length=128), nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        comment="Monitoring alerts: one unresolved alert per (tenant, kind, subject).",
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(
            "uq_alerts_unresolved_subject",
            ["tenant_id", "kind", "subject"],
            unique=True,
            sqlite_where=sa.text("resolved_at IS NULL"),
            postgresql_where=sa.text("resolved_at IS NULL"),
        )
        batch_op.create_index(
            batch_op.f("ix_alerts_tenant_id_opened_at_id"), ["tenant_id", "opened_at", "id"]
        )
        batch_op.create_index(batch_op.f("ix_alerts_state_opened_at"), ["state", "opened_at"])

    op.create_table(
        "alert_notifications",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("alert_id", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("target_role", sa.String(length=64), nullable=False),
        sa.Column("sink", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False, comment="sent or failed"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("notified_at", AT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_notifications")),
        comment="Append-only: every notification of an alert, per level and sink, with its outcome.",  # noqa: E501
    )
    with op.batch_alter_table("alert_notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_notifications_tenant_id_alert_id_id"),
            ["tenant_id", "alert_id", "id"],
        )
    forbid_update_and_delete(("alert_notifications",))

    op.create_table(
        "stagnation_rules",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("threshold_minutes", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", AT, nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "subject_type", "status", name=op.f("pk_stagnation_rules")
        ),
        comment="A tenant's stagnation rules; each replaces the default for its subject and status.",  # noqa: E501
    )
    op.create_table(
        "escalation_levels",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("delay_minutes", sa.Integer(), nullable=False),
        sa.Column("target_role", sa.String(length=64), nullable=False),
        sa.Column(
            "email_to",
            sa.Text(),
            nullable=False,
            comment="Comma-separated addresses; may be empty.",
        ),
        sa.Column("updated_at", AT, nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "level", name=op.f("pk_escalation_levels")),
        comment="A tenant's escalation path; when present it replaces the default path as a whole.",
    )


def downgrade() -> None:
    op.drop_table("escalation_levels")
    op.drop_table("stagnation_rules")
    op.drop_table("alert_notifications")
    op.drop_table("alerts")
