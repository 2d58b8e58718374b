"""The disputes' SQL store: disputes with their lines, append-only evidence, reasons, secrets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Row, and_, delete, insert, or_, select, update

from ordertrail.adapters.db.tables_disputes import (
    dispute_evidence,
    dispute_lines,
    dispute_reasons,
    dispute_webhooks,
    disputes,
)
from ordertrail.domain.disputes import DisputeReason, Resolution
from ordertrail.services.dispute_ports import Dispute, DisputeFilter, Evidence, WebhookSecret

_EVIDENCE_FIELDS = (
    "evidence_id",
    "dispute_id",
    "kind",
    "filename",
    "media_type",
    "size_bytes",
    "sha256",
    "attached_by",
    "attached_at",
    "note",
)


def resolution_json(resolution: Resolution | None) -> str | None:
    if resolution is None:
        return None
    return orjson.dumps(
        {
            "outcome": resolution.outcome,
            "decided_by": resolution.decided_by,
            "note": resolution.note,
            "amount_minor": resolution.amount_minor,
            "treatment": resolution.treatment,
            "entry_ids": list(resolution.entry_ids),
            "requested_by": resolution.requested_by,
            "approval_id": resolution.approval_id,
        }
    ).decode()


def resolution_of(text: str | None) -> Resolution | None:
    if text is None:
        return None
    doc: dict[str, Any] = orjson.loads(text)
    return Resolution(
        outcome=doc["outcome"],
        decided_by=doc["decided_by"],
        note=doc["note"],
        amount_minor=doc["amount_minor"],
        treatment=doc["treatment"],
        entry_ids=tuple(doc["entry_ids"]),
        requested_by=doc["requested_by"],
        approval_id=doc["approval_id"],
    )


def _evidence_of(row: Row[Any]) -> Evidence:
    return Evidence(**{name: getattr(row, name) for name in _EVIDENCE_FIELDS})


class SqlDisputeStore:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def _dispute_of(self, tenant_id: str, row: Row[Any]) -> Dispute:
        lines = self._c.execute(
            select(dispute_lines.c.line_id)
            .where(
                dispute_lines.c.tenant_id == tenant_id,
                dispute_lines.c.dispute_id == row.dispute_id,
            )
            .order_by(dispute_lines.c.position)
        ).scalars()
        return Dispute(
            dispute_id=row.dispute_id,
            order_id=row.order_id,
            line_ids=tuple(lines),
            reason_code=row.reason_code,
            description=row.description,
            external_ref=row.external_ref,
            channel=row.channel,
            opened_by=row.opened_by,
            opened_at=row.opened_at,
            hold_ids=tuple(orjson.loads(row.hold_ids)),
            status=row.status,
            pending_request_id=row.pending_request_id,
            resolution=resolution_of(row.resolution),
            resolved_at=row.resolved_at,
        )

    def add(self, *, tenant_id: str, dispute: Dispute) -> None:
        self._c.execute(
            insert(disputes).values(
                tenant_id=tenant_id,
                dispute_id=dispute.dispute_id,
                order_id=dispute.order_id,
                reason_code=dispute.reason_code,
                description=dispute.description,
                external_ref=dispute.external_ref,
                channel=dispute.channel,
                opened_by=dispute.opened_by,
                opened_at=dispute.opened_at,
                hold_ids=orjson.dumps(list(dispute.hold_ids)).decode(),
                status=dispute.status,
                pending_request_id=dispute.pending_request_id,
                resolution=resolution_json(dispute.resolution),
                resolved_at=dispute.resolved_at,
            )
        )
        if dispute.line_ids:
            self._c.execute(
                insert(dispute_lines),
                [
                    {
                        "tenant_id": tenant_id,
                        "dispute_id": dispute.dispute_id,
                        "line_id": line,
                        "position": i,
                    }
                    for i, line in enumerate(dispute.line_ids)
                ],
            )

    def _one(self, tenant_id: str, *where: Any) -> Dispute | None:
        row = self._c.execute(
            select(disputes).where(disputes.c.tenant_id == tenant_id, *where)
        ).first()
        return None if row is None else self._dispute_of(tenant_id, row)

    def get(self, *, tenant_id: str, dispute_id: str) -> Dispute | None:
        return self._one(tenant_id, disputes.c.dispute_id == dispute_id)

    def by_external_ref(self, *, tenant_id: str, external_ref: str) -> Dispute | None:
        return self._one(tenant_id, disputes.c.external_ref == external_ref)

    def update(self, *, tenant_id: str, dispute: Dispute) -> bool:
        result = self._c.execute(
            update(disputes)
            .where(
                disputes.c.tenant_id == tenant_id,
                disputes.c.dispute_id == dispute.dispute_id,
                disputes.c.status == "open",
            )
            .values(
                status=dispute.status,
                pending_request_id=dispute.pending_request_id,
                resolution=resolution_json(dispute.resolution),
                resolved_at=dispute.resolved_at,
            )
        )
        return result.rowcount == 1

    def page(
        self,
        *,
        tenant_id: str,
        where: DisputeFilter,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Dispute]:
        t = disputes
        query = select(t).where(t.c.tenant_id == tenant_id)
        if where.status is not None:
            query = query.where(t.c.status == where.status)
        if where.order_id is not None:
            query = query.where(t.c.order_id == where.order_id)
        if where.reason_code is not None:
            query = query.where(t.c.reason_code == where.reason_code)
        if after is not None:
            at, dispute_id = after
            query = query.where(
                or_(t.c.opened_at < at, and_(t.c.opened_at == at, t.c.dispute_id < dispute_id))
            )
        query = query.order_by(t.c.opened_at.desc(), t.c.dispute_id.desc()).limit(limit)
        return [self._dispute_of(tenant_id, row) for row in self._c.execute(query).all()]

    def add_evidence(self, *, tenant_id: str, evidence: Evidence, content: bytes) -> None:
        values = {name: getattr(evidence, name) for name in _EVIDENCE_FIELDS}
        self._c.execute(
            insert(dispute_evidence).values(tenant_id=tenant_id, content=content, **values)
        )

    def evidence(self, *, tenant_id: str, dispute_id: str) -> list[Evidence]:
        t = dispute_evidence
        columns = [t.c[name] for name in _EVIDENCE_FIELDS]
        rows = self._c.execute(
            select(*columns)
            .where(t.c.tenant_id == tenant_id, t.c.dispute_id == dispute_id)
            .order_by(t.c.attached_at, t.c.evidence_id)
        ).all()
        return [_evidence_of(row) for row in rows]

    def document(
        self, *, tenant_id: str, dispute_id: str, evidence_id: str
    ) -> tuple[Evidence, bytes] | None:
        t = dispute_evidence
        row = self._c.execute(
            select(t).where(
                t.c.tenant_id == tenant_id,
                t.c.dispute_id == dispute_id,
                t.c.evidence_id == evidence_id,
            )
        ).first()
        return None if row is None else (_evidence_of(row), bytes(row.content))

    def reasons(self, *, tenant_id: str) -> list[DisputeReason]:
        t = dispute_reasons
        rows = self._c.execute(select(t).where(t.c.tenant_id == tenant_id).order_by(t.c.code)).all()
        return [
            DisputeReason(
                code=row.code,
                description=row.description,
                required_evidence=tuple(orjson.loads(row.required_evidence)),
                signer_role=row.signer_role,
                second_approval=row.second_approval,
                active=row.active,
            )
            for row in rows
        ]

    def save_reason(
        self, *, tenant_id: str, reason: DisputeReason, actor: str, now: datetime
    ) -> None:
        t = dispute_reasons
        values = {
            "description": reason.description,
            "required_evidence": orjson.dumps(list(reason.required_evidence)).decode(),
            "signer_role": reason.signer_role,
            "second_approval": reason.second_approval,
            "active": reason.active,
            "updated_by": actor,
            "updated_at": now,
        }
        changed = self._c.execute(
            update(t).where(t.c.tenant_id == tenant_id, t.c.code == reason.code).values(**values)
        )
        if changed.rowcount == 0:
            self._c.execute(insert(t).values(tenant_id=tenant_id, code=reason.code, **values))

    def _webhook(self, *where: Any) -> WebhookSecret | None:
        row = self._c.execute(select(dispute_webhooks).where(*where)).first()
        if row is None:
            return None
        return WebhookSecret(
            tenant_id=row.tenant_id,
            token=row.token,
            secret=row.secret,
            updated_at=row.updated_at,
            updated_by=row.updated_by,
        )

    def webhook(self, *, token: str) -> WebhookSecret | None:
        return self._webhook(dispute_webhooks.c.token == token)

    def webhook_of(self, *, tenant_id: str) -> WebhookSecret | None:
        return self._webhook(dispute_webhooks.c.tenant_id == tenant_id)

    def put_webhook(self, *, secret: WebhookSecret) -> None:
        self.delete_webhook(tenant_id=secret.tenant_id)
        self._c.execute(
            insert(dispute_webhooks).values(
                tenant_id=secret.tenant_id,
                token=secret.token,
                secret=secret.secret,
                updated_by=secret.updated_by,
                updated_at=secret.updated_at,
            )
        )

    def delete_webhook(self, *, tenant_id: str) -> bool:
        result = self._c.execute(
            delete(dispute_webhooks).where(dispute_webhooks.c.tenant_id == tenant_id)
        )
        return result.rowcount == 1
