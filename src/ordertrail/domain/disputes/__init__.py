"""Disputes: what a dispute is, its reasons' evidence thresholds, and the webhook signature.

Pure rules only (no clock, no storage): the service passes `now` and the stored rows in.
A dispute on an order (or some of its lines) holds their revenue until it is resolved: upheld
(revenue on the disputed lines is reversed by a credit note) or rejected (the holds are released
once the evidence its reason requires is attached and the right person signs).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

EvidenceKind = Literal[
    "delivery_proof", "customer_acceptance", "legal_signoff", "correspondence", "other"
]
EVIDENCE_KINDS: tuple[str, ...] = get_args(EvidenceKind)
Outcome = Literal["upheld", "rejected"]
Treatment = Literal["price_concession", "refund"]
TREATMENTS: tuple[str, ...] = get_args(Treatment)

EVIDENCE_BYTES_MAX = 5 * 1024 * 1024
"""The largest document one piece of evidence may carry (5 MiB): a scan or a PDF, not a video."""
EVIDENCE_PER_DISPUTE_MAX = 50
LINES_MAX = 200
TEXT_MAX = 2_000
SIGNATURE_TOLERANCE_S = 300
"""A webhook's timestamp may be at most 5 minutes from our clock, either way (replay window)."""


class DisputeError(Exception):
    """A dispute operation could not be done; `code` is the API's machine-readable refusal."""

    code = "invalid_dispute"
    status = 422


class InvalidDispute(DisputeError):
    pass


class DisputeNotFound(DisputeError):
    code = "dispute_not_found"
    status = 404


class DisputeReasonUnknown(DisputeError):
    code = "dispute_reason_unknown"


class DisputeAlreadyResolved(DisputeError):
    code = "dispute_already_resolved"
    status = 409


class DisputeEvidenceInsufficient(DisputeError):
    code = "dispute_evidence_insufficient"
    status = 409


class DisputeSignerRoleMissing(DisputeError):
    code = "dispute_signer_role_missing"
    status = 403


class DisputeReinstatementPending(DisputeError):
    code = "dispute_reinstatement_pending"
    status = 409


class DisputeAmountInvalid(DisputeError):
    """The reversal's amount is missing, not positive, or more than the disputed lines carry."""

    code = "dispute_amount_invalid"


class DisputeNothingToReverse(DisputeError):
    code = "dispute_nothing_to_reverse"
    status = 409


class EvidenceNotFound(DisputeError):
    code = "dispute_evidence_not_found"
    status = 404


class EvidenceInvalid(DisputeError):
    code = "dispute_evidence_invalid"


class EvidenceTooLarge(DisputeError):
    code = "dispute_evidence_too_large"
    status = 413


class EvidenceCorrupt(DisputeError):
    """A stored document no longer matches the hash taken when it was attached."""

    code = "dispute_evidence_corrupt"
    status = 500


class WebhookNotConfigured(DisputeError):
    code = "dispute_webhook_not_configured"
    status = 401


class SignatureInvalid(DisputeError):
    code = "dispute_signature_invalid"
    status = 401


@dataclass(frozen=True, slots=True)
class DisputeReason:
    """A reason code a dispute may give, and what a rejection of such a dispute needs.

    `required_evidence`: the evidence kinds that must all be attached before reinstatement;
    `signer_role`: the role the person rejecting must hold; `second_approval`: the rejection is
    a `dispute.reinstate` request another person approves (services/approvals.py).
    """

    code: str
    description: str
    required_evidence: tuple[str, ...] = ()
    signer_role: str = "controller"
    second_approval: bool = False
    active: bool = True


DEFAULT_REASONS: tuple[DisputeReason, ...] = (
    DisputeReason(
        "not_delivered",  # the reason code
        description="The customer says the goods never arrived.",
        required_evidence=("delivery_proof",),
    ),
    DisputeReason(
        "damaged",  # the reason code
        description="The goods arrived damaged.",
        required_evidence=("delivery_proof", "customer_acceptance"),
    ),
    DisputeReason(
        "not_as_described",  # the reason code
        description="The goods or service differ from what was ordered.",
        required_evidence=("customer_acceptance",),
    ),
    DisputeReason(
        "pricing",  # the reason code
        description="The customer disputes the price billed.",
        required_evidence=("correspondence",),
    ),
    DisputeReason(
        "legal",  # the reason code
        description="A legal claim: rejected only with a legal sign-off and a second approver.",
        required_evidence=("legal_signoff",),
        second_approval=True,
    ),
)
"""The reasons a tenant has until it configures its own (`ordertrail disputes reasons set`)."""


def reason_of(reasons: Sequence[DisputeReason], code: str) -> DisputeReason:
    for reason in reasons:
        if reason.code == code and reason.active:
            return reason
    known = ", ".join(r.code for r in reasons if r.active) or "(none)"
    raise DisputeReasonUnknown(f"unknown dispute reason {code!r}; choose from {known}")


def check_reason(reason: DisputeReason, *, roles: Sequence[str]) -> None:
    """Refuse a reason definition naming unknown evidence kinds or an unknown signer role."""
    unknown = sorted(set(reason.required_evidence) - set(EVIDENCE_KINDS))
    if unknown:
        raise InvalidDispute(
            f"unknown evidence kind(s) {', '.join(unknown)}; "
            f"choose from {', '.join(EVIDENCE_KINDS)}"
        )
    if reason.signer_role not in roles:
        raise InvalidDispute(f"signer role must be one of {', '.join(roles)}")
    if not reason.code or len(reason.code) > 48 or not reason.code.replace("_", "").isalnum():
        raise InvalidDispute("a reason code is 1 to 48 letters, digits or underscores")


@dataclass(frozen=True, slots=True)
class Threshold:
    """Whether a rejection may reinstate: what is missing, and what it needs besides."""

    missing_evidence: tuple[str, ...]
    signer_role: str
    second_approval: bool

    @property
    def evidence_met(self) -> bool:
        return not self.missing_evidence


def threshold(reason: DisputeReason, *, attached: Sequence[str]) -> Threshold:
    have = set(attached)
    return Threshold(
        missing_evidence=tuple(k for k in reason.required_evidence if k not in have),
        signer_role=reason.signer_role,
        second_approval=reason.second_approval,
    )


def require_threshold(
    reason: DisputeReason, *, attached: Sequence[str], decider_roles: Sequence[str]
) -> Threshold:
    """Refuse a rejection that lacks evidence or whose decider lacks the signer role."""
    found = threshold(reason, attached=attached)
    if not found.evidence_met:
        raise DisputeEvidenceInsufficient(
            f"rejecting a {reason.code!r} dispute needs evidence of kind(s) "
            f"{', '.join(found.missing_evidence)} attached first"
        )
    if reason.signer_role not in decider_roles:
        raise DisputeSignerRoleMissing(
            f"rejecting a {reason.code!r} dispute must be signed by the {reason.signer_role} role"
        )
    return found


# ---- the service desk webhook's signature --------------------------------------------------

SIGNATURE_HEADER = "x-ordertrail-signature"
TIMESTAMP_HEADER = "x-ordertrail-timestamp"


def signature_of(*, secret: str, timestamp: str, body: bytes) -> str:
    """`v1=` + hex HMAC-SHA256 over `<timestamp>.<raw body>` with the tenant's secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify_signature(
    *, secret: str | None, headers: Mapping[str, str], body: bytes, now: datetime
) -> None:
    """Accept only a body signed with the secret within the tolerance; fail closed otherwise."""
    if not secret:
        raise WebhookNotConfigured("no dispute webhook secret is configured for this endpoint")
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    received = headers.get(SIGNATURE_HEADER, "")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureInvalid(f"the {TIMESTAMP_HEADER} header must be Unix seconds")
    if abs(int(now.timestamp()) - int(timestamp)) > SIGNATURE_TOLERANCE_S:
        raise SignatureInvalid(
            f"the timestamp is more than {SIGNATURE_TOLERANCE_S} s from now: sign it again"
        )
    expected = signature_of(secret=secret, timestamp=timestamp, body=body)
    if not hmac.compare_digest(received.strip().encode(), expected.encode()):
        raise SignatureInvalid(f"the {SIGNATURE_HEADER} header does not match the body")


@dataclass(frozen=True, slots=True)
class Resolution:
    """How a dispute ended, who decided, and what was posted (kept as the dispute's record)."""

    outcome: Outcome
    decided_by: str
    note: str
    amount_minor: int | None = None
    treatment: str | None = None
    entry_ids: tuple[str, ...] = ()
    requested_by: str | None = None
    approval_id: str | None = None
