"""Tenants' stagnation rules and escalation paths on SQL; a save replaces the tenant's set."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, delete, insert, select

from ordertrail.adapters.db.engine import WRITE_OPTION
from ordertrail.adapters.db.tables_monitoring import escalation_levels, stagnation_rules
from ordertrail.domain.monitoring.escalation import EscalationLevel
from ordertrail.domain.monitoring.rules import Severity, StagnationRule, SubjectType

# Rules and paths are bounded per tenant by the domain; this bounds a read of every tenant's.
ROWS_MAX = 100_000


class SqlMonitoringConfig:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def rules(self, *, tenant_id: str | None) -> dict[str, list[StagnationRule]]:
        query = select(stagnation_rules).order_by(
            stagnation_rules.c.tenant_id, stagnation_rules.c.subject_type, stagnation_rules.c.status
        )
        if tenant_id is not None:
            query = query.where(stagnation_rules.c.tenant_id == tenant_id)
        with self._engine.connect() as connection:
            rows = connection.execute(query.limit(ROWS_MAX)).all()
        found: dict[str, list[StagnationRule]] = {}
        for row in rows:
            found.setdefault(row.tenant_id, []).append(
                StagnationRule(
                    subject_type=SubjectType(row.subject_type),
                    status=row.status,
                    threshold_minutes=row.threshold_minutes,
                    severity=Severity(row.severity),
                    enabled=row.enabled,
                )
            )
        return found

    def replace_rules(
        self, *, tenant_id: str, rules: Sequence[StagnationRule], actor: str, at: datetime
    ) -> None:
        with self._engine.connect().execution_options(**{WRITE_OPTION: True}) as connection:
            connection.execute(
                delete(stagnation_rules).where(stagnation_rules.c.tenant_id == tenant_id)
            )
            if rules:
                connection.execute(
                    insert(stagnation_rules),
                    [
                        {
                            "tenant_id": tenant_id,
                            "subject_type": rule.subject_type.value,
                            "status": rule.status,
                            "threshold_minutes": rule.threshold_minutes,
                            "severity": rule.severity.value,
                            "enabled": rule.enabled,
                            "updated_at": at,
                            "updated_by": actor,
                        }
                        for rule in rules
                    ],
                )
            connection.commit()

    def paths(self, *, tenant_id: str | None) -> dict[str, list[EscalationLevel]]:
        query = select(escalation_levels).order_by(
            escalation_levels.c.tenant_id, escalation_levels.c.level
        )
        if tenant_id is not None:
            query = query.where(escalation_levels.c.tenant_id == tenant_id)
        with self._engine.connect() as connection:
            rows = connection.execute(query.limit(ROWS_MAX)).all()
        found: dict[str, list[EscalationLevel]] = {}
        for row in rows:
            found.setdefault(row.tenant_id, []).append(
                EscalationLevel(
                    level=row.level,
                    delay_minutes=row.delay_minutes,
                    target_role=row.target_role,
                    email_to=tuple(a for a in row.email_to.split(",") if a),
                )
            )
        return found

    def replace_path(
        self, *, tenant_id: str, path: Sequence[EscalationLevel], actor: str, at: datetime
    ) -> None:
        with self._engine.connect().execution_options(**{WRITE_OPTION: True}) as connection:
            connection.execute(
                delete(escalation_levels).where(escalation_levels.c.tenant_id == tenant_id)
            )
            if path:
                connection.execute(
                    insert(escalation_levels),
                    [
                        {
                            "tenant_id": tenant_id,
                            "level": item.level,
                            "delay_minutes": item.delay_minutes,
                            "target_role": item.target_role,
                            "email_to": ",".join(item.email_to),
                            "updated_at": at,
                            "updated_by": actor,
                        }
                        for item in path
                    ],
                )
            connection.commit()
