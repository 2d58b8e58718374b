"""Replay quarantined events through the normal ingest path, once their cause is fixed.

The commonest cause is order: a carrier's delivery scan that arrives before the warehouse's
dispatch is refused with `unknown_shipment`. Replaying it after the dispatch applies it. Nothing
in the quarantine is changed; each replay attempt is itself an ingest, with its own outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ordertrail.domain.canonical import NotCanonicalJson, parse_strict_json
from ordertrail.services.ingest import BATCH_SIZE_MAX, ingest
from ordertrail.services.ports import OrderQueries, UnitOfWorkFactory
from ordertrail.services.results import IngestResult


@dataclass(frozen=True, slots=True)
class ReplayResult:
    quarantine_id: str
    result: IngestResult | None
    not_replayable: str | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.result is None:
            return {
                "quarantine_id": self.quarantine_id,
                "outcome": "not_replayable",
                "error": {"code": "not_replayable", "message": self.not_replayable},
            }
        return {"quarantine_id": self.quarantine_id, **self.result.as_dict()}


def replay_quarantined(
    *,
    uow_factory: UnitOfWorkFactory,
    queries: OrderQueries,
    tenant_id: str,
    actor: str,
    now: datetime,
    new_id: Callable[[], str],
    quarantine_ids: Collection[str] | None = None,
    order_id: str | None = None,
) -> list[ReplayResult]:
    """Re-ingest the named quarantine items, or an order's items not applied since, oldest first."""
    if (quarantine_ids is None) == (order_id is None):
        raise ValueError("name either quarantine ids or an order id")
    items = queries.quarantined(
        tenant_id=tenant_id, quarantine_ids=quarantine_ids, order_id=order_id, limit=BATCH_SIZE_MAX
    )
    # Several failed attempts of the same event are one event: replay it once (the newest copy).
    latest: dict[tuple[str | None, str], dict[str, Any]] = {}
    for item in items:
        key = (
            (item["event_id"], item["checksum_sha256"])
            if item["event_id"]
            else (None, item["quarantine_id"])
        )
        latest.pop(key, None)
        latest[key] = item
    replayable: list[tuple[str, Any]] = []
    results: dict[str, ReplayResult] = {}
    for item in latest.values():
        try:
            replayable.append((item["quarantine_id"], parse_strict_json(item["body"])))
        except NotCanonicalJson:
            results[item["quarantine_id"]] = ReplayResult(
                item["quarantine_id"], None, "the stored body is not JSON; send a corrected event"
            )
    outcomes = (
        ingest(
            uow_factory=uow_factory,
            raw_events=[raw for _, raw in replayable],
            tenant_id=tenant_id,
            actor=actor,
            now=now,
            new_id=new_id,
        )
        if replayable
        else []
    )
    for (quarantine_id, _), outcome in zip(replayable, outcomes, strict=True):
        results[quarantine_id] = ReplayResult(quarantine_id, outcome)
    return [results[item["quarantine_id"]] for item in latest.values()]


def _occurred(raw: Any) -> datetime:
    value = raw.get("occurred_at") if isinstance(raw, dict) else None
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    return (
        parsed
        if parsed is not None and parsed.tzinfo is not None
        else datetime.max.replace(tzinfo=UTC)
    )
