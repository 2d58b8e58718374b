"""Approval requests in memory, with the SQL store's semantics.

Writes are staged in the unit of work and applied on commit; a decision staged on a request that
another unit of work decided first fails the commit, as the losing conditional UPDATE would leave
its transaction with nothing to commit on SQL (there the service sees rowcount 0 at once).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from ordertrail.services.approval_ports import ApprovalFilter, ApprovalRequest


class ApprovalDecidedMeanwhile(RuntimeError):
    """Another unit of work decided the request between this one's decision and its commit."""


def _frozen(request: ApprovalRequest) -> ApprovalRequest:
    """A stored copy: JSON round trip for payload and result, timestamps in UTC."""
    return replace(
        request,
        payload=json.loads(json.dumps(request.payload, default=str)),
        result=None
        if request.result is None
        else json.loads(json.dumps(request.result, default=str)),
        requested_at=request.requested_at.astimezone(UTC),
        expires_at=request.expires_at.astimezone(UTC),
        decided_at=None if request.decided_at is None else request.decided_at.astimezone(UTC),
    )


@dataclass(slots=True)
class ApprovalTables:
    lock: threading.RLock = field(default_factory=threading.RLock)
    requests: dict[tuple[str, str], ApprovalRequest] = field(default_factory=dict)


class MemoryApprovalStore:
    def __init__(self, tables: ApprovalTables) -> None:
        self._tables = tables
        self._added: dict[tuple[str, str], ApprovalRequest] = {}
        self._decided: dict[tuple[str, str], ApprovalRequest] = {}

    def _current(self, key: tuple[str, str]) -> ApprovalRequest | None:
        return self._decided.get(key) or self._added.get(key) or self._tables.requests.get(key)

    def _all(self) -> list[ApprovalRequest]:
        with self._tables.lock:
            keys = set(self._tables.requests) | set(self._added)
            found = [self._current(key) for key in keys]
        return [r for r in found if r is not None]

    def add(self, *, request: ApprovalRequest) -> None:
        key = (request.tenant_id, request.request_id)
        with self._tables.lock:
            if key in self._tables.requests or key in self._added:
                raise ValueError(f"approval request {request.request_id} already exists")
            self._added[key] = _frozen(request)

    def get(self, *, tenant_id: str, request_id: str) -> ApprovalRequest | None:
        with self._tables.lock:
            return self._current((tenant_id, request_id))

    def decide(self, *, request: ApprovalRequest) -> bool:
        key = (request.tenant_id, request.request_id)
        with self._tables.lock:
            current = self._current(key)
            if current is None or current.status != "requested":
                return False
            self._decided[key] = _frozen(request)
        return True

    def page(
        self,
        *,
        tenant_id: str,
        where: ApprovalFilter,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[ApprovalRequest]:
        rows = [
            r
            for r in self._all()
            if r.tenant_id == tenant_id
            and (where.status is None or r.status == where.status)
            and (where.kind is None or r.kind == where.kind)
            and (where.subject is None or r.subject == where.subject)
            and (where.requester is None or r.requester == where.requester)
            and (after is None or (r.requested_at, r.request_id) < after)
        ]
        rows.sort(key=lambda r: (r.requested_at, r.request_id), reverse=True)
        return rows[:limit]

    def due(self, *, tenant_id: str | None, now: datetime, limit: int) -> list[ApprovalRequest]:
        rows = [
            r
            for r in self._all()
            if r.status == "requested"
            and r.expires_at <= now
            and (tenant_id is None or r.tenant_id == tenant_id)
        ]
        rows.sort(key=lambda r: (r.expires_at, r.tenant_id, r.request_id))
        return rows[:limit]

    def check(self) -> None:
        """Raise if a request this unit of work decided was decided by another one meanwhile."""
        with self._tables.lock:
            for key in self._decided:
                committed = self._tables.requests.get(key)
                if committed is not None and committed.status != "requested":
                    raise ApprovalDecidedMeanwhile(f"request {key[1]} was decided meanwhile")

    def commit(self) -> None:
        self.check()
        with self._tables.lock:
            self._tables.requests.update(self._added)
            self._tables.requests.update(self._decided)
        self._added = {}
        self._decided = {}
