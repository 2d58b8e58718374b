"""The revenue controls' stores in memory, with the SQL adapter's transaction semantics.

A unit of work reads the committed tables through its own staged writes; `commit` merges only
the keys it wrote, under the tables' lock, and a discarded unit of work leaves nothing behind.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from ordertrail.domain.controls.amendments import AmendmentThreshold
from ordertrail.domain.controls.holds import Hold
from ordertrail.services.controls_ports import (
    DECISIONS_PAGE_MAX,
    HOLDS_PAGE_MAX,
    PENDING_BATCH_MAX,
    Decision,
    GateOrder,
    ParkedAmendment,
    StoredRule,
)

__all__ = ["ControlsTables", "MemoryControlsStore"]


@dataclass(slots=True)
class ControlsTables:
    lock: threading.RLock = field(default_factory=threading.RLock)
    holds: dict[tuple[str, str], Hold] = field(default_factory=dict)
    gates: dict[tuple[str, str], GateOrder] = field(default_factory=dict)
    rules: dict[tuple[str, str, int], StoredRule] = field(default_factory=dict)
    decisions: list[tuple[str, Decision]] = field(default_factory=list)
    thresholds: dict[tuple[str, str], AmendmentThreshold] = field(default_factory=dict)
    parked: dict[tuple[str, str], ParkedAmendment] = field(default_factory=dict)


class MemoryControlsStore:
    def __init__(self, tables: ControlsTables) -> None:
        self._tables = tables
        self._holds: dict[tuple[str, str], Hold] = {}
        self._gates: dict[tuple[str, str], GateOrder] = {}
        self._rules: dict[tuple[str, str, int], StoredRule] = {}
        self._decisions: list[tuple[str, Decision]] = []
        self._thresholds: dict[tuple[str, str], AmendmentThreshold] = {}
        self._parked: dict[tuple[str, str], ParkedAmendment] = {}

    def commit(self) -> None:
        with self._tables.lock:
            self._tables.holds.update(self._holds)
            self._tables.gates.update(self._gates)
            self._tables.rules.update(self._rules)
            self._tables.thresholds.update(self._thresholds)
            self._tables.parked.update(self._parked)
            start = len(self._tables.decisions)
            self._tables.decisions.extend(
                (tenant, replace(d, seq=start + i + 1))
                for i, (tenant, d) in enumerate(self._decisions)
            )
        self._holds, self._gates, self._rules, self._decisions = {}, {}, {}, []
        self._thresholds, self._parked = {}, {}

    def _all_holds(self) -> dict[tuple[str, str], Hold]:
        with self._tables.lock:
            return {**self._tables.holds, **self._holds}

    def add_hold(self, *, tenant_id: str, hold: Hold) -> None:
        key = (tenant_id, hold.hold_id)
        if key in self._all_holds():
            raise ValueError(f"hold {hold.hold_id} exists")
        self._holds[key] = hold

    def hold(self, *, tenant_id: str, hold_id: str) -> Hold | None:
        return self._all_holds().get((tenant_id, hold_id))

    def save_release(self, *, tenant_id: str, hold: Hold) -> None:
        current = self.hold(tenant_id=tenant_id, hold_id=hold.hold_id)
        if current is not None and current.is_open:
            self._holds[(tenant_id, hold.hold_id)] = hold

    def holds(
        self,
        *,
        tenant_id: str,
        order_id: str | None = None,
        open_only: bool = False,
        limit: int = HOLDS_PAGE_MAX,
    ) -> list[Hold]:
        found = [
            h
            for (tenant, _), h in self._all_holds().items()
            if tenant == tenant_id
            and (order_id is None or h.order_id == order_id)
            and (not open_only or h.is_open)
        ]
        found.sort(key=lambda h: (h.placed_at, h.hold_id))
        return found[: min(limit, HOLDS_PAGE_MAX)]

    def gate_order(self, *, tenant_id: str, order_id: str) -> GateOrder | None:
        key = (tenant_id, order_id)
        if key in self._gates:
            return self._gates[key]
        with self._tables.lock:
            return self._tables.gates.get(key)

    def save_gate_order(self, *, tenant_id: str, gate: GateOrder) -> None:
        self._gates[(tenant_id, gate.order_id)] = gate

    def pending_orders(self, *, limit: int = PENDING_BATCH_MAX) -> list[tuple[str, str]]:
        with self._tables.lock:
            gates = {**self._tables.gates, **self._gates}
        pending = sorted(
            (gate.updated_at or datetime.min.replace(tzinfo=UTC), key)
            for key, gate in gates.items()
            if gate.pending
        )
        return [key for _, key in pending][: min(limit, PENDING_BATCH_MAX)]

    def add_rule(self, *, tenant_id: str, stored: StoredRule) -> None:
        key = (tenant_id, stored.rule.rule_id, stored.rule.version)
        with self._tables.lock:
            if key in self._tables.rules or key in self._rules:
                raise ValueError(f"rule {key[1]} v{key[2]} exists")
        self._rules[key] = stored

    def rules(self, *, tenant_id: str, rule_id: str | None = None) -> list[StoredRule]:
        with self._tables.lock:
            every = {**self._tables.rules, **self._rules}
        return [
            every[key]
            for key in sorted(every)
            if key[0] == tenant_id and (rule_id is None or key[1] == rule_id)
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
        for stored in self.rules(tenant_id=tenant_id, rule_id=rule_id):
            if stored.rule.version == version:
                changed = replace(stored, status=status)
                if approved_by is not None:
                    changed = replace(changed, approved_by=approved_by, approved_at=approved_at)
                self._rules[(tenant_id, rule_id, version)] = changed

    def add_decisions(self, *, tenant_id: str, decisions: Sequence[Decision]) -> None:
        self._decisions.extend((tenant_id, d) for d in decisions)

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
        with self._tables.lock:
            every = list(self._tables.decisions)
        start = len(every)
        every += [(t, replace(d, seq=start + i + 1)) for i, (t, d) in enumerate(self._decisions)]
        found = [
            d
            for tenant, d in every
            if tenant == tenant_id
            and (contract_id is None or d.contract_id == contract_id)
            and (obligation_id is None or d.obligation_id == obligation_id)
            and (order_id is None or d.order_id == order_id)
            and (not fallback_only or d.fallback)
        ]
        return list(reversed(found))[: min(limit, DECISIONS_PAGE_MAX)]

    def threshold(self, *, tenant_id: str, currency: str) -> AmendmentThreshold | None:
        key = (tenant_id, currency)
        if key in self._thresholds:
            return self._thresholds[key]
        with self._tables.lock:
            return self._tables.thresholds.get(key)

    def put_threshold(
        self, *, tenant_id: str, threshold: AmendmentThreshold, actor: str, now: datetime
    ) -> None:
        del actor, now  # the SQL store keeps who set it and when; tests read the value only
        self._thresholds[(tenant_id, threshold.currency)] = threshold

    def park(self, *, tenant_id: str, parked: ParkedAmendment) -> None:
        if self.parked(tenant_id=tenant_id, event_id=parked.event_id) is not None:
            raise ValueError(f"amendment {parked.event_id} is parked already")
        self._parked[(tenant_id, parked.event_id)] = parked

    def parked(self, *, tenant_id: str, event_id: str) -> ParkedAmendment | None:
        key = (tenant_id, event_id)
        if key in self._parked:
            return self._parked[key]
        with self._tables.lock:
            return self._tables.parked.get(key)

    def mark_posted(self, *, tenant_id: str, event_id: str, now: datetime) -> None:
        found = self.parked(tenant_id=tenant_id, event_id=event_id)
        if found is not None:
            self._parked[(tenant_id, event_id)] = replace(found, posted_at=now)
