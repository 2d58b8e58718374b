"""The revenue consumer on the real pipeline: order events become contracts and entries."""

from __future__ import annotations

from typing import cast

from sqlalchemy import text

from ordertrail.bootstrap import Ordertrail
from ordertrail.services.close import CloseSummary, run_close
from ordertrail.services.revenue_ports import RevenueUnitOfWork
from tests.conftest import make_principal
from tests.revenue.support import TENANT, load_catalog, order_events, pump


def test_a_confirmed_shipped_invoiced_order_posts_balanced_revenue(app: Ordertrail) -> None:
    load_catalog(app)
    results = app.ingest(raw_events=order_events(), principal=make_principal(app)[0])
    assert [r.error_code for r in results] == [None] * len(results)
    pump(app)
    with cast(RevenueUnitOfWork, app.uow_factory()) as uow:
        entries = uow.ledger.entries(tenant_id=TENANT)
        contract = uow.revenue.load(tenant_id=TENANT, contract_id="ctr-SO-1")
    assert contract is not None
    kinds = sorted(e.kind for e in entries)
    assert kinds == ["invoice", "recognition"]
    with app.engine.connect() as connection:
        total = connection.execute(text("SELECT sum(amount_minor) FROM journal_postings")).scalar()
        dead = connection.execute(text("SELECT count(*) FROM dead_letters")).scalar()
    assert total == 0
    assert dead == 0


def test_the_close_recognizes_the_month_once_and_a_rerun_changes_nothing(app: Ordertrail) -> None:
    load_catalog(app)
    app.ingest(raw_events=order_events(), principal=make_principal(app)[0])
    pump(app)

    def close() -> CloseSummary:
        return run_close(
            uow_factory=lambda: cast(RevenueUnitOfWork, app.uow_factory()),
            tenant_id=TENANT,
            period="2026-11",
            actor="test",
            now=app.clock.now,
        )

    first = close()
    with app.engine.connect() as connection:
        before = connection.execute(text("SELECT count(*) FROM journal_entries")).scalar()
    second = close()
    with app.engine.connect() as connection:
        after = connection.execute(text("SELECT count(*) FROM journal_entries")).scalar()
        total = connection.execute(text("SELECT sum(amount_minor) FROM journal_postings")).scalar()
    assert first.entries == 1
    assert first.amounts_minor[("revenue_services", "USD")] == -1000
    assert second.already_closed
    assert before == after
    assert total == 0
