"""The recognition gate between fulfilment facts and the engine, over in-memory storage."""

from __future__ import annotations

from datetime import timedelta

from ordertrail.adapters.clock import FixedClock
from ordertrail.services.holds import place_hold, release_hold
from ordertrail.services.recognition_rerun import reevaluate_pending, rerun_order
from tests.conftest import NOW, T0
from tests.controls.support import Controls
from tests.revenue.books import ORDER, line, message
from tests.revenue.support import TENANT

SHIPPED = [line("1", "WIDGET", 1500, 2, shipped=2), line("2", "SUPPORT", 12000, 1)]
DELIVERED = [line("1", "WIDGET", 1500, 2, shipped=2, delivered=2), line("2", "SUPPORT", 12000, 1)]
SIGNED = {"shipment_id": "S1", "proof_of_delivery": {"signed_by": "J. Doe"}}


def _hold(books: Controls, **scope: str) -> str:
    with books.cuow() as uow:
        hold = place_hold(
            uow=uow,
            tenant_id=TENANT,
            order_id="SO-1",
            reason_code="customer_complaint",
            source="manual",
            actor="key:ops",
            now=NOW,
            **scope,
        )
        uow.commit()
    return hold.hold_id


def _release(books: Controls, hold_id: str) -> None:
    with books.cuow() as uow:
        release_hold(uow=uow, tenant_id=TENANT, hold_id=hold_id, actor="key:ctl", now=NOW)
        uow.commit()


def test_nothing_under_an_order_hold_is_recognized() -> None:
    books = Controls()
    books.handle(message("order.confirmed", ORDER))
    _hold(books)
    books.handle(message("shipment.dispatched", SHIPPED, minutes=1))
    assert books.revenue_minor() == 0
    assert {d.outcome for d in books.decisions()} == {"held"}


def test_releasing_a_hold_recognizes_exactly_what_it_held_back() -> None:
    free = Controls()
    free.handle(message("order.confirmed", ORDER), message("shipment.dispatched", SHIPPED))
    books = Controls()
    books.handle(message("order.confirmed", ORDER))
    hold_id = _hold(books)
    books.handle(message("shipment.dispatched", SHIPPED, minutes=1))
    _release(books, hold_id)
    assert books.revenue_minor() == free.revenue_minor() > 0
    assert books.decisions()[0].outcome == "recognized"
    assert books.decisions()[0].facts["trigger"] == f"release:{hold_id}"
    assert books.audit_kinds().count("hold.released") == 1


def test_a_line_hold_blocks_that_line_only() -> None:
    books = Controls()
    books.handle(message("order.confirmed", ORDER))
    _hold(books, line_id="2")
    books.handle(message("shipment.dispatched", SHIPPED, minutes=1))
    assert books.revenue_minor() > 0
    assert books.decisions("1/unit")[0].outcome == "recognized"


def test_an_unmet_rule_keeps_the_line_deferred_and_says_why() -> None:
    books = Controls()
    books.activate({"rule_id": "signed", "sku": "WIDGET", "criterion": "delivery.signed"})
    books.handle(message("order.confirmed", ORDER), message("shipment.dispatched", SHIPPED))
    assert books.revenue_minor() == 0
    decision = books.decisions()[0]
    assert (decision.outcome, decision.rule_id, decision.rule_version) == ("deferred", "signed", 1)
    assert decision.facts["delivery"]["signed"] is False


def test_a_signed_delivery_meets_the_rule_and_recognizes() -> None:
    books = Controls()
    books.activate({"rule_id": "signed", "sku": "WIDGET", "criterion": "delivery.signed"})
    books.handle(
        message("order.confirmed", ORDER),
        message("shipment.dispatched", SHIPPED, minutes=1),
        message("shipment.delivered", DELIVERED, minutes=2, payload=SIGNED),
    )
    assert books.revenue_minor() > 0
    assert books.decisions()[0].outcome == "recognized"


def test_the_scheduled_job_recognizes_once_thirty_days_passed_without_a_dispute() -> None:
    books = Controls()
    books.activate(
        {
            "rule_id": "quiet-30",
            "criterion": "days_since_delivery >= 30 && !order.disputed",
        }
    )
    books.handle_at(
        T0 + timedelta(days=1),
        message("order.confirmed", ORDER),
        message("shipment.dispatched", SHIPPED, minutes=1),
        message("shipment.delivered", DELIVERED, minutes=2),
    )
    assert books.revenue_minor() == 0
    early = reevaluate_pending(uow_factory=books.cuow, clock=FixedClock(T0 + timedelta(days=29)))
    assert (early.failed, books.revenue_minor()) == (0, 0)
    late = reevaluate_pending(uow_factory=books.cuow, clock=FixedClock(T0 + timedelta(days=31)))
    assert late.failed == 0
    assert books.revenue_minor() > 0
    assert books.decisions()[0].outcome == "recognized"
    assert books.decisions()[0].facts["trigger"].startswith("rule:SO-1@")


def test_a_fallback_recognizes_at_the_estimate_flagged_and_is_trued_up_by_a_return() -> None:
    books = Controls()
    books.activate(
        {
            "rule_id": "delivered",
            "sku": "WIDGET",
            "criterion": "delivery.delivered",
            "fallback": {"kind": "estimated_delivery", "days": 3},
        }
    )
    estimate = (T0 + timedelta(days=2)).isoformat()
    dispatched = {"shipment_id": "S1", "carrier": "ups", "tracking_number": "1Z", "lines": []}
    books.handle_at(
        T0 + timedelta(days=1),
        message("order.confirmed", ORDER),
        message(
            "shipment.dispatched",
            SHIPPED,
            minutes=1,
            payload={**dispatched, "estimated_delivery_at": estimate},
        ),
    )
    assert books.revenue_minor() == 0
    reevaluate_pending(uow_factory=books.cuow, clock=FixedClock(T0 + timedelta(days=6)))
    recognized = books.revenue_minor()
    assert recognized > 0
    assert books.decisions()[0].fallback is True
    assert "fallback.recognized" in books.audit_kinds()
    books.handle_at(
        T0 + timedelta(days=7),
        message(
            "return.received",
            [line("1", "WIDGET", 1500, 2, shipped=2, returned=2), line("2", "SUPPORT", 12000, 1)],
            minutes=60 * 24 * 7,
        ),
    )
    assert books.revenue_minor() == 0
    assert books.decisions()[0].reason.startswith("fallback trued up")
    assert "fallback.trued_up" in books.audit_kinds()


def test_a_rerun_that_changes_nothing_posts_and_records_nothing() -> None:
    books = Controls()
    books.handle(message("order.confirmed", ORDER), message("shipment.dispatched", SHIPPED))
    before = (books.revenue_minor(), len(books.decisions()))
    with books.cuow() as uow:
        assert rerun_order(uow=uow, tenant_id=TENANT, order_id="SO-1", trigger="t:1", now=NOW)
        uow.commit()
    assert (books.revenue_minor(), len(books.decisions())) == before
