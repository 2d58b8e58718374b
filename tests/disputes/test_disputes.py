"""Disputes over in-memory storage: holds on opening, reversal when upheld, reinstatement when
rejected with enough evidence (and a second person when the reason wants one)."""

from __future__ import annotations

import hashlib

import pytest

from ordertrail.domain.disputes import (
    DisputeAlreadyResolved,
    DisputeAmountInvalid,
    DisputeEvidenceInsufficient,
    DisputeNothingToReverse,
    DisputeSignerRoleMissing,
    EvidenceCorrupt,
    EvidenceTooLarge,
)
from ordertrail.services.approvals import SelfApproval
from ordertrail.services.dispute_ports import Dispute
from tests.conftest import NOW
from tests.disputes.support import ACCOUNTANT, CONTROLLER, SHIPPED, DisputeBooks, party
from tests.revenue.books import message
from tests.revenue.support import TENANT


def _open(
    books: DisputeBooks,
    *,
    order: str = "SO-1",
    reason: str = "damaged",
    lines: tuple[str, ...] = ("1",),
    ref: str | None = "CS-1",
) -> Dispute:
    dispute, _ = books.disputes.open(
        tenant_id=TENANT,
        order_id=order,
        line_ids=lines,
        reason_code=reason,
        description="arrived broken",
        external_ref=ref,
        channel="api",
        actor="key:portal",
        now=NOW,
    )
    return dispute


def _attach(books: DisputeBooks, dispute: Dispute, kind: str, content: bytes = b"%PDF-1") -> None:
    books.disputes.attach(
        tenant_id=TENANT,
        dispute_id=dispute.dispute_id,
        kind=kind,
        filename=f"{kind}.pdf",
        media_type="application/pdf",
        content=content,
        note="",
        actor="key:cs",
        now=NOW,
    )


def _resolve(
    books: DisputeBooks,
    dispute: Dispute,
    outcome: str,
    *,
    roles: tuple[str, ...] = CONTROLLER,
    amount: int | None = None,
    actor: str = "key:ctl",
) -> Dispute:
    return books.disputes.resolve(
        tenant_id=TENANT,
        dispute_id=dispute.dispute_id,
        outcome=outcome,
        amount_minor=amount,
        treatment="price_concession",
        note="decided",
        decider=party(actor),
        decider_roles=roles,
        now=NOW,
    ).dispute


def _shipped_free() -> int:
    """Revenue the same order recognizes on shipment with no dispute at all."""
    free = DisputeBooks()
    free.confirmed_and_billed()
    free.handle(message("shipment.dispatched", SHIPPED, minutes=2))
    return free.revenue_minor()


def test_opening_a_dispute_holds_its_line_so_nothing_is_recognized_on_shipment(
    books: DisputeBooks,
) -> None:
    books.confirmed_and_billed()
    dispute = _open(books)
    books.handle(message("shipment.dispatched", SHIPPED, minutes=2))
    assert books.open_holds() == 1
    assert len(dispute.hold_ids) == 1
    assert books.revenue_minor() == 0
    assert {d.outcome for d in books.decisions("1/unit")} == {"held"}
    assert "dispute.opened" in books.audit_kinds()


def test_a_dispute_with_no_lines_holds_the_whole_order(books: DisputeBooks) -> None:
    books.confirmed_and_billed()
    dispute = _open(books, lines=())
    with books.cuow() as uow:
        hold = uow.controls.hold(tenant_id=TENANT, hold_id=dispute.hold_ids[0])
    assert hold is not None
    assert (hold.scope, hold.source, hold.source_ref) == ("order", "dispute", dispute.dispute_id)


def test_the_same_external_reference_opens_one_dispute(books: DisputeBooks) -> None:
    books.confirmed_and_billed()
    first = _open(books)
    again = _open(books)
    assert again.dispute_id == first.dispute_id
    assert books.open_holds() == 1
    assert books.audit_kinds().count("dispute.opened") == 1


def test_upheld_reverses_the_amount_with_balanced_entries_then_releases_the_holds(
    books: DisputeBooks,
) -> None:
    free = _shipped_free()
    books.confirmed_and_billed()
    dispute = _open(books)
    books.handle(message("shipment.dispatched", SHIPPED, minutes=2))
    before = {e.entry_id for e in books.entries()}
    resolved = _resolve(books, dispute, "upheld", amount=1000)
    assert resolved.status == "upheld"
    assert resolved.resolution is not None
    entry_ids = set(resolved.resolution.entry_ids)
    new = [e for e in books.entries() if e.entry_id in entry_ids]
    assert entry_ids
    assert entry_ids.isdisjoint(before)
    assert len(new) == len(entry_ids)
    assert all(sum(p.amount_minor for p in e.postings) == 0 for e in new)
    assert {e.cause_event_id for e in new} == {f"dispute:{dispute.dispute_id}:upheld"}
    assert books.open_holds() == 0
    # The held shipment is recognized once released, at the price lowered by the concession.
    assert books.revenue_minor() == free - 1000
    assert books.audit_kinds()[-1] == "dispute.upheld"


def test_upheld_refuses_more_than_was_billed_or_nothing_billed(books: DisputeBooks) -> None:
    books.confirmed_and_billed(amount_minor=500)
    dispute = _open(books)
    with pytest.raises(DisputeAmountInvalid, match="exceeds 500"):
        _resolve(books, dispute, "upheld", amount=501)
    with pytest.raises(DisputeAmountInvalid):
        _resolve(books, dispute, "upheld", amount=None)
    with pytest.raises(DisputeNothingToReverse):
        _resolve(books, _open(books, order="SO-2", lines=(), ref=None), "upheld", amount=100)
    assert books.open_holds() == 1


def test_rejecting_without_the_reasons_evidence_is_refused_and_keeps_the_hold(
    books: DisputeBooks,
) -> None:
    books.confirmed_and_billed()
    dispute = _open(books, reason="damaged")
    _attach(books, dispute, "delivery_proof")
    with pytest.raises(DisputeEvidenceInsufficient, match="customer_acceptance") as refused:
        _resolve(books, dispute, "rejected")
    assert refused.value.code == "dispute_evidence_insufficient"
    assert books.open_holds() == 1


def test_rejecting_needs_the_reasons_signer_role(books: DisputeBooks) -> None:
    books.confirmed_and_billed()
    dispute = _open(books, reason="not_delivered")
    _attach(books, dispute, "delivery_proof")
    with pytest.raises(DisputeSignerRoleMissing):
        _resolve(books, dispute, "rejected", roles=ACCOUNTANT)


def test_rejecting_with_the_evidence_reinstates_and_recognizes_what_was_held(
    books: DisputeBooks,
) -> None:
    free = _shipped_free()
    books.confirmed_and_billed()
    dispute = _open(books, reason="damaged")
    books.handle(message("shipment.dispatched", SHIPPED, minutes=2))
    assert books.revenue_minor() == 0
    _attach(books, dispute, "delivery_proof")
    _attach(books, dispute, "customer_acceptance")
    resolved = _resolve(books, dispute, "rejected")
    assert resolved.status == "rejected"
    assert resolved.resolution is not None
    assert resolved.resolution.decided_by == "key:ctl"
    assert books.open_holds() == 0
    assert books.revenue_minor() == free > 0
    assert books.audit_kinds()[-1] == "dispute.rejected"
    with pytest.raises(DisputeAlreadyResolved):
        _resolve(books, dispute, "upheld", amount=10)


def test_a_legal_dispute_is_reinstated_only_when_a_second_person_approves(
    books: DisputeBooks,
) -> None:
    free = _shipped_free()
    books.confirmed_and_billed()
    dispute = _open(books, reason="legal")
    books.handle(message("shipment.dispatched", SHIPPED, minutes=2))
    _attach(books, dispute, "legal_signoff")
    filed = books.disputes.resolve(
        tenant_id=TENANT,
        dispute_id=dispute.dispute_id,
        outcome="rejected",
        amount_minor=None,
        treatment="price_concession",
        note="claim withdrawn",
        decider=party("key:ctl-1", "ann"),
        decider_roles=CONTROLLER,
        now=NOW,
    )
    assert filed.request is not None
    assert filed.request.kind == "dispute.reinstate"
    assert (filed.dispute.status, books.open_holds(), books.revenue_minor()) == ("open", 1, 0)
    with pytest.raises(SelfApproval):
        books.approvals.approve(
            tenant_id=TENANT,
            request_id=filed.request.request_id,
            approver=party("key:ctl-2", "ann"),
            approver_roles=CONTROLLER,
            now=NOW,
        )
    books.approvals.approve(
        tenant_id=TENANT,
        request_id=filed.request.request_id,
        approver=party("key:ctl-2", "bob"),
        approver_roles=CONTROLLER,
        now=NOW,
    )
    resolved, _ = books.disputes.get(tenant_id=TENANT, dispute_id=dispute.dispute_id)
    assert resolved.status == "rejected"
    assert resolved.resolution is not None
    assert (resolved.resolution.decided_by, resolved.resolution.requested_by) == (
        "key:ctl-2",
        "key:ctl-1",
    )
    assert resolved.resolution.approval_id == filed.request.request_id
    assert books.revenue_minor() == free


def test_evidence_is_stored_with_its_hash_and_a_tampered_document_is_refused() -> None:
    books = DisputeBooks()
    books.confirmed_and_billed()
    dispute = _open(books)
    _attach(books, dispute, "delivery_proof", b"signed POD")
    _, evidence = books.disputes.get(tenant_id=TENANT, dispute_id=dispute.dispute_id)
    (item,) = evidence
    assert item.sha256 == hashlib.sha256(b"signed POD").hexdigest()
    found, content = books.disputes.document(
        tenant_id=TENANT, dispute_id=dispute.dispute_id, evidence_id=item.evidence_id
    )
    assert (content, found.size_bytes) == (b"signed POD", 10)
    tables = books.storage.database.disputes
    key = (TENANT, item.evidence_id)
    tables.evidence[key] = (tables.evidence[key][0], b"forged POD")
    with pytest.raises(EvidenceCorrupt):
        books.disputes.document(
            tenant_id=TENANT, dispute_id=dispute.dispute_id, evidence_id=item.evidence_id
        )
    with pytest.raises(EvidenceTooLarge):
        _attach(books, dispute, "other", b"x" * (5 * 1024 * 1024 + 1))
