"""The tamper-evident audit trail's pure parts: hashing, digests, signatures and verification."""

from ordertrail.domain.audit.chain import (
    GENESIS_HASH,
    body_json,
    envelope_json,
    instant_text,
    link_hash,
    record_hash,
)
from ordertrail.domain.audit.entries import (
    ENTRY_RECORD_KINDS,
    PostingLine,
    entry_digest,
    entry_subject,
    postings_digest,
)
from ordertrail.domain.audit.signatures import checkpoint_message, key_id_of, signature_valid
from ordertrail.domain.audit.verify import (
    CHECKPOINT_KIND,
    Break,
    ChainVerifier,
    EntryClaim,
    Problem,
)

__all__ = [
    "CHECKPOINT_KIND",
    "ENTRY_RECORD_KINDS",
    "GENESIS_HASH",
    "Break",
    "ChainVerifier",
    "EntryClaim",
    "PostingLine",
    "Problem",
    "body_json",
    "checkpoint_message",
    "entry_digest",
    "entry_subject",
    "envelope_json",
    "instant_text",
    "key_id_of",
    "link_hash",
    "postings_digest",
    "record_hash",
    "signature_valid",
]
