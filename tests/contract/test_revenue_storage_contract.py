"""Storage contract, revenue: contracts, the journal, periods, chart, catalogs and settings, with
the same behaviour on the in-memory fake, SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import cast

import pytest
from sqlalchemy.exc import IntegrityError

from ordertrail.domain.ledger import (
    ALL_OPEN,
    JournalEntry,
    Posting,
    UnknownAccount,
    period_index,
)
from ordertrail.domain.revenue import (
    CombinationRule,
    IssueInvoice,
    LineFacts,
    LineQuantities,
    OrderFacts,
    RecordFulfilment,
    SspRow,
    apply_fact,
    catalogs_of,
    close_period,
    open_contract,
)
from ordertrail.services.close import run_close
from ordertrail.services.ports import ConcurrentWrite
from ordertrail.services.revenue_catalog import catalogs_from
from ordertrail.services.revenue_ports import (
    DuplicateEntry,
    RevenueSettings,
    RevenueUnitOfWork,
    StoredContract,
    UnbalancedJournal,
    VersionRecord,
)
from tests.conftest import NOW
from tests.contract.conftest import Storage
from tests.revenue.support import catalog_rows

T = "acme"
ON = date(2026, 11, 2)


def uow(storage: Storage) -> RevenueUnitOfWork:
    return cast(RevenueUnitOfWork, storage.uow_factory())


def order(order_id: str = "SO-1") -> OrderFacts:
    return OrderFacts(
        order_id=order_id,
        customer_id="CUST-1",
        currency="USD",
        shipping_terms="fob_shipping_point",
        placed_on=ON,
        lines=(
            LineFacts(line_id="1", sku="WIDGET", quantity=2, unit_price_minor=1500),
            LineFacts(line_id="2", sku="SUPPORT", quantity=1, unit_price_minor=12000),
        ),
    )


def contract(order_id: str = "SO-1") -> StoredContract:
    rows = catalog_rows()
    catalogs = catalogs_of(
        versions=[r for r in rows if not isinstance(r, SspRow)],
        ssp_rows=[r for r in rows if isinstance(r, SspRow)],
    )
    state = open_contract(orders=[order(order_id)], catalogs=catalogs, cause_event_id="e-1")
    return StoredContract(state=state, orders=(order(order_id),), status="open", row_version=0)


def moved(stored: StoredContract) -> tuple[StoredContract, tuple[JournalEntry, ...]]:
    """Ship both widgets and invoice: balances and entries to store."""
    shipped = apply_fact(
        state=stored.state,
        fact=RecordFulfilment("e-2", ON, (LineQuantities(line_id="1", shipped=2),)),
        calendar=ALL_OPEN,
    )
    billed = apply_fact(state=shipped.state, fact=IssueInvoice("e-3", ON, 5000), calendar=ALL_OPEN)
    return replace(stored, state=billed.state), shipped.entries + billed.entries


def save(storage: Storage, stored: StoredContract, *, expected: int | None) -> int:
    with uow(storage) as u:
        version = u.revenue.save(
            tenant_id=T, contract=stored, expected_row_version=expected, now=NOW
        )
        u.commit()
    return version


def save_new(storage: Storage, stored: StoredContract) -> int:
    return save(storage, stored, expected=None)


class TestContracts:
    def test_a_saved_contract_loads_back_equal_with_its_balances(self, storage: Storage) -> None:
        stored, entries = moved(contract())
        save_new(storage, stored)
        with uow(storage) as u:
            loaded = u.revenue.load(tenant_id=T, contract_id=stored.state.contract_id)
        assert loaded is not None
        assert loaded.state == stored.state
        assert loaded.orders == stored.orders
        assert (loaded.status, loaded.row_version) == ("open", 1)
        assert entries

    def test_a_stale_row_version_is_a_concurrent_write(self, storage: Storage) -> None:
        stored = contract()
        save_new(storage, stored)
        save(storage, stored, expected=1)
        with pytest.raises(ConcurrentWrite):
            save(storage, stored, expected=1)

    def test_the_same_contract_cannot_be_created_twice(self, storage: Storage) -> None:
        save_new(storage, contract())
        with pytest.raises(ConcurrentWrite):
            save_new(storage, contract())

    def test_uncommitted_writes_are_not_seen(self, storage: Storage) -> None:
        with uow(storage) as u:
            u.revenue.save(tenant_id=T, contract=contract(), expected_row_version=None, now=NOW)
        with uow(storage) as u:
            assert u.revenue.load(tenant_id=T, contract_id="ctr-SO-1") is None

    def test_orders_and_obligations_lead_to_their_contract(self, storage: Storage) -> None:
        save_new(storage, contract())
        with uow(storage) as u:
            u.revenue.map_orders(tenant_id=T, contract_id="ctr-SO-1", order_ids=["SO-1"])
            u.commit()
        with uow(storage) as u:
            assert u.revenue.contract_of_order(tenant_id=T, order_id="SO-1") == "ctr-SO-1"
            assert u.revenue.contract_of_order(tenant_id="other", order_id="SO-1") is None
            opened = u.revenue.open_contracts_of(tenant_id=T, customer_id="CUST-1")
        assert [c.state.contract_id for c in opened] == ["ctr-SO-1"]

    def test_a_version_recorded_twice_is_kept_once(self, storage: Storage) -> None:
        state = contract().state
        record = VersionRecord(
            contract_id=state.contract_id,
            version=state.versions[0],
            decision=None,
            currency="USD",
            recorded_at=NOW,
        )
        for _ in range(2):
            with uow(storage) as u:
                u.revenue.record_version(tenant_id=T, record=record)
                u.commit()
        with uow(storage) as u:
            assert u.revenue.versions(tenant_id=T, contract_id=state.contract_id) == [record]


def entry(entry_id: str = "e" * 32, amounts: tuple[int, int] = (100, -100)) -> JournalEntry:
    postings = tuple(
        Posting(account, amount, "USD", "ctr-SO-1", None, "e-9")
        for account, amount in zip(("receivables", "contract_liabilities"), amounts, strict=True)
    )
    return JournalEntry(entry_id, "invoice", "ctr-SO-1", None, "e-9", ON, ON, postings)


def append(storage: Storage, *entries: JournalEntry) -> int:
    with uow(storage) as u:
        added = u.ledger.append(tenant_id=T, entries=entries, customer_id="CUST-1", recorded_at=NOW)
        u.commit()
    return added


class TestJournal:
    def test_entries_append_once_and_read_back_equal(self, storage: Storage) -> None:
        _stored, entries = moved(contract())
        assert append(storage, *entries) == len(entries)
        assert append(storage, *entries) == 0
        with uow(storage) as u:
            stored = u.ledger.entries(tenant_id=T)
        assert sorted(stored, key=lambda e: e.entry_id) == sorted(entries, key=lambda e: e.entry_id)

    def test_a_different_entry_under_a_stored_id_is_refused(self, storage: Storage) -> None:
        append(storage, entry())
        with pytest.raises(DuplicateEntry):
            append(storage, entry(amounts=(200, -200)))

    def test_an_unbalanced_entry_is_refused_and_nothing_is_written(self, storage: Storage) -> None:
        with pytest.raises(UnbalancedJournal):
            append(storage, entry(amounts=(100, -99)))
        with uow(storage) as u:
            assert u.ledger.entries(tenant_id=T) == []

    def test_a_posting_to_an_unknown_account_is_refused(self, storage: Storage) -> None:
        unknown = entry()
        unknown = replace(
            unknown, postings=(unknown.postings[0], replace(unknown.postings[1], account="nope"))
        )
        with pytest.raises((IntegrityError, UnknownAccount)):
            append(storage, unknown)


class TestLedger:
    def test_the_default_chart_is_seeded_and_editable(self, storage: Storage) -> None:
        with uow(storage) as u:
            chart = u.ledger.chart(tenant_id=T, now=NOW)
            updated = u.ledger.update_account(
                tenant_id=T, code="receivables", name=None, gl_code="1201", active=None, now=NOW
            )
            missing = u.ledger.update_account(
                tenant_id=T, code="nope", name="x", gl_code=None, active=None, now=NOW
            )
            u.commit()
        assert "contract_liabilities" in chart
        assert updated is not None
        assert updated.gl_code == "1201"
        assert missing is None

    def test_a_period_closes_once(self, storage: Storage) -> None:
        with uow(storage) as u:
            first = u.ledger.mark_closed(tenant_id=T, period="2026-10", closed_at=NOW, actor="a")
            second = u.ledger.mark_closed(tenant_id=T, period="2026-10", closed_at=NOW, actor="a")
            u.commit()
        with uow(storage) as u:
            calendar = u.ledger.calendar(tenant_id=T)
            periods = u.ledger.periods(tenant_id=T)
        assert (first, second) == (True, False)
        assert calendar.is_closed(period_index("2026-10"))
        assert not calendar.is_closed(period_index("2026-11"))
        assert [(p.period, p.status, p.closed_by) for p in periods] == [("2026-10", "closed", "a")]


class TestCatalog:
    def test_a_later_version_wins_where_it_overlaps(self, storage: Storage) -> None:
        first = SspRow("WIDGET", "unit", "USD", date(2026, 1, 1), 1500)
        second = SspRow("WIDGET", "unit", "USD", date(2026, 6, 1), 1700)
        with uow(storage) as u:
            a = u.catalog.add(tenant_id=T, body=first, created_at=NOW, created_by="t")
            b = u.catalog.add(tenant_id=T, body=second, created_at=NOW, created_by="t")
            u.commit()
        with uow(storage) as u:
            catalogs = u.catalog.catalogs(tenant_id=T)
            records = u.catalog.records(tenant_id=T, kind="ssp", sku="WIDGET")
        assert (a.version, b.version) == (1, 2)
        assert [r.version for r in records] == [1, 2]
        price = catalogs.ssps.ssp_for
        assert price(sku="WIDGET", component="unit", currency="USD", on=ON).unit_ssp_minor == 1700
        early = date(2026, 3, 1)
        assert price(sku="WIDGET", component="unit", currency="USD", on=early).unit_ssp_minor == (
            1500
        )
        assert catalogs == catalogs_from(records)

    def test_settings_default_then_replace(self, storage: Storage) -> None:
        chosen = RevenueSettings(
            combination=CombinationRule(window_days=30), time_zone="Europe/Paris"
        )
        with uow(storage) as u:
            assert u.catalog.settings(tenant_id=T) == RevenueSettings()
            u.catalog.put_settings(tenant_id=T, settings=chosen, now=NOW, actor="t")
            u.commit()
        with uow(storage) as u:
            assert u.catalog.settings(tenant_id=T) == chosen


class TestClose:
    def test_the_close_moves_balances_set_wise_and_a_loaded_contract_sees_them(
        self, storage: Storage
    ) -> None:
        stored, entries = moved(contract())
        save_new(storage, stored)
        append(storage, *entries)
        summary = run_close(
            uow_factory=lambda: uow(storage),
            tenant_id=T,
            period="2026-11",
            actor="t",
            now=lambda: NOW,
        )
        with uow(storage) as u:
            loaded = u.revenue.load(tenant_id=T, contract_id="ctr-SO-1")
            journal = u.ledger.entries(tenant_id=T)
        assert loaded is not None
        support = loaded.state.obligations[loaded.state.index_of("2/support")]
        assert (summary.entries, support.posted.revenue) == (1, 1000)
        assert support.ratable_through == period_index("2026-11")
        closing = next(e for e in journal if e.kind == "close")
        assert closing.postings[0].amount_minor == -1000

    def test_a_close_batch_from_stale_rows_is_refused(self, storage: Storage) -> None:
        save_new(storage, contract())
        with uow(storage) as u:
            inputs = u.revenue.close_inputs(tenant_id=T, after_contract=None, contracts_max=10)
        run_close(
            uow_factory=lambda: uow(storage),
            tenant_id=T,
            period="2026-11",
            actor="t",
            now=lambda: NOW,
        )
        lines = close_period(
            period="2026-12",
            items=inputs.items,
            positions=inputs.positions_minor,
            calendar=ALL_OPEN,
        ).lines

        def write_stale() -> None:
            with uow(storage) as u:
                u.revenue.write_close(
                    tenant_id=T, period="2026-12", inputs=inputs, lines=lines, now=NOW
                )
                u.commit()

        with pytest.raises(ConcurrentWrite):
            write_stale()
