"""Property: any sequence of fulfilment, return, billing and close facts, applied through the
handler and storage, keeps every obligation whole, the journal balanced and deferred revenue
non-negative."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordertrail.domain.ledger import period_key
from ordertrail.domain.ledger.periods import month_index
from ordertrail.services.close import run_close
from ordertrail.services.revenue_ports import ReturnDefault, RevenueSettings
from tests.conftest import NOW, T0
from tests.revenue.books import Books, line, message
from tests.revenue.support import TENANT

QUANTITY = 5
Step = tuple[str, int]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("ship"), st.integers(1, QUANTITY)),
        st.tuples(st.just("return"), st.integers(1, QUANTITY)),
        st.tuples(st.just("invoice"), st.integers(1, 20_000)),
        st.tuples(st.just("credit"), st.integers(1, 5_000)),
        st.tuples(st.just("close"), st.just(0)),
    ),
    max_size=12,
)


def replay(books: Books, plan: list[Step]) -> None:
    shipped = returned = billed = 0
    closed = month_index(T0.date()) - 1
    for minute, (kind, amount) in enumerate(plan, start=1):
        if kind == "close":
            closed += 1
            run_close(
                uow_factory=books.uow,
                tenant_id=TENANT,
                period=period_key(closed),
                actor="t",
                now=lambda: NOW,
            )
            continue
        if kind == "ship":
            shipped = min(QUANTITY, shipped + amount)
        if kind == "return":
            returned = min(shipped, returned + amount)
        lines = [
            line(
                "1", "WIDGET", 1500, QUANTITY, shipped=shipped, delivered=shipped, returned=returned
            ),
            line("2", "SUPPORT", 12000, 1),
        ]
        if kind == "invoice":
            billed += amount
            books.handle(
                message("invoice.issued", lines, minutes=minute, payload={"amount_minor": amount})
            )
        elif kind == "credit":
            if amount <= billed and returned:
                billed -= amount
                books.handle(
                    message(
                        "credit_note.issued",
                        lines,
                        minutes=minute,
                        payload={"amount_minor": amount},
                    )
                )
        else:
            books.handle(message("shipment.dispatched", lines, minutes=minute))


def check(books: Books) -> None:
    with books.uow() as uow:
        stored = uow.revenue.load(tenant_id=TENANT, contract_id="ctr-SO-1")
        journal = uow.ledger.entries(tenant_id=TENANT)
    totals: dict[str, int] = defaultdict(int)
    revenue_posted: dict[str, int] = defaultdict(int)
    for entry in journal:
        for posting in entry.postings:
            totals[posting.currency] += posting.amount_minor
            if posting.account.startswith("revenue_") and posting.obligation_id:
                revenue_posted[posting.obligation_id] -= posting.amount_minor
    assert all(total == 0 for total in totals.values())  # the trial balance sums to zero
    if stored is None:
        assert not journal
        return
    for ob in stored.state.obligations:
        assert ob.unrecognized_minor >= 0
        assert (
            ob.posted.revenue
            + ob.unrecognized_minor
            + ob.posted.refund_liability
            + ob.returned_minor
            == ob.allocated_minor
        )
        assert revenue_posted[ob.obligation_id] == ob.posted.revenue


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(plan=steps)
def test_any_fact_sequence_keeps_the_books_whole_balanced_and_never_negative(
    plan: list[Step],
) -> None:
    books = Books(
        settings=RevenueSettings(
            returns=(
                ReturnDefault(sku="WIDGET", expected_return_rate_bp=1000, unit_cost_minor=700),
            )
        )
    )
    books.handle(
        message(
            "order.confirmed", [line("1", "WIDGET", 1500, QUANTITY), line("2", "SUPPORT", 12000, 1)]
        )
    )
    replay(books, plan)
    check(books)
