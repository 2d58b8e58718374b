"""The audit trail's use cases: records for journal entries, verification, checkpoints, listing.

Verification streams each tenant's chain in keyset pages (`AUDIT_PAGE_MAX` records at a time),
so memory stays flat however long the chain is; per page it cross-checks the journal entries the
page's recognition/reversal records vouch for. A second pass streams the journal's entry ids to
find entries no record vouches for (inserted behind the chain's back).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ordertrail.domain.audit import (
    Break,
    ChainVerifier,
    entry_digest,
    entry_subject,
)
from ordertrail.domain.ledger import JournalEntry
from ordertrail.services.audit_ports import (
    AUDIT_PAGE_MAX,
    AuditRecord,
    AuditStore,
    Checkpoint,
    SignCheckpoint,
    StoredAuditRecord,
)
from ordertrail.services.pagination import decode_cursor, page_of
from ordertrail.services.ports import Page

RECORDS_PAGE_MAX = 500
"""The most records one page of `GET /v1/audit/records` holds."""


def entry_audit_record(
    entry: JournalEntry, *, actor: str, cause: str | None, occurred_at: datetime
) -> AuditRecord:
    """The record that vouches for one journal entry: kind reversal if it reverses another.

    Its body carries the entry id and the digest of the entry and its postings, which verify
    recomputes from the stored rows, so the journal is as tamper-evident as the chain.
    """
    debit = sum(p.amount_minor for p in entry.postings if p.amount_minor > 0)
    return AuditRecord(
        kind="reversal" if entry.reverses is not None else "recognition",
        subject=entry_subject(entry.entry_id),
        actor=actor,
        cause=cause,
        body={
            "entry_id": entry.entry_id,
            "entry_kind": entry.kind,
            "contract_id": entry.contract_id,
            "obligation_id": entry.obligation_id,
            "period": entry.period,
            "reverses": entry.reverses,
            "debit_minor": debit,
            "currencies": sorted({p.currency for p in entry.postings}),
            "postings": len(entry.postings),
            "postings_digest": entry_digest(entry),
        },
        occurred_at=occurred_at,
    )


@dataclass(frozen=True, slots=True)
class TenantVerification:
    """What verifying one tenant found."""

    tenant_id: str
    records: int
    checkpoints: int
    signatures_checked: int
    entries_checked: int
    broken: int
    """How many breaks were found (only the earliest are listed in `breaks`)."""
    breaks: tuple[Break, ...]

    @property
    def ok(self) -> bool:
        return self.broken == 0

    @property
    def first(self) -> Break | None:
        return self.breaks[0] if self.breaks else None


@dataclass(frozen=True, slots=True)
class Verification:
    tenants: tuple[TenantVerification, ...]
    signed_with: str | None
    """The key id signatures were checked against, or None when no public key was given."""

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tenants)


def verify_tenant(
    *,
    store: AuditStore,
    tenant_id: str,
    public_key_raw: bytes | None,
    page_size: int = AUDIT_PAGE_MAX,
    progress: Callable[[int], None] | None = None,
) -> TenantVerification:
    """Recompute the tenant's chain, check its checkpoints and the journal it vouches for."""
    checkpoints = store.checkpoints(tenant_id=tenant_id)
    verifier = ChainVerifier(
        tenant_id=tenant_id, checkpoints=checkpoints, public_key_raw=public_key_raw
    )
    entries_checked = 0
    after = 0
    while True:
        page = store.chain(tenant_id=tenant_id, after_seq=after, limit=page_size)
        if not page:
            break
        claims = verifier.feed_page(page)
        if claims:
            verifier.check_entries(
                claims,
                store.entry_digests(tenant_id=tenant_id, entry_ids=[c.entry_id for c in claims]),
            )
            entries_checked += len(claims)
        after = page[-1].seq
        if progress is not None:
            progress(len(page))
        if len(page) < page_size:
            break
    head = store.head(tenant_id=tenant_id)
    verifier.finish(
        head_seq=None if head is None else head.seq,
        head_hash=None if head is None else head.head_hash,
    )
    last = ""
    while True:
        ids = store.journal_entry_ids(tenant_id=tenant_id, after=last, limit=page_size)
        if not ids:
            break
        audited = store.audited_entries(tenant_id=tenant_id, entry_ids=ids)
        for entry_id in ids:
            if entry_id not in audited:
                verifier.entry_not_audited(entry_id)
        last = ids[-1]
        if len(ids) < page_size:
            break
    return TenantVerification(
        tenant_id=tenant_id,
        records=verifier.records,
        checkpoints=len(checkpoints),
        signatures_checked=verifier.signatures_checked,
        entries_checked=entries_checked,
        broken=verifier.broken,
        breaks=tuple(sorted(verifier.breaks, key=Break.sort_key)),
    )


def verify(
    *,
    store: AuditStore,
    tenant_id: str | None,
    public_key_raw: bytes | None,
    key_id: str | None = None,
    page_size: int = AUDIT_PAGE_MAX,
    progress: Callable[[int], None] | None = None,
) -> Verification:
    """Verify one tenant, or every tenant with a chain or a journal."""
    tenants = [tenant_id] if tenant_id is not None else store.tenants()
    return Verification(
        tenants=tuple(
            verify_tenant(
                store=store,
                tenant_id=t,
                public_key_raw=public_key_raw,
                page_size=page_size,
                progress=progress,
            )
            for t in tenants
        ),
        signed_with=key_id if public_key_raw is not None else None,
    )


def checkpoint(
    *, store: AuditStore, tenant_id: str | None, now: datetime, sign: SignCheckpoint | None
) -> list[Checkpoint]:
    """Checkpoint the head of one tenant's chain, or of every chain that moved since its last."""
    tenants = [tenant_id] if tenant_id is not None else store.tenants()
    made = []
    for t in tenants:
        created = store.add_checkpoint(tenant_id=t, now=now, sign=sign)
        if created is not None:
            made.append(created)
    return made


def record_view(record: StoredAuditRecord) -> dict[str, Any]:
    return {
        "seq": record.seq,
        "kind": record.kind,
        "subject": record.subject,
        "actor": record.actor,
        "cause": record.cause,
        "body": json.loads(record.body_json),
        "occurred_at": record.occurred_at.isoformat(),
        "recorded_at": record.recorded_at.isoformat(),
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }


def records_page(
    *,
    store: AuditStore,
    tenant_id: str,
    subject: str | None,
    kind: str | None,
    cause: str | None,
    limit: int,
    cursor: str | None,
) -> Page:
    """One page of a tenant's records in chain order, filtered; ValueError on a bad cursor."""
    after = 0
    if cursor is not None:
        (text,) = decode_cursor(cursor, arity=1)
        if not text.isdigit():
            raise ValueError("the cursor is not one this API issued")
        after = int(text)
    rows = store.records(
        tenant_id=tenant_id,
        after_seq=after,
        limit=limit + 1,
        subject=subject,
        kind=kind,
        cause=cause,
    )
    return page_of(
        rows=rows,
        limit=limit,
        items=[record_view(r) for r in rows[:limit]],
        sort_key=lambda r: (str(r.seq),),
    )


def checkpoint_view(checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "seq": checkpoint.seq,
        "head_hash": checkpoint.head_hash,
        "created_at": checkpoint.created_at.isoformat(),
        "signature": checkpoint.signature,
        "key_id": checkpoint.key_id,
    }


def break_view(found: Break) -> dict[str, Any]:
    return {
        "seq": found.seq,
        "problem": found.problem.value,
        "detail": found.detail,
        "entry_id": found.entry_id,
    }


def verification_view(result: Verification) -> dict[str, Any]:
    """The JSON answer of `GET /v1/audit/verify` and `ordertrail audit verify --json`."""
    return {
        "ok": result.ok,
        "signatures_checked_with": result.signed_with,
        "tenants": [
            {
                "tenant_id": t.tenant_id,
                "ok": t.ok,
                "records": t.records,
                "checkpoints": t.checkpoints,
                "signatures_checked": t.signatures_checked,
                "entries_checked": t.entries_checked,
                "broken": t.broken,
                "first_break": None if t.first is None else break_view(t.first),
                "breaks": [break_view(b) for b in t.breaks],
            }
            for t in result.tenants
        ],
    }


__all__ = [
    "RECORDS_PAGE_MAX",
    "TenantVerification",
    "Verification",
    "break_view",
    "checkpoint",
    "checkpoint_view",
    "entry_audit_record",
    "entry_audit_records",
    "records_page",
    "verification_view",
    "verify",
    "verify_tenant",
]


def entry_audit_records(
    entries: Sequence[JournalEntry], *, actor: str, cause: str | None, occurred_at: datetime
) -> list[AuditRecord]:
    """One record per entry, in posting order."""
    return [
        entry_audit_record(e, actor=actor, cause=cause, occurred_at=occurred_at) for e in entries
    ]
