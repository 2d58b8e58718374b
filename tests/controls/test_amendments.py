"""Amendments above the impact threshold wait for a second person's approval, then post."""

from __future__ import annotations

import pytest

from ordertrail.bootstrap import default_approval_kinds
from ordertrail.domain.controls.amendments import AmendmentThreshold, InvalidThreshold
from ordertrail.services.amendments import set_threshold
from ordertrail.services.approvals import Party, approve
from tests.conftest import NOW
from tests.controls.support import Controls
from tests.revenue.books import ORDER, SHIPPED, line, message
from tests.revenue.support import TENANT

BIG = [*SHIPPED, line("3", "WIDGET", 1500, 10)]
SMALL = [*SHIPPED, line("3", "WIDGET", 1500, 1)]


def _books(threshold: AmendmentThreshold) -> Controls:
    books = Controls()
    with books.cuow() as uow:
        set_threshold(uow=uow, tenant_id=TENANT, threshold=threshold, actor="key:c", now=NOW)
        uow.commit()
    books.handle(message("order.confirmed", ORDER), message("shipment.dispatched", SHIPPED))
    return books


def _versions(books: Controls) -> int:
    return len(books.contract().state.versions)


def test_an_amendment_above_the_threshold_is_parked_until_approved() -> None:
    books = _books(AmendmentThreshold(currency="USD", absolute_minor=10_000))
    amended = message("order.amended", BIG, minutes=2, payload={"reason": "ten more"})
    books.handle(amended, amended)
    assert _versions(books) == 1
    assert books.audit_kinds().count("amendment.held") == 1
    with books.cuow() as uow:
        parked = uow.controls.parked(tenant_id=TENANT, event_id=amended.message_id.split("/")[1])
    assert parked is not None
    assert parked.impact_minor == 15_000
    with books.cuow() as uow:
        approve(
            uow=uow,  # type: ignore[arg-type]
            registry=default_approval_kinds(),
            tenant_id=TENANT,
            request_id=parked.request_id,
            approver=Party(actor="key:controller"),
            approver_roles=("controller",),
            now=NOW,
        )
        uow.commit()
    assert _versions(books) == 2
    assert "amendment.posted" in books.audit_kinds()


def test_an_amendment_below_the_threshold_posts_at_once() -> None:
    books = _books(AmendmentThreshold(currency="USD", percent_bp=5_000))
    books.handle(message("order.amended", SMALL, minutes=2))
    assert _versions(books) == 2
    assert "amendment.held" not in books.audit_kinds()


def test_a_percentage_threshold_counts_against_the_order_value_before() -> None:
    threshold = AmendmentThreshold(currency="USD", percent_bp=1_000)
    assert threshold.exceeded_by(impact_minor=1_500, before_minor=15_000)
    assert not threshold.exceeded_by(impact_minor=1_499, before_minor=15_000)
    with pytest.raises(InvalidThreshold):
        AmendmentThreshold(currency="USD")
