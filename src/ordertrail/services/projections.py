"""Rebuild the current-state projection from the event log, and check the stored one against it.

The projection is a cache of the log. Replaying every accepted event, in the order it was applied,
must reproduce it exactly; `verify_projections` reports every difference as a finding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ordertrail.domain.canonical import sha256_hex
from ordertrail.domain.orders import EventRejected, Order, order_to_state, parse_event
from ordertrail.services.ports import EventLog

PAGE_SIZE = 1000


class ReplayDiverged(Exception):
    """A stored event no longer applies: the code or the log changed under the projection."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One difference between the stored projection and the replay of the log."""

    tenant_id: str
    order_id: str
    code: str
    detail: str


def rebuild_orders(*, log: EventLog, tenant_id: str | None) -> dict[tuple[str, str], Order]:
    """Replay the whole log (or one tenant's) into fresh aggregates, in log order."""
    rebuilt: dict[tuple[str, str], Order] = {}
    after_seq = 0
    while page := log.read(tenant_id=tenant_id, after_seq=after_seq, limit=PAGE_SIZE):
        for logged in page:
            if sha256_hex(logged.body) != logged.checksum_sha256:
                raise ReplayDiverged(f"event seq {logged.seq} no longer matches its checksum")
            event = parse_event(json.loads(logged.body), now=logged.recorded_at)
            key = (logged.tenant_id, logged.order_id)
            try:
                if key in rebuilt:
                    rebuilt[key].apply(event)
                else:
                    rebuilt[key], _ = Order.place(event)
            except EventRejected as error:
                raise ReplayDiverged(
                    f"event seq {logged.seq} ({event.type} on {logged.order_id}) was accepted "
                    f"once but is now refused: {error.code}"
                ) from error
        after_seq = page[-1].seq
    return rebuilt


def verify_projections(*, log: EventLog, tenant_id: str | None) -> list[Finding]:
    """Compare the stored projection with a replay of the log; an empty list means identical."""
    rebuilt = rebuild_orders(log=log, tenant_id=tenant_id)
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    after: tuple[str, str] | None = None
    while page := log.projections(tenant_id=tenant_id, after=after, limit=PAGE_SIZE):
        for row in page:
            key = (row.tenant_id, row.order_id)
            seen.add(key)
            order = rebuilt.get(key)
            if order is None:
                findings.append(Finding(*key, "orphan_projection", "no events for this order"))
                continue
            stored = (row.status, row.version, row.state)
            replayed = (order.status.value, order.version, order_to_state(order))
            for name, mine, theirs in zip(
                ("status", "version", "state"), stored, replayed, strict=True
            ):
                if mine != theirs:
                    findings.append(
                        Finding(*key, f"{name}_differs", f"stored {mine!r}, replay {theirs!r}")
                    )
        after = (page[-1].tenant_id, page[-1].order_id)
    for key in sorted(set(rebuilt) - seen):
        findings.append(Finding(*key, "missing_projection", "events exist but no projection row"))
    return findings
