"""Journal entry digests: how the chain vouches for the journal it sits beside.

Each posted entry gets a recognition/reversal audit record whose body carries the entry id and
this digest of the entry and its postings. Verification recomputes the digest from the stored
rows, so a changed, deleted or inserted posting (or header) is caught even by someone who
bypassed the append-only triggers, because they cannot also rewrite the chain unnoticed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from ordertrail.domain.canonical import canonical_json_of_own
from ordertrail.domain.ledger import JournalEntry

ENTRY_RECORD_KINDS = ("recognition", "reversal")
"""The audit record kinds that vouch for one journal entry each."""


def entry_subject(entry_id: str) -> str:
    return f"entry:{entry_id}"


@dataclass(frozen=True, slots=True)
class PostingLine:
    """One stored posting, in line order, as the digest covers it."""

    account: str
    amount_minor: int
    currency: str
    contract_id: str
    obligation_id: str | None
    cause_event_id: str


def postings_digest(
    *,
    entry_id: str,
    kind: str,
    contract_id: str,
    obligation_id: str | None,
    cause_event_id: str,
    occurred_on: str,
    posted_on: str,
    reverses: str | None,
    memo: str,
    postings: Sequence[PostingLine],
) -> str:
    """SHA-256 (hex) over the canonical JSON of an entry's header and its postings in order.

    Dates are ISO 8601 text ('YYYY-MM-DD'), the form both databases return a date cast to text.
    """
    document = {
        "entry_id": entry_id,
        "kind": kind,
        "contract_id": contract_id,
        "obligation_id": obligation_id,
        "cause_event_id": cause_event_id,
        "occurred_on": occurred_on,
        "posted_on": posted_on,
        "reverses": reverses,
        "memo": memo,
        "postings": [
            [
                p.account,
                p.amount_minor,
                p.currency,
                p.contract_id,
                p.obligation_id,
                p.cause_event_id,
            ]
            for p in postings
        ],
    }
    return hashlib.sha256(canonical_json_of_own(document).encode("utf-8")).hexdigest()


def entry_digest(entry: JournalEntry) -> str:
    """The digest of an entry about to be posted (equal to the one of its stored rows)."""
    return postings_digest(
        entry_id=entry.entry_id,
        kind=entry.kind,
        contract_id=entry.contract_id,
        obligation_id=entry.obligation_id,
        cause_event_id=entry.cause_event_id,
        occurred_on=entry.occurred_on.isoformat(),
        posted_on=entry.posted_on.isoformat(),
        reverses=entry.reverses,
        memo=entry.memo,
        postings=[
            PostingLine(
                account=p.account,
                amount_minor=p.amount_minor,
                currency=p.currency,
                contract_id=p.contract_id,
                obligation_id=p.obligation_id,
                cause_event_id=p.cause_event_id,
            )
            for p in entry.postings
        ],
    )
