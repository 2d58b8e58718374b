"""Approval requests on SQL, in the unit of work's connection: executors share its transaction."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from ordertrail.adapters.db.tables_approvals import approval_requests as t
from ordertrail.services.approval_ports import ApprovalFilter, ApprovalRequest


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _request(row: Any) -> ApprovalRequest:
    m = row._mapping
    return ApprovalRequest(
        request_id=m["request_id"],
        tenant_id=m["tenant_id"],
        kind=m["kind"],
        subject=m["subject"],
        payload=json.loads(m["payload"]),
        reason=m["reason"],
        requester=m["requester"],
        requester_owner=m["requester_owner"],
        requested_at=m["requested_at"],
        expires_at=m["expires_at"],
        status=m["status"],
        decided_by=m["decided_by"],
        decided_by_owner=m["decided_by_owner"],
        decided_at=m["decided_at"],
        decision_note=m["decision_note"],
        result=None if m["result"] is None else json.loads(m["result"]),
    )


class SqlApprovalStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, *, request: ApprovalRequest) -> None:
        self._connection.execute(
            insert(t).values(
                tenant_id=request.tenant_id,
                request_id=request.request_id,
                kind=request.kind,
                subject=request.subject,
                payload=_json(request.payload),
                reason=request.reason,
                requester=request.requester,
                requester_owner=request.requester_owner,
                requested_at=request.requested_at,
                expires_at=request.expires_at,
                status=request.status,
            )
        )

    def get(self, *, tenant_id: str, request_id: str) -> ApprovalRequest | None:
        row = self._connection.execute(
            select(t).where(t.c.tenant_id == tenant_id, t.c.request_id == request_id)
        ).first()
        return None if row is None else _request(row)

    def decide(self, *, request: ApprovalRequest) -> bool:
        result = self._connection.execute(
            update(t)
            .where(
                t.c.tenant_id == request.tenant_id,
                t.c.request_id == request.request_id,
                t.c.status == "requested",
            )
            .values(
                status=request.status,
                decided_by=request.decided_by,
                decided_by_owner=request.decided_by_owner,
                decided_at=request.decided_at,
                decision_note=request.decision_note,
                result=None if request.result is None else _json(request.result),
            )
        )
        return result.rowcount == 1

    def page(
        self,
        *,
        tenant_id: str,
        where: ApprovalFilter,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[ApprovalRequest]:
        query = select(t).where(t.c.tenant_id == tenant_id)
        if where.status is not None:
            query = query.where(t.c.status == where.status)
        if where.kind is not None:
            query = query.where(t.c.kind == where.kind)
        if where.subject is not None:
            query = query.where(t.c.subject == where.subject)
        if where.requester is not None:
            query = query.where(t.c.requester == where.requester)
        if after is not None:
            at, request_id = after
            query = query.where(
                or_(
                    t.c.requested_at < at,
                    and_(t.c.requested_at == at, t.c.request_id < request_id),
                )
            )
        query = query.order_by(t.c.requested_at.desc(), t.c.request_id.desc()).limit(limit)
        return [_request(row) for row in self._connection.execute(query)]

    def due(self, *, tenant_id: str | None, now: datetime, limit: int) -> list[ApprovalRequest]:
        query = select(t).where(t.c.status == "requested", t.c.expires_at <= now)
        if tenant_id is not None:
            query = query.where(t.c.tenant_id == tenant_id)
        query = query.order_by(t.c.expires_at, t.c.tenant_id, t.c.request_id).limit(limit)
        return [_request(row) for row in self._connection.execute(query)]
