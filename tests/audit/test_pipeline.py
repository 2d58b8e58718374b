"""The chain over the real pipeline: the revenue consumer vouches for every entry it posts."""

from __future__ import annotations

from typing import cast

from ordertrail.bootstrap import Ordertrail
from ordertrail.services import audit
from ordertrail.services.close import run_close
from ordertrail.services.revenue_ports import RevenueUnitOfWork
from tests.conftest import make_principal
from tests.revenue.support import TENANT, load_catalog, order_events, pump


def _verify(app: Ordertrail) -> audit.TenantVerification:
    result = audit.verify(store=app.audit, tenant_id=TENANT, public_key_raw=None)
    return result.tenants[0]


def test_entries_posted_by_the_revenue_consumer_are_chained_and_verify(app: Ordertrail):
    load_catalog(app)
    app.ingest(raw_events=order_events(), principal=make_principal(app)[0])
    pump(app)
    with cast(RevenueUnitOfWork, app.uow_factory()) as uow:
        entries = uow.ledger.entries(tenant_id=TENANT)
    report = _verify(app)
    assert report.ok, report.breaks
    assert report.entries_checked == len(entries) > 0
    records = app.audit.records(tenant_id=TENANT, kind="recognition")
    # Each record names the milestone message that caused it.
    assert all(r.cause is not None and r.cause.startswith(f"{TENANT}/") for r in records)


def test_the_month_end_close_vouches_for_its_entries(app: Ordertrail):
    load_catalog(app)
    app.ingest(raw_events=order_events(), principal=make_principal(app)[0])
    pump(app)
    run_close(
        uow_factory=lambda: cast(RevenueUnitOfWork, app.uow_factory()),
        tenant_id=TENANT,
        period="2026-11",
        actor="test",
        now=app.clock.now,
    )
    report = _verify(app)
    assert report.ok, report.breaks
