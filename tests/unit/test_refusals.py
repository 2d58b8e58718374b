"""Every refusal the order aggregate can give, and that a refused event changes nothing."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path

import pytest

import ordertrail.domain.orders as orders_package
from ordertrail.domain.orders import IllegalTransition, Order, OrderEvent, order_to_state
from ordertrail.domain.orders.status import TRANSITIONS, OrderStatus
from tests.builders import placed
from tests.unit.support import (
    accept,
    allocate,
    amend,
    apply_all,
    backorder,
    cancel,
    close_dispute,
    confirm,
    credit,
    deliver,
    dispatch,
    hold,
    invoice,
    lq,
    new_order,
    open_dispute,
    parsed,
    release,
    return_,
)


def shipped_all(minutes: int = 10) -> list[OrderEvent]:
    return [dispatch("S1", lq(l1=2, l2=1), minutes=minutes)]


def delivered_all() -> list[OrderEvent]:
    return [*shipped_all(), deliver("S1", minutes=20)]


# (setup events after placing SO-1, the refused event, the code). Factories, so every case gets
# fresh event ids.
CASES: dict[str, tuple[Callable[[], list[OrderEvent]], Callable[[], OrderEvent], str]] = {
    "placing twice": (list, lambda: parsed(placed()), "order_exists"),
    "amending one line twice": (
        list,
        lambda: amend([{"line_id": "1", "quantity": 3}, {"line_id": "1", "quantity": 4}]),
        "duplicate_line",
    ),
    "shipping an unknown line": (list, lambda: dispatch("S1", lq(l9=1)), "unknown_line"),
    "cancelling an unknown line": (list, lambda: cancel(lq(l9=1)), "unknown_line"),
    "allocating an unknown line": (list, lambda: allocate(lq(l9=1)), "unknown_line"),
    "accepting an unknown line": (delivered_all, lambda: accept(lq(l9=1)), "unknown_line"),
    "disputing an unknown line": (list, lambda: open_dispute("D1", ["9"]), "unknown_line"),
    "invoicing an unknown line": (
        list,
        lambda: invoice("INV-1", 100, lines=[{"line_id": "9", "quantity": 1, "amount_minor": 100}]),
        "unknown_line",
    ),
    "delivering an unknown shipment": (shipped_all, lambda: deliver("S9"), "unknown_shipment"),
    "dispatching a shipment id twice": (
        lambda: [dispatch("S1", lq(l1=1))],
        lambda: dispatch("S1", lq(l2=1)),
        "duplicate_shipment",
    ),
    "shipping more than is unshipped": (
        lambda: [dispatch("S1", lq(l1=1))],
        lambda: dispatch("S2", lq(l1=2)),
        "quantity_exceeds_unshipped",
    ),
    "shipping the same line twice past its quantity": (
        list,
        lambda: dispatch("S1", [*lq(l1=2), *lq(l1=1)]),
        "quantity_exceeds_unshipped",
    ),
    "cancelling more than is unshipped": (
        lambda: [dispatch("S1", lq(l1=1))],
        lambda: cancel(lq(l1=2)),
        "quantity_exceeds_unshipped",
    ),
    "backordering more than is unshipped": (
        list,
        lambda: backorder(lq(l1=3)),
        "quantity_exceeds_unshipped",
    ),
    "delivering more than the shipment carries": (
        lambda: [dispatch("S1", lq(l1=1)), dispatch("S2", lq(l1=1))],
        lambda: deliver("S1", lq(l1=2)),
        "quantity_exceeds_shipped",
    ),
    "delivering a line the shipment does not carry": (
        lambda: [dispatch("S1", lq(l1=1))],
        lambda: deliver("S1", lq(l2=1)),
        "quantity_exceeds_shipped",
    ),
    "delivering a delivered shipment again by quantity": (
        delivered_all,
        lambda: deliver("S1", lq(l1=1)),
        "quantity_exceeds_shipped",
    ),
    "accepting more than was delivered": (
        lambda: [*shipped_all(), deliver("S1", lq(l1=1))],
        lambda: accept(lq(l1=2)),
        "quantity_exceeds_delivered",
    ),
    "returning more than was delivered": (
        lambda: [*shipped_all(), deliver("S1", lq(l1=1))],
        lambda: return_("R1", lq(l1=2)),
        "quantity_exceeds_delivered",
    ),
    "returning units already returned": (
        lambda: [*delivered_all(), return_("R1", lq(l2=1))],
        lambda: return_("R2", lq(l2=1)),
        "quantity_exceeds_delivered",
    ),
    "allocating more than is active": (
        lambda: [allocate(lq(l1=1))],
        lambda: allocate(lq(l1=2), minutes=5),
        "quantity_exceeds_open",
    ),
    "amending below what shipped": (
        lambda: [dispatch("S1", lq(l1=2))],
        lambda: amend([{"line_id": "1", "quantity": 1}]),
        "quantity_below_shipped",
    ),
    "amending below what shipped plus cancelled": (
        lambda: [dispatch("S1", lq(l1=1)), cancel(lq(l1=1))],
        lambda: amend([{"line_id": "1", "quantity": 1}]),
        "quantity_below_shipped",
    ),
    "amending a delivered order": (
        delivered_all,
        lambda: amend([{"line_id": "1", "quantity": 5}]),
        "amendment_not_allowed",
    ),
    "amending a cancelled order": (
        lambda: [cancel()],
        lambda: amend([{"line_id": "1", "quantity": 5}]),
        "amendment_not_allowed",
    ),
    "adding a line without a sku": (
        list,
        lambda: amend([{"line_id": "3", "quantity": 1, "unit_price_minor": 100}]),
        "new_line_incomplete",
    ),
    "adding a line without a price": (
        list,
        lambda: amend([{"line_id": "3", "sku": "NEW", "quantity": 1}]),
        "new_line_incomplete",
    ),
    "amending a line to another sku": (
        list,
        lambda: amend([{"line_id": "1", "sku": "GADGET", "quantity": 2}]),
        "sku_mismatch",
    ),
    "cancelling a fully shipped order": (shipped_all, cancel, "nothing_to_cancel"),
    "confirming a cancelled order": (lambda: [cancel()], confirm, "order_cancelled"),
    "cancelling a cancelled order": (lambda: [cancel()], cancel, "order_cancelled"),
    "allocating on a cancelled order": (
        lambda: [cancel()],
        lambda: allocate(lq(l1=1)),
        "order_cancelled",
    ),
    "backordering on a cancelled order": (
        lambda: [cancel()],
        lambda: backorder(lq(l1=1)),
        "order_cancelled",
    ),
    "dispatching on a cancelled order": (
        lambda: [cancel()],
        lambda: dispatch("S1", lq(l1=1)),
        "order_cancelled",
    ),
    "invoicing in another currency": (
        list,
        lambda: invoice("INV-1", 100, currency="EUR"),
        "currency_mismatch",
    ),
    "crediting in another currency": (
        lambda: [invoice("INV-1", 100)],
        lambda: credit("CN-1", 50, currency="EUR"),
        "currency_mismatch",
    ),
    "crediting more than was invoiced": (
        lambda: [invoice("INV-1", 100), credit("CN-1", 60)],
        lambda: credit("CN-2", 41),
        "credit_exceeds_invoiced",
    ),
    "crediting an uninvoiced order": (list, lambda: credit("CN-1", 1), "credit_exceeds_invoiced"),
    "crediting against an invoice the order does not have": (
        lambda: [invoice("INV-1", 100)],
        lambda: credit("CN-1", 10, invoice_id="INV-9"),
        "unknown_invoice",
    ),
    "recording a return id twice": (
        lambda: [*delivered_all(), return_("R1", lq(l1=1))],
        lambda: return_("R1", lq(l2=1)),
        "duplicate_return",
    ),
    "recording an invoice id twice": (
        lambda: [invoice("INV-1", 100)],
        lambda: invoice("INV-1", 100),
        "duplicate_invoice",
    ),
    "recording a credit note id twice": (
        lambda: [invoice("INV-1", 100), credit("CN-1", 10)],
        lambda: credit("CN-1", 10),
        "duplicate_credit_note",
    ),
    "placing a hold id twice": (lambda: [hold("H1")], lambda: hold("H1"), "duplicate_hold"),
    "opening a dispute id twice": (
        lambda: [open_dispute("D1")],
        lambda: open_dispute("D1"),
        "duplicate_dispute",
    ),
    "releasing a hold that is not in place": (list, lambda: release("H1"), "unknown_hold"),
    "releasing a hold twice": (
        lambda: [hold("H1"), release("H1")],
        lambda: release("H1"),
        "unknown_hold",
    ),
    "closing a dispute that is not open": (list, lambda: close_dispute("D1"), "unknown_dispute"),
    "a late amendment that would reopen a fulfilled order": (
        lambda: [dispatch("S1", lq(l1=2, l2=1), minutes=30)],
        lambda: amend([{"line_id": "1", "quantity": 3}], minutes=20),
        "late_event_regresses",
    ),
}


def snapshot(order: Order) -> tuple:
    return (order.status, order.version, order_to_state(order))


@pytest.mark.parametrize("case", list(CASES))
def test_the_order_refuses_the_event_with_its_code_and_is_left_unchanged(case):
    setup, refused, code = CASES[case]
    order = new_order()
    apply_all(order, *setup())
    before = snapshot(order)
    kept = copy.deepcopy(order)
    with pytest.raises(IllegalTransition) as raised:
        order.apply(refused())
    assert raised.value.code == code
    assert raised.value.kind == "lifecycle"
    assert raised.value.message
    assert snapshot(order) == before
    assert order == kept


def test_the_same_events_apply_cleanly_without_the_conflicting_one():
    # Guards the table above against refusals caused by a broken setup rather than the event.
    for case, (setup, _refused, _code) in CASES.items():
        order = new_order()
        apply_all(order, *setup())
        order.check_invariants()
        assert order.version == 1 + len(setup()), case


def test_every_refusal_code_the_planners_can_raise_is_exercised_here():
    source = "\n".join(p.read_text() for p in Path(orders_package.__file__).parent.glob("*.py"))
    codes = set(re.findall(r'refuse\(\s*"([a-z_]+)"', source))
    codes |= {"duplicate_return", "duplicate_invoice", "duplicate_credit_note"}
    exercised = {code for _, _, code in CASES.values()}
    exercised |= {"unknown_order", "transition_not_allowed"}  # tested below
    exercised |= {"duplicate_line"}  # also on placing, below
    assert codes <= exercised, sorted(codes - exercised)


def test_an_event_other_than_placed_cannot_create_an_order():
    with pytest.raises(IllegalTransition) as raised:
        Order.place(confirm())
    assert raised.value.code == "unknown_order"


def test_placing_an_order_with_a_line_id_twice_is_refused():
    raw = placed(lines=[("1", "WIDGET", 1, 100), ("1", "GADGET", 1, 200)])
    with pytest.raises(IllegalTransition) as raised:
        Order.place(parsed(raw))
    assert raised.value.code == "duplicate_line"


def test_a_change_the_lifecycle_table_does_not_list_is_refused_unchanged(monkeypatch):
    # No event sequence reaches a derived status the table forbids today (the property tests
    # search for one); the guard is still tested by taking an entry out of the table.
    monkeypatch.delitem(TRANSITIONS[OrderStatus.PENDING], OrderStatus.CONFIRMED)
    order = new_order()
    before = snapshot(order)
    with pytest.raises(IllegalTransition) as raised:
        order.apply(confirm())
    assert raised.value.code == "transition_not_allowed"
    assert snapshot(order) == before


def test_a_refused_dispatch_does_not_record_the_shipment():
    order = new_order()
    with pytest.raises(IllegalTransition):
        order.apply(dispatch("S1", [*lq(l1=1), *lq(l2=2)]))
    assert order.shipments == {}
    order.apply(dispatch("S1", lq(l1=1)))
    assert set(order.shipments) == {"S1"}


def test_a_refused_invoice_does_not_count_towards_the_invoiced_total():
    order = new_order()
    with pytest.raises(IllegalTransition):
        order.apply(invoice("INV-1", 500, currency="EUR"))
    assert (order.invoiced_minor, order.document_ids) == (0, set())
