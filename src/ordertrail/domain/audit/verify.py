"""Verification of one tenant's chain, fed record by record so it streams over any length.

The verifier recomputes each hash, checks each link to the previous record and the gapless
sequence, compares checkpoints (and their signatures) with the chain, and checks the journal
digests it is handed. It keeps every break it finds (up to a bound) and names the first one:
the lowest seq, so an auditor starts from the earliest point where the history stops being
provable. Everything after a break is still checked against its own stored predecessor, so one
tampered record does not hide a second.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

import orjson

from ordertrail.domain.audit.chain import GENESIS_HASH, instant_text, link_hash
from ordertrail.domain.audit.entries import ENTRY_RECORD_KINDS
from ordertrail.domain.audit.signatures import checkpoint_message, key_id_of, signature_valid

BREAKS_KEPT = 100
"""How many breaks a report lists; the first is always among them."""

CHECKPOINT_KIND = "checkpoint"
"""The kind of the chain record that vouches for a checkpoint row."""

_LOOKED_AT = frozenset((CHECKPOINT_KIND, *ENTRY_RECORD_KINDS))
"""Kinds whose body the verifier reads, so `feed_page` sends them through `feed`."""


class Problem(StrEnum):
    HASH_MISMATCH = "hash mismatch"
    PREV_LINK_BROKEN = "prev link broken"
    SEQ_GAP = "gap in seq"
    HEAD_MISMATCH = "head mismatch"
    CHECKPOINT_MISMATCH = "checkpoint mismatch"
    BAD_SIGNATURE = "bad signature"
    ENTRY_DIGEST_MISMATCH = "journal entry digest mismatch"
    ENTRY_MISSING = "journal entry missing"
    ENTRY_NOT_AUDITED = "journal entry not audited"


@dataclass(frozen=True, slots=True)
class Break:
    """One broken link: where (seq, and the journal entry if any) and what is wrong."""

    tenant_id: str
    seq: int | None
    problem: Problem
    detail: str
    entry_id: str | None = None

    def sort_key(self) -> tuple[int, str]:
        # Entries with no record at all have no seq: they come after every chain break.
        return (self.seq if self.seq is not None else 2**62, self.entry_id or "")


class Link(Protocol):
    """A stored record as the verifier reads it (services' ChainLink satisfies this)."""

    @property
    def seq(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def cause(self) -> str | None: ...
    @property
    def body_json(self) -> str: ...
    @property
    def occurred_text(self) -> str:
        """occurred_at in its hashed form (`instant_text`)."""
        ...

    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...


class CheckpointLike(Protocol):
    @property
    def seq(self) -> int: ...
    @property
    def head_hash(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def signature(self) -> str | None: ...
    @property
    def key_id(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class EntryClaim:
    """What a recognition/reversal record says about its journal entry."""

    seq: int
    entry_id: str
    digest: str


@dataclass(slots=True)
class ChainVerifier:
    """Verify one tenant's chain: `feed` every record in seq order, then `finish`."""

    tenant_id: str
    checkpoints: Sequence[CheckpointLike] = ()
    public_key_raw: bytes | None = None
    breaks: list[Break] = field(default_factory=list)
    records: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    signatures_checked: int = 0
    _break_count: int = 0
    _by_seq: dict[int, CheckpointLike] = field(default_factory=dict)
    _vouched: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._by_seq = {c.seq: c for c in self.checkpoints}
        for checkpoint in self.checkpoints:
            self._check_signature(checkpoint)

    @property
    def broken(self) -> int:
        return self._break_count

    def first_break(self) -> Break | None:
        return min(self.breaks, key=Break.sort_key, default=None)

    def add(self, found: Break) -> None:
        self._break_count += 1
        self.breaks.append(found)
        if len(self.breaks) > BREAKS_KEPT:
            # Keep the earliest ones: the first break must never be dropped.
            self.breaks.sort(key=Break.sort_key)
            del self.breaks[BREAKS_KEPT:]

    def _break(
        self, seq: int | None, problem: Problem, detail: str, entry: str | None = None
    ) -> None:
        self.add(Break(self.tenant_id, seq, problem, detail, entry))

    def feed(self, link: Link) -> EntryClaim | None:
        """Check one record against its predecessor; return its journal claim, if it makes one."""
        expected = self.last_seq + 1
        if link.seq != expected:
            self._break(
                expected,
                Problem.SEQ_GAP,
                f"expected seq {expected}, found {link.seq}: records are missing or reordered",
            )
        elif link.prev_hash != self.last_hash:
            self._break(
                link.seq,
                Problem.PREV_LINK_BROKEN,
                f"prev_hash {link.prev_hash[:12]}… does not match the hash "
                f"{self.last_hash[:12]}… of seq {self.last_seq}",
            )
        computed = link_hash(
            tenant_id=self.tenant_id,
            seq=link.seq,
            kind=link.kind,
            subject=link.subject,
            actor=link.actor,
            cause=link.cause,
            body_text=link.body_json,
            occurred_text=link.occurred_text,
            prev_hash=link.prev_hash,
        )
        if computed != link.hash:
            self._break(
                link.seq,
                Problem.HASH_MISMATCH,
                f"stored hash {link.hash[:12]}… but the record hashes to {computed[:12]}…",
            )
        checkpoint = self._by_seq.get(link.seq)
        if checkpoint is not None and checkpoint.head_hash != link.hash:
            self._break(
                link.seq,
                Problem.CHECKPOINT_MISMATCH,
                f"the checkpoint of seq {link.seq} recorded head {checkpoint.head_hash[:12]}… "
                f"but the chain has {link.hash[:12]}…",
            )
        self.records += 1
        self.last_seq = link.seq
        self.last_hash = link.hash
        if link.kind == CHECKPOINT_KIND:
            self._vouch(link)
            return None
        if link.kind in ENTRY_RECORD_KINDS:
            return self._claim(link)
        return None

    def feed_page(self, links: Sequence[Link]) -> list[EntryClaim]:
        """`feed` every link of a page, in order; return the journal claims they make.

        The common link (the next seq, linked to the last hash, no checkpoint or entry to look
        at) is hashed inline, sparing two calls per record; anything else, and any link whose
        inline hash differs, goes through `feed`. The inline path can only skip `feed` when its
        hash equals the stored one, so it never hides a break.
        """
        claims: list[EntryClaim] = []
        tenant = self.tenant_id
        checkpoints = self._by_seq
        dumps, fragment, option = orjson.dumps, orjson.Fragment, orjson.OPT_SORT_KEYS
        sha256 = hashlib.sha256
        for link in links:
            seq, kind = link.seq, link.kind
            if (
                seq != self.last_seq + 1
                or link.prev_hash != self.last_hash
                or kind in _LOOKED_AT
                or seq in checkpoints
            ):
                claim = self.feed(link)
                if claim is not None:
                    claims.append(claim)
                continue
            computed = sha256(
                dumps(
                    {
                        "actor": link.actor,
                        "body": fragment(link.body_json),
                        "cause": link.cause,
                        "kind": kind,
                        "occurred_at": link.occurred_text,
                        "prev_hash": link.prev_hash,
                        "seq": seq,
                        "subject": link.subject,
                        "tenant": tenant,
                    },
                    option=option,
                )
            ).hexdigest()
            if computed != link.hash:
                self.feed(link)
                continue
            self.records += 1
            self.last_seq = seq
            self.last_hash = computed
        return claims

    def _body(self, link: Link) -> Mapping[str, object] | None:
        try:
            body = json.loads(link.body_json)
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _claim(self, link: Link) -> EntryClaim | None:
        body = self._body(link)
        entry_id = None if body is None else body.get("entry_id")
        digest = None if body is None else body.get("postings_digest")
        if not isinstance(entry_id, str) or not isinstance(digest, str):
            return None
        return EntryClaim(seq=link.seq, entry_id=entry_id, digest=digest)

    def _vouch(self, link: Link) -> None:
        body = self._body(link) or {}
        seq = body.get("seq")
        checkpoint = self._by_seq.get(seq) if isinstance(seq, int) else None
        if checkpoint is None or not isinstance(seq, int):
            self._break(
                seq if isinstance(seq, int) else link.seq,
                Problem.CHECKPOINT_MISMATCH,
                f"chain record {link.seq} vouches for a checkpoint of seq {seq} that is not stored",
            )
            return
        self._vouched.add(seq)
        stored = {
            "seq": checkpoint.seq,
            "head_hash": checkpoint.head_hash,
            "created_at": instant_text(checkpoint.created_at),
            "signature": checkpoint.signature,
            "key_id": checkpoint.key_id,
        }
        if stored != body:
            self._break(
                seq,
                Problem.CHECKPOINT_MISMATCH,
                f"the stored checkpoint of seq {seq} differs from what chain record "
                f"{link.seq} recorded",
            )

    def _check_signature(self, checkpoint: CheckpointLike) -> None:
        if checkpoint.signature is None or self.public_key_raw is None:
            return
        self.signatures_checked += 1
        message = checkpoint_message(
            tenant_id=self.tenant_id,
            seq=checkpoint.seq,
            head_hash=checkpoint.head_hash,
            created_at=checkpoint.created_at,
        )
        own_id = key_id_of(self.public_key_raw)
        if checkpoint.key_id != own_id:
            self._break(
                checkpoint.seq,
                Problem.BAD_SIGNATURE,
                f"checkpoint of seq {checkpoint.seq} is signed by key {checkpoint.key_id}, "
                f"not by the published key {own_id}",
            )
        elif not signature_valid(
            public_key_raw=self.public_key_raw,
            message=message,
            signature_b64=checkpoint.signature,
        ):
            self._break(
                checkpoint.seq,
                Problem.BAD_SIGNATURE,
                f"the signature of the checkpoint of seq {checkpoint.seq} does not verify",
            )

    def check_entries(self, claims: Sequence[EntryClaim], stored: Mapping[str, str]) -> None:
        """Compare each record's entry digest with the digest of the stored entry."""
        for claim in claims:
            digest = stored.get(claim.entry_id)
            if digest is None:
                self._break(
                    claim.seq,
                    Problem.ENTRY_MISSING,
                    f"journal entry {claim.entry_id} recorded at seq {claim.seq} is not stored",
                    claim.entry_id,
                )
            elif digest != claim.digest:
                self._break(
                    claim.seq,
                    Problem.ENTRY_DIGEST_MISMATCH,
                    f"journal entry {claim.entry_id} or its postings changed since seq "
                    f"{claim.seq} recorded them",
                    claim.entry_id,
                )

    def entry_not_audited(self, entry_id: str) -> None:
        self._break(
            None,
            Problem.ENTRY_NOT_AUDITED,
            f"journal entry {entry_id} has no recognition/reversal audit record",
            entry_id,
        )

    def finish(self, *, head_seq: int | None, head_hash: str | None) -> None:
        """Compare the end of the chain with its head row and with every checkpoint."""
        end = self.last_seq
        if head_seq is not None and head_hash is not None:
            if head_seq > end:
                self._break(
                    end + 1,
                    Problem.SEQ_GAP,
                    f"the chain ends at seq {end} but its head is at seq {head_seq}: "
                    "records were deleted",
                )
            elif head_seq < end:
                self._break(
                    head_seq + 1,
                    Problem.HEAD_MISMATCH,
                    f"records after the head (seq {head_seq}) up to seq {end} were inserted",
                )
            elif head_hash != self.last_hash:
                self._break(
                    end,
                    Problem.HEAD_MISMATCH,
                    f"the head records hash {head_hash[:12]}… for seq {end}, the chain has "
                    f"{self.last_hash[:12]}…",
                )
        for checkpoint in self.checkpoints:
            if checkpoint.seq > end:
                self._break(
                    end + 1,
                    Problem.SEQ_GAP,
                    f"a checkpoint covers seq {checkpoint.seq} but the chain ends at seq {end}: "
                    "records were deleted",
                )
            elif checkpoint.seq not in self._vouched:
                # A checkpoint's own record is appended right after the head it fixes, so the
                # record at seq + 1 is where the chain should vouch for it.
                self._break(
                    checkpoint.seq + 1,
                    Problem.CHECKPOINT_MISMATCH,
                    f"no chain record vouches for the checkpoint of seq {checkpoint.seq} "
                    f"(seq {checkpoint.seq + 1} should)",
                )
