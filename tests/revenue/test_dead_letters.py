"""A fact the catalog cannot price fails, is dead-lettered with the reason, and succeeds when
replayed after the catalog is fixed."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from sqlalchemy import Engine, text

from ordertrail.adapters.clock import FixedClock
from ordertrail.bootstrap import Ordertrail
from ordertrail.domain.revenue import SspRow, TemplateVersion
from ordertrail.services.revenue_ports import RevenueUnitOfWork
from tests.conftest import make_principal
from tests.pipeline.support import pipeline_app, run
from tests.revenue.support import TENANT, catalog_rows, load_catalog, order_events, pump


def supports(row: TemplateVersion | SspRow) -> bool:
    return row.sku == "SUPPORT"


def dead_letters(app: Ordertrail) -> list[dict[str, object]]:
    page = app.pipeline.dead_letters.list(
        tenant_id=TENANT, include_purged=False, limit=100, cursor=None
    )
    return sorted(page.items, key=lambda item: int(str(item["id"])))


def drain(app: Ordertrail, clock: FixedClock) -> None:
    for _ in range(4):
        pump(app)
        clock.advance(timedelta(minutes=5))  # past every backoff


def test_an_unpriceable_order_is_dead_lettered_then_replays_once_the_catalog_is_fixed(
    engine: Engine, clock: FixedClock
) -> None:
    app = pipeline_app(engine, clock, retry_attempts_max=2, retry_backoff_initial_s=1.0)
    load_catalog(app, [row for row in catalog_rows() if not supports(row)])
    app.ingest(raw_events=order_events(), principal=make_principal(app)[0])
    drain(app, clock)

    letters = dead_letters(app)
    assert [letter["consumer"] for letter in letters] == ["revenue"] * 3
    shown = app.dead_letter(tenant_id=TENANT, dead_letter_id=int(str(letters[0]["id"])))
    assert "NoTemplate: no obligation template for sku SUPPORT" in shown.error

    load_catalog(app, [row for row in catalog_rows() if supports(row)])
    for letter in letters:
        run(
            app.replay_dead_letter(
                tenant_id=TENANT, dead_letter_id=int(str(letter["id"])), actor="key:test"
            )
        )
    drain(app, clock)

    assert len(dead_letters(app)) == 3  # the replayed letters stay as evidence, no new ones
    with cast(RevenueUnitOfWork, app.uow_factory()) as uow:
        kinds = sorted(e.kind for e in uow.ledger.entries(tenant_id=TENANT))
        contract = uow.revenue.load(tenant_id=TENANT, contract_id="ctr-SO-1")
    assert contract is not None
    assert kinds == ["invoice", "recognition"]
    with app.engine.connect() as connection:
        assert (
            connection.execute(text("SELECT sum(amount_minor) FROM journal_postings")).scalar() == 0
        )
