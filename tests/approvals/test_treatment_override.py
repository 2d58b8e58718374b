"""A modification's treatment changes only through an approved `modification.treatment` request."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from ordertrail.adapters.memory.audit import MemoryAuditStore
from ordertrail.bootstrap import default_approval_kinds
from ordertrail.services.approvals import ApprovalFailed, Approvals, Party
from ordertrail.services.audit import verify
from ordertrail.services.overrides import request_treatment_change
from ordertrail.services.revenue_commands import ContractNotFound
from tests.conftest import NOW
from tests.revenue.books import ORDER, SHIPPED, Books, line, message
from tests.revenue.support import TENANT

# Added below its standalone price (1500), so the rules treat it prospectively (not a separate
# contract, ASC 606-10-25-12); the request asks for a cumulative catch-up instead.
ADDED = [*SHIPPED, line("3", "WIDGET", 1200, 1)]
ANA = Party(actor="key:ana", owner="ana")
CARL = Party(actor="key:carl", owner="carl")


def amended() -> Books:
    books = Books()
    books.handle(
        message("order.confirmed", ORDER),
        message("shipment.dispatched", SHIPPED, minutes=1),
        message("order.amended", ADDED, minutes=2, payload={"reason": "one more widget"}),
    )
    return books


def approvals_of(books: Books) -> Approvals:
    return Approvals(
        uow_factory=books.storage.uow_factory,
        registry=default_approval_kinds(),
        new_id=lambda: "req-1",
    )


def ask(books: Books, contract_id: str = "ctr-SO-1") -> str:
    with books.storage.uow_factory() as uow:
        request = request_treatment_change(
            uow=uow,
            registry=default_approval_kinds(),
            tenant_id=TENANT,
            contract_id=contract_id,
            version=2,
            treatment="cumulative_catch_up",
            reason="the added widget is part of one integrated installation",
            requester=ANA,
            now=NOW,
            request_id="req-1",
        )
        uow.commit()
    return request.request_id


def treatments(books: Books) -> list[str]:
    with books.uow() as uow:
        versions = uow.revenue.versions(tenant_id=TENANT, contract_id="ctr-SO-1")
    return [v.version.treatment for v in versions]


def test_the_treatment_changes_when_a_controller_approves_and_the_books_stay_whole() -> None:
    books = amended()
    request_id = ask(books)
    assert treatments(books) == ["inception", "prospective"]

    decided = approvals_of(books).approve(
        tenant_id=TENANT,
        request_id=request_id,
        approver=CARL,
        approver_roles=("controller",),
        now=NOW,
    )

    assert treatments(books) == ["inception", "prospective", "cumulative_catch_up"]
    assert decided.result is not None
    assert decided.result["version"] == 3
    assert isinstance(decided.result["entries"], list)
    with books.uow() as uow:
        journal = uow.ledger.entries(tenant_id=TENANT)
    totals: dict[str, int] = defaultdict(int)
    for entry in journal:
        for posting in entry.postings:
            totals[posting.currency] += posting.amount_minor
    assert all(total == 0 for total in totals.values())
    # The re-posted entries are vouched for in the chain like the handler's.
    store = MemoryAuditStore(books.storage.database.audit, books.storage.database.revenue)
    result: Any = verify(store=store, tenant_id=TENANT, public_key_raw=None)
    assert result.ok, result


def test_the_requester_cannot_approve_their_own_treatment_change() -> None:
    books = amended()
    request_id = ask(books)
    with pytest.raises(Exception, match="someone other than its requester"):
        approvals_of(books).approve(
            tenant_id=TENANT,
            request_id=request_id,
            approver=Party(actor="key:ana-laptop", owner="Ana"),
            approver_roles=("controller",),
            now=NOW,
        )
    assert treatments(books) == ["inception", "prospective"]


def test_a_change_the_books_outgrew_fails_on_approval_and_changes_nothing() -> None:
    books = amended()
    request_id = ask(books)
    books.handle(message("invoice.issued", ADDED, minutes=3, payload={"amount_minor": 1000}))
    with pytest.raises(ApprovalFailed, match="moved since"):
        approvals_of(books).approve(
            tenant_id=TENANT,
            request_id=request_id,
            approver=CARL,
            approver_roles=("controller",),
            now=NOW,
        )
    assert treatments(books) == ["inception", "prospective"]
    failed = approvals_of(books).get(tenant_id=TENANT, request_id=request_id)
    assert failed.status == "failed"


def test_a_request_for_an_unknown_contract_is_refused_at_once() -> None:
    with pytest.raises(ContractNotFound):
        ask(amended(), contract_id="ctr-nope")
