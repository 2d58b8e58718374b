"""The disputes' stores in memory, with the SQL adapter's transaction semantics.

A unit of work reads the committed tables through its own staged writes; `commit` merges only
what it wrote, under the tables' lock; evidence is only ever appended.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

from ordertrail.domain.disputes import DisputeReason
from ordertrail.services.dispute_ports import Dispute, DisputeFilter, Evidence, WebhookSecret

__all__ = ["DisputeTables", "MemoryDisputeStore"]

Key = tuple[str, str]


@dataclass(slots=True)
class DisputeTables:
    lock: threading.RLock = field(default_factory=threading.RLock)
    disputes: dict[Key, Dispute] = field(default_factory=dict)
    evidence: dict[Key, tuple[Evidence, bytes]] = field(default_factory=dict)
    reasons: dict[Key, DisputeReason] = field(default_factory=dict)
    webhooks: dict[str, WebhookSecret] = field(default_factory=dict)


class MemoryDisputeStore:
    def __init__(self, tables: DisputeTables) -> None:
        self._tables = tables
        self._disputes: dict[Key, Dispute] = {}
        self._evidence: dict[Key, tuple[Evidence, bytes]] = {}
        self._reasons: dict[Key, DisputeReason] = {}
        self._webhooks: dict[str, WebhookSecret | None] = {}
        self._updated: set[Key] = set()

    def check(self) -> None:
        """Refuse the commit when another unit of work resolved a dispute this one updated."""
        with self._tables.lock:
            for key in self._updated:
                current = self._tables.disputes.get(key)
                if current is not None and current.status != "open":
                    raise ValueError(f"dispute {key[1]} was resolved meanwhile")

    def commit(self) -> None:
        with self._tables.lock:
            self._tables.disputes.update(self._disputes)
            self._tables.evidence.update(self._evidence)
            self._tables.reasons.update(self._reasons)
            for tenant_id, secret in self._webhooks.items():
                if secret is None:
                    self._tables.webhooks.pop(tenant_id, None)
                else:
                    self._tables.webhooks[tenant_id] = secret
        self._disputes, self._evidence, self._reasons, self._webhooks = {}, {}, {}, {}
        self._updated = set()

    def _all(self) -> dict[Key, Dispute]:
        with self._tables.lock:
            return {**self._tables.disputes, **self._disputes}

    def add(self, *, tenant_id: str, dispute: Dispute) -> None:
        key = (tenant_id, dispute.dispute_id)
        if key in self._all():
            raise ValueError(f"dispute {dispute.dispute_id} exists")
        self._disputes[key] = dispute

    def get(self, *, tenant_id: str, dispute_id: str) -> Dispute | None:
        return self._all().get((tenant_id, dispute_id))

    def by_external_ref(self, *, tenant_id: str, external_ref: str) -> Dispute | None:
        return next(
            (
                d
                for (tenant, _), d in self._all().items()
                if tenant == tenant_id and d.external_ref == external_ref
            ),
            None,
        )

    def update(self, *, tenant_id: str, dispute: Dispute) -> bool:
        current = self.get(tenant_id=tenant_id, dispute_id=dispute.dispute_id)
        if current is None or current.status != "open":
            return False
        self._disputes[(tenant_id, dispute.dispute_id)] = dispute
        self._updated.add((tenant_id, dispute.dispute_id))
        return True

    def page(
        self,
        *,
        tenant_id: str,
        where: DisputeFilter,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Dispute]:
        rows = [
            d
            for (tenant, _), d in self._all().items()
            if tenant == tenant_id
            and (where.status is None or d.status == where.status)
            and (where.order_id is None or d.order_id == where.order_id)
            and (where.reason_code is None or d.reason_code == where.reason_code)
            and (after is None or (d.opened_at, d.dispute_id) < after)
        ]
        rows.sort(key=lambda d: (d.opened_at, d.dispute_id), reverse=True)
        return rows[:limit]

    def _all_evidence(self) -> dict[Key, tuple[Evidence, bytes]]:
        with self._tables.lock:
            return {**self._tables.evidence, **self._evidence}

    def add_evidence(self, *, tenant_id: str, evidence: Evidence, content: bytes) -> None:
        key = (tenant_id, evidence.evidence_id)
        if key in self._all_evidence():
            raise ValueError(f"evidence {evidence.evidence_id} exists")
        self._evidence[key] = (evidence, bytes(content))

    def evidence(self, *, tenant_id: str, dispute_id: str) -> list[Evidence]:
        found = [
            e
            for (tenant, _), (e, _content) in self._all_evidence().items()
            if tenant == tenant_id and e.dispute_id == dispute_id
        ]
        return sorted(found, key=lambda e: (e.attached_at, e.evidence_id))

    def document(
        self, *, tenant_id: str, dispute_id: str, evidence_id: str
    ) -> tuple[Evidence, bytes] | None:
        found = self._all_evidence().get((tenant_id, evidence_id))
        return found if found is not None and found[0].dispute_id == dispute_id else None

    def reasons(self, *, tenant_id: str) -> list[DisputeReason]:
        with self._tables.lock:
            every = {**self._tables.reasons, **self._reasons}
        return sorted(
            (r for (tenant, _), r in every.items() if tenant == tenant_id), key=lambda r: r.code
        )

    def save_reason(
        self, *, tenant_id: str, reason: DisputeReason, actor: str, now: datetime
    ) -> None:
        del actor, now  # The SQL table keeps who changed it and when; nothing here reads them.
        self._reasons[(tenant_id, reason.code)] = reason

    def _webhooks_now(self) -> dict[str, WebhookSecret]:
        with self._tables.lock:
            merged: dict[str, WebhookSecret | None] = {**self._tables.webhooks, **self._webhooks}
        return {t: s for t, s in merged.items() if s is not None}

    def webhook(self, *, token: str) -> WebhookSecret | None:
        return next((s for s in self._webhooks_now().values() if s.token == token), None)

    def webhook_of(self, *, tenant_id: str) -> WebhookSecret | None:
        return self._webhooks_now().get(tenant_id)

    def put_webhook(self, *, secret: WebhookSecret) -> None:
        self._webhooks[secret.tenant_id] = secret

    def delete_webhook(self, *, tenant_id: str) -> bool:
        existed = tenant_id in self._webhooks_now()
        self._webhooks[tenant_id] = None
        return existed
