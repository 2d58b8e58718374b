"""Changing a modification's treatment on request: recorded as a new version, entries reversed
and re-posted, refused once the contract has moved on."""

from __future__ import annotations

from collections import defaultdict

import pytest

from ordertrail.services.revenue_commands import TreatmentNotChangeable, change_treatment
from tests.conftest import NOW
from tests.revenue.books import ORDER, SHIPPED, Books, line, message
from tests.revenue.support import TENANT

# Added below its standalone price (1500), so not a separate contract (606-10-25-12): the
# rules treat it prospectively, the remaining goods being distinct.
ADDED = [*SHIPPED, line("3", "WIDGET", 1200, 1)]


def amended() -> Books:
    books = Books()
    books.handle(
        message("order.confirmed", ORDER),
        message("shipment.dispatched", SHIPPED, minutes=1),
        message("order.amended", ADDED, minutes=2, payload={"reason": "one more widget"}),
    )
    return books


def retreat(books: Books, version: int) -> None:
    change_treatment(
        uow_factory=books.uow,
        tenant_id=TENANT,
        contract_id="ctr-SO-1",
        version=version,
        treatment="cumulative_catch_up",
        reason="the added widget is part of one integrated installation",
        now=NOW,
    )


def test_a_requested_treatment_becomes_a_new_version_and_the_books_stay_whole() -> None:
    books = amended()
    with books.uow() as uow:
        [_, by_rule] = uow.revenue.versions(tenant_id=TENANT, contract_id="ctr-SO-1")
    assert by_rule.version.treatment == "prospective"

    retreat(books, 2)

    with books.uow() as uow:
        versions = uow.revenue.versions(tenant_id=TENANT, contract_id="ctr-SO-1")
        stored = uow.revenue.load(tenant_id=TENANT, contract_id="ctr-SO-1")
        journal = uow.ledger.entries(tenant_id=TENANT)
    assert [v.version.treatment for v in versions] == [
        "inception",
        "prospective",
        "cumulative_catch_up",
    ]
    assert versions[2].decision is not None
    assert versions[2].decision.overridden
    assert versions[2].decision.rule_treatment == "prospective"
    assert stored is not None
    assert stored.state.line("3") is not None
    totals: dict[str, int] = defaultdict(int)
    for entry in journal:
        for posting in entry.postings:
            totals[posting.currency] += posting.amount_minor
    assert set(totals.values()) == {0}
    for ob in stored.state.obligations:
        assert ob.unrecognized_minor >= 0
        whole = ob.posted.revenue + ob.posted.refund_liability + ob.returned_minor
        assert whole + ob.unrecognized_minor == ob.allocated_minor


def test_only_the_latest_modification_can_be_re_treated_and_only_until_something_moves() -> None:
    books = amended()
    with pytest.raises(TreatmentNotChangeable, match="no modification"):
        retreat(books, 1)
    books.handle(message("invoice.issued", ADDED, minutes=3, payload={"amount_minor": 1000}))
    with pytest.raises(TreatmentNotChangeable, match="moved since"):
        retreat(books, 2)


def test_restated_lines_plus_one_added_at_ssp_make_a_separate_contract() -> None:
    """A feed sends the whole amended order; the lines it only restates are not changes, so a
    distinct widget added at its standalone price is a separate contract (606-10-25-12)."""
    books = Books()
    books.handle(
        message("order.confirmed", ORDER),
        message("shipment.dispatched", SHIPPED, minutes=1),
        message(
            "order.amended",
            [*SHIPPED, line("3", "WIDGET", 1500, 1)],
            minutes=2,
            payload={"reason": "one more widget"},
        ),
    )
    with books.uow() as uow:
        versions = uow.revenue.versions(tenant_id=TENANT, contract_id="ctr-SO-1")
    assert [v.version.treatment for v in versions] == ["inception", "separate_contract"]
    assert versions[1].decision is not None
    assert versions[1].decision.treatment == "separate_contract"
    assert versions[1].version.related_contract_id is not None
