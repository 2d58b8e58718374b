"""The revenue controls' stores on SQL: holds, rule versions, gate state, decisions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, select, update

from ordertrail.adapters.db.tables_controls import (
    amendment_thresholds,
    parked_amendments,
    recognition_decisions,
    recognition_gate_orders,
    recognition_rules,
    revenue_holds,
)
from ordertrail.domain.canonical import canonical_json
from ordertrail.domain.controls.amendments import AmendmentThreshold
from ordertrail.domain.controls.holds import Hold
from ordertrail.domain.controls.rules import rule_from
from ordertrail.services.controls_ports import (
    DECISIONS_PAGE_MAX,
    HOLDS_PAGE_MAX,
    PENDING_BATCH_MAX,
    Decision,
    GateOrder,
    ParkedAmendment,
    StoredRule,
)

_HOLD_FIELDS = (
    "hold_id",
    "order_id",
    "line_id",
    "obligation_id",
    "contract_id",
    "reason_code",
    "source",
    "source_ref",
    "placed_by",
    "placed_at",
    "released_by",
    "released_at",
    "approval_id",
)


def _hold_of(row: Any) -> Hold:
    return Hold(**{name: getattr(row, name) for name in _HOLD_FIELDS})


def gate_state_json(gate: GateOrder) -> str:
    return canonical_json(
        {
            "body": gate.body,
            "facts": gate.facts,
            "released": gate.released,
            "fallback_lines": list(gate.fallback_lines),
            "escalated_lines": list(gate.escalated_lines),
        }
    )


def gate_of(*, order_id: str, state: str, pending: bool, updated_at: datetime) -> GateOrder:
    doc = orjson.loads(state)
    return GateOrder(
        order_id=order_id,
        body=doc["body"],
        facts=doc["facts"],
        released=doc["released"],
        fallback_lines=tuple(doc["fallback_lines"]),
        escalated_lines=tuple(doc["escalated_lines"]),
        pending=pending,
        updated_at=updated_at,
    )


def decision_row(tenant_id: str, d: Decision) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "order_id": d.order_id,
        "contract_id": d.contract_id,
        "obligation_id": d.obligation_id,
        "line_id": d.line_id,
        "outcome": d.outcome,
        "reason": d.reason[:300],
        "rule_id": d.rule_id,
        "rule_version": d.rule_version,
        "fallback": d.fallback,
        "facts": canonical_json(d.facts),
        "counts": canonical_json(d.counts),
        "cause": d.cause,
        "decided_at": d.decided_at,
    }


class SqlAmendmentStore:
    """Amendment thresholds and parked amendments on SQL (mixed into SqlControlsStore)."""

    _c: Connection

    def threshold(self, *, tenant_id: str, currency: str) -> AmendmentThreshold | None:
        t = amendment_thresholds
        row = self._c.execute(
            select(t).where(t.c.tenant_id == tenant_id, t.c.currency == currency)
        ).first()
        if row is None:
            return None
        return AmendmentThreshold(
            currency=row.currency, absolute_minor=row.absolute_minor, percent_bp=row.percent_bp
        )

    def put_threshold(
        self, *, tenant_id: str, threshold: AmendmentThreshold, actor: str, now: datetime
    ) -> None:
        t = amendment_thresholds
        values = {
            "absolute_minor": threshold.absolute_minor,
            "percent_bp": threshold.percent_bp,
            "updated_by": actor,
            "updated_at": now,
        }
        done = self._c.execute(
            update(t)
            .where(t.c.tenant_id == tenant_id, t.c.currency == threshold.currency)
            .values(**values)
        )
        if done.rowcount == 0:
            self._c.execute(
                t.insert().values(tenant_id=tenant_id, currency=threshold.currency, **values)
            )

    def park(self, *, tenant_id: str, parked: ParkedAmendment) -> None:
        self._c.execute(
            parked_amendments.insert().values(
                tenant_id=tenant_id,
                event_id=parked.event_id,
                order_id=parked.order_id,
                body=canonical_json(parked.body),
                currency=parked.currency,
                impact_minor=parked.impact_minor,
                request_id=parked.request_id,
                parked_at=parked.parked_at,
                posted_at=parked.posted_at,
            )
        )

    def parked(self, *, tenant_id: str, event_id: str) -> ParkedAmendment | None:
        t = parked_amendments
        row = self._c.execute(
            select(t).where(t.c.tenant_id == tenant_id, t.c.event_id == event_id)
        ).first()
        if row is None:
            return None
        return ParkedAmendment(
            event_id=row.event_id,
            order_id=row.order_id,
            body=orjson.loads(row.body),
            currency=row.currency,
            impact_minor=row.impact_minor,
            request_id=row.request_id,
            parked_at=row.parked_at,
            posted_at=row.posted_at,
        )

    def mark_posted(self, *, tenant_id: str, event_id: str, now: datetime) -> None:
        t = parked_amendments
        self._c.execute(
            update(t)
            .where(t.c.tenant_id == tenant_id, t.c.event_id == event_id)
            .values(posted_at=now)
        )


class SqlControlsStore(SqlAmendmentStore):
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add_hold(self, *, tenant_id: str, hold: Hold) -> None:
        values = {name: getattr(hold, name) for name in _HOLD_FIELDS}
        self._c.execute(revenue_holds.insert().values(tenant_id=tenant_id, **values))

    def hold(self, *, tenant_id: str, hold_id: str) -> Hold | None:
        row = self._c.execute(
            select(revenue_holds).where(
                revenue_holds.c.tenant_id == tenant_id, revenue_holds.c.hold_id == hold_id
            )
        ).first()
        return None if row is None else _hold_of(row)

    def save_release(self, *, tenant_id: str, hold: Hold) -> None:
        self._c.execute(
            update(revenue_holds)
            .where(
                revenue_holds.c.tenant_id == tenant_id,
                revenue_holds.c.hold_id == hold.hold_id,
                revenue_holds.c.released_at.is_(None),
            )
            .values(
                released_by=hold.released_by,
                released_at=hold.released_at,
                approval_id=hold.approval_id,
            )
        )

    def holds(
        self,
        *,
        tenant_id: str,
        order_id: str | None = None,
        open_only: bool = False,
        limit: int = HOLDS_PAGE_MAX,
    ) -> list[Hold]:
        query = select(revenue_holds).where(revenue_holds.c.tenant_id == tenant_id)
        if order_id is not None:
            query = query.where(revenue_holds.c.order_id == order_id)
        if open_only:
            query = query.where(revenue_holds.c.released_at.is_(None))
        query = query.order_by(revenue_holds.c.placed_at, revenue_holds.c.hold_id)
        rows = self._c.execute(query.limit(min(limit, HOLDS_PAGE_MAX))).all()
        return [_hold_of(row) for row in rows]

    def gate_order(self, *, tenant_id: str, order_id: str) -> GateOrder | None:
        t = recognition_gate_orders
        row = self._c.execute(
            select(t).where(t.c.tenant_id == tenant_id, t.c.order_id == order_id)
        ).first()
        if row is None:
            return None
        return gate_of(
            order_id=order_id, state=row.state, pending=row.pending, updated_at=row.updated_at
        )

    def save_gate_order(self, *, tenant_id: str, gate: GateOrder) -> None:
        t = recognition_gate_orders
        values = {
            "state": gate_state_json(gate),
            "pending": gate.pending,
            "updated_at": gate.updated_at,
        }
        done = self._c.execute(
            update(t)
            .where(t.c.tenant_id == tenant_id, t.c.order_id == gate.order_id)
            .values(**values)
        )
        if done.rowcount == 0:
            self._c.execute(
                t.insert().values(tenant_id=tenant_id, order_id=gate.order_id, **values)
            )

    def pending_orders(self, *, limit: int = PENDING_BATCH_MAX) -> list[tuple[str, str]]:
        t = recognition_gate_orders
        rows = self._c.execute(
            select(t.c.tenant_id, t.c.order_id)
            .where(t.c.pending.is_(True))
            .order_by(t.c.updated_at, t.c.tenant_id, t.c.order_id)
            .limit(min(limit, PENDING_BATCH_MAX))
        ).all()
        return [(row.tenant_id, row.order_id) for row in rows]

    def add_rule(self, *, tenant_id: str, stored: StoredRule) -> None:
        self._c.execute(
            recognition_rules.insert().values(
                tenant_id=tenant_id,
                rule_id=stored.rule.rule_id,
                version=stored.rule.version,
                definition=canonical_json(stored.rule.as_dict()),
                status=stored.status,
                proposed_by=stored.proposed_by,
                proposed_at=stored.proposed_at,
                request_id=stored.request_id,
                approved_by=stored.approved_by,
                approved_at=stored.approved_at,
            )
        )

    def rules(self, *, tenant_id: str, rule_id: str | None = None) -> list[StoredRule]:
        t = recognition_rules
        query = select(t).where(t.c.tenant_id == tenant_id)
        if rule_id is not None:
            query = query.where(t.c.rule_id == rule_id)
        rows = self._c.execute(query.order_by(t.c.rule_id, t.c.version)).all()
        return [
            StoredRule(
                rule=rule_from(orjson.loads(row.definition), version=row.version),
                status=row.status,
                proposed_by=row.proposed_by,
                proposed_at=row.proposed_at,
                request_id=row.request_id,
                approved_by=row.approved_by,
                approved_at=row.approved_at,
            )
            for row in rows
        ]

    def set_rule_status(
        self,
        *,
        tenant_id: str,
        rule_id: str,
        version: int,
        status: str,
        approved_by: str | None = None,
        approved_at: datetime | None = None,
    ) -> None:
        t = recognition_rules
        values: dict[str, Any] = {"status": status}
        if approved_by is not None:
            values |= {"approved_by": approved_by, "approved_at": approved_at}
        self._c.execute(
            update(t)
            .where(t.c.tenant_id == tenant_id, t.c.rule_id == rule_id, t.c.version == version)
            .values(**values)
        )

    def add_decisions(self, *, tenant_id: str, decisions: Sequence[Decision]) -> None:
        if decisions:
            self._c.execute(
                recognition_decisions.insert(), [decision_row(tenant_id, d) for d in decisions]
            )

    def decisions(
        self,
        *,
        tenant_id: str,
        contract_id: str | None = None,
        obligation_id: str | None = None,
        order_id: str | None = None,
        fallback_only: bool = False,
        limit: int = DECISIONS_PAGE_MAX,
    ) -> list[Decision]:
        t = recognition_decisions
        query = select(t).where(t.c.tenant_id == tenant_id)
        if contract_id is not None:
            query = query.where(t.c.contract_id == contract_id)
        if obligation_id is not None:
            query = query.where(t.c.obligation_id == obligation_id)
        if order_id is not None:
            query = query.where(t.c.order_id == order_id)
        if fallback_only:
            query = query.where(t.c.fallback.is_(True))
        rows = self._c.execute(
            query.order_by(t.c.seq.desc()).limit(min(limit, DECISIONS_PAGE_MAX))
        ).all()
        return [
            Decision(
                order_id=row.order_id,
                contract_id=row.contract_id,
                obligation_id=row.obligation_id,
                line_id=row.line_id,
                outcome=row.outcome,
                reason=row.reason,
                facts=orjson.loads(row.facts),
                counts=orjson.loads(row.counts),
                decided_at=row.decided_at,
                cause=row.cause,
                rule_id=row.rule_id,
                rule_version=row.rule_version,
                fallback=row.fallback,
                seq=row.seq,
            )
            for row in rows
        ]
