"""In-memory fakes of the revenue ports, with the SQL adapters' semantics.

Rows are stored as the SQL tables hold them (the contract document as text, obligation rows as
dicts built by the same functions), so loading overlays balances exactly as SQL does. Writes are
staged per unit of work and applied on commit; the contract row version is checked again at
commit, as a concurrent SQL writer would have been refused.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ordertrail.domain.ledger import (
    DEFAULT_CHART_ROWS,
    ChartOfAccounts,
    JournalEntry,
    PeriodCalendar,
    chart_from_rows,
    period_index,
)
from ordertrail.domain.revenue import Catalogs, CloseLine, SspRow, TemplateVersion
from ordertrail.services.ports import ConcurrentWrite
from ordertrail.services.revenue_catalog import catalogs_from, key_of
from ordertrail.services.revenue_close import CloseInputs, close_inputs_from, close_updates
from ordertrail.services.revenue_ports import (
    CONTRACTS_OF_CUSTOMER_MAX,
    ENTRIES_READ_MAX,
    AccountRecord,
    CatalogKind,
    CatalogRecord,
    DuplicateEntry,
    PeriodRecord,
    RevenueSettings,
    StoredContract,
    VersionRecord,
)
from ordertrail.services.revenue_rows import (
    check_entries,
    contract_from,
    document_of,
    obligation_rows,
)

_DELETED = object()
TABLES = (
    "contracts",
    "obligations",
    "orders",
    "versions",
    "accounts",
    "periods",
    "entries",
    "catalog",
    "settings",
)


@dataclass(slots=True)
class RevenueTables:
    """The committed rows, one dict per table, keyed like the SQL primary keys."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    tables: dict[str, dict[Any, Any]] = field(default_factory=lambda: {name: {} for name in TABLES})


class RevenueTransaction:
    """Staged writes over the committed tables; reads see committed rows plus own writes."""

    def __init__(self, committed: RevenueTables) -> None:
        self._committed = committed
        self._staged: dict[str, dict[Any, Any]] = {name: {} for name in TABLES}
        # contract key -> the row version the committed row must still have (None: new).
        self._expected: dict[Any, int | None] = {}

    def get(self, table: str, key: Any) -> Any:
        staged = self._staged[table]
        if key in staged:
            value = staged[key]
            return None if value is _DELETED else value
        with self._committed.lock:
            return self._committed.tables[table].get(key)

    def put(self, table: str, key: Any, value: Any) -> None:
        self._staged[table][key] = value

    def delete(self, table: str, key: Any) -> None:
        self._staged[table][key] = _DELETED

    def items(self, table: str) -> list[tuple[Any, Any]]:
        with self._committed.lock:
            merged = dict(self._committed.tables[table])
        for key, value in self._staged[table].items():
            if value is _DELETED:
                merged.pop(key, None)
            else:
                merged[key] = value
        return sorted(merged.items(), key=lambda kv: kv[0])

    def expect(self, key: Any, row_version: int | None) -> None:
        self._expected.setdefault(key, row_version)

    def commit(self) -> None:
        with self._committed.lock:
            contracts = self._committed.tables["contracts"]
            for key, expected in self._expected.items():
                current = contracts.get(key)
                if expected is None and current is not None:
                    raise ConcurrentWrite(f"contract {key[1]} already exists")
                if expected is not None and (current is None or current["row_version"] != expected):
                    raise ConcurrentWrite(f"contract {key[1]} changed since it was loaded")
            for name, staged in self._staged.items():
                table = self._committed.tables[name]
                for key, value in staged.items():
                    if value is _DELETED:
                        table.pop(key, None)
                    else:
                        table[key] = value
        self._staged = {name: {} for name in TABLES}
        self._expected = {}


class MemoryRevenueStore:
    def __init__(self, tx: RevenueTransaction) -> None:
        self._tx = tx

    def contract_of_order(self, *, tenant_id: str, order_id: str) -> str | None:
        found: str | None = self._tx.get("orders", (tenant_id, order_id))
        return found

    def load(self, *, tenant_id: str, contract_id: str) -> StoredContract | None:
        row = self._tx.get("contracts", (tenant_id, contract_id))
        if row is None:
            return None
        return contract_from(
            document=row["state"],
            rows=self._tx.get("obligations", (tenant_id, contract_id)) or {},
            status=row["status"],
            row_version=row["row_version"],
        )

    def open_contracts_of(self, *, tenant_id: str, customer_id: str) -> list[StoredContract]:
        found = []
        for (tenant, contract_id), row in self._tx.items("contracts"):
            if (
                tenant == tenant_id
                and row["customer_id"] == customer_id
                and row["status"] == "open"
            ):
                loaded = self.load(tenant_id=tenant_id, contract_id=contract_id)
                if loaded is not None:
                    found.append(loaded)
            if len(found) >= CONTRACTS_OF_CUSTOMER_MAX:
                break
        return found

    def save(
        self,
        *,
        tenant_id: str,
        contract: StoredContract,
        expected_row_version: int | None,
        now: datetime,
    ) -> int:
        state = contract.state
        key = (tenant_id, state.contract_id)
        current = self._tx.get("contracts", key)
        if expected_row_version is None and current is not None:
            raise ConcurrentWrite(f"contract {state.contract_id} already exists")
        if expected_row_version is not None and (
            current is None or current["row_version"] != expected_row_version
        ):
            raise ConcurrentWrite(f"contract {state.contract_id} changed since it was loaded")
        self._tx.expect(key, expected_row_version)
        new_version = 1 if expected_row_version is None else expected_row_version + 1
        self._tx.put(
            "contracts",
            key,
            {
                "customer_id": state.terms.customer_id,
                "status": contract.status,
                "row_version": new_version,
                "state": document_of(contract),
            },
        )
        rows = obligation_rows(state, tenant_id=tenant_id, now=now)
        self._tx.put("obligations", key, {row["obligation_id"]: row for row in rows})
        return new_version

    def map_orders(self, *, tenant_id: str, contract_id: str, order_ids: Sequence[str]) -> None:
        for order_id in order_ids:
            self._tx.put("orders", (tenant_id, order_id), contract_id)

    def drop(self, *, tenant_id: str, contract_id: str) -> None:
        self._tx.delete("contracts", (tenant_id, contract_id))
        self._tx.delete("obligations", (tenant_id, contract_id))

    def record_version(self, *, tenant_id: str, record: VersionRecord) -> None:
        key = (tenant_id, record.contract_id, record.version.version)
        if self._tx.get("versions", key) is None:
            self._tx.put("versions", key, record)

    def versions(self, *, tenant_id: str, contract_id: str) -> list[VersionRecord]:
        return [
            record
            for (tenant, contract, _version), record in self._tx.items("versions")
            if tenant == tenant_id and contract == contract_id
        ]

    # -- the month-end close --

    def close_inputs(
        self, *, tenant_id: str, after_contract: str | None, contracts_max: int
    ) -> CloseInputs:
        rows: list[dict[str, Any]] = []
        for (tenant, contract_id), obligations in self._tx.items("obligations"):
            if tenant != tenant_id or (
                after_contract is not None and contract_id <= after_contract
            ):
                continue
            rows.extend(obligations[oid] for oid in sorted(obligations))
        return close_inputs_from(rows, contracts_max=contracts_max)

    def write_close(
        self,
        *,
        tenant_id: str,
        period: str,
        inputs: CloseInputs,
        lines: Sequence[CloseLine],
        now: datetime,
    ) -> None:
        moves = close_updates(inputs=inputs, lines=lines)
        for line in lines:
            self._tx.put(
                "entries",
                (tenant_id, line.entry_id),
                (line.entry(period=period), inputs.customers[line.contract_id], now),
            )
        for contract_id in inputs.contract_ids:
            key = (tenant_id, contract_id)
            obligations = dict(self._tx.get("obligations", key) or {})
            for oid, committed in obligations.items():
                if (contract_id, oid) not in moves:
                    continue
                before, amount, scheduled = moves[contract_id, oid]
                row = dict(committed)
                if row["recognized_minor"] != before:
                    raise ConcurrentWrite(f"obligation {oid} changed during the close")
                row["recognized_minor"] += amount
                row["deferred_minor"] -= amount
                row["updated_at"] = now
                if scheduled:
                    through = period_index(period)
                    if row["ratable_through"] is not None:
                        through = max(through, row["ratable_through"])
                    row["ratable_through"] = through
                obligations[oid] = row
            self._tx.put("obligations", key, obligations)


class MemoryLedgerStore:
    def __init__(self, tx: RevenueTransaction) -> None:
        self._tx = tx

    def _seed(self, tenant_id: str) -> None:
        if any(t == tenant_id for (t, _code), _a in self._tx.items("accounts")):
            return
        for code, name, kind, gl_code in DEFAULT_CHART_ROWS:
            self._tx.put(
                "accounts",
                (tenant_id, code),
                AccountRecord(code=code, name=name, kind=kind, gl_code=gl_code, active=True),
            )

    def accounts(self, *, tenant_id: str, now: datetime) -> list[AccountRecord]:
        del now
        self._seed(tenant_id)
        found = [a for (t, _code), a in self._tx.items("accounts") if t == tenant_id]
        return sorted(found, key=lambda a: (a.gl_code, a.code))

    def chart(self, *, tenant_id: str, now: datetime) -> ChartOfAccounts:
        return chart_from_rows(
            (a.code, a.name, a.kind, a.gl_code)
            for a in self.accounts(tenant_id=tenant_id, now=now)
            if a.active
        )

    def update_account(
        self,
        *,
        tenant_id: str,
        code: str,
        name: str | None,
        gl_code: str | None,
        active: bool | None,
        now: datetime,
    ) -> AccountRecord | None:
        self._seed(tenant_id)
        current: AccountRecord | None = self._tx.get("accounts", (tenant_id, code))
        if current is None:
            return None
        updated = replace(
            current,
            name=current.name if name is None else name,
            gl_code=current.gl_code if gl_code is None else gl_code,
            active=current.active if active is None else active,
        )
        self._tx.put("accounts", (tenant_id, code), updated)
        del now
        return updated

    def periods(self, *, tenant_id: str) -> list[PeriodRecord]:
        return [p for (t, _period), p in self._tx.items("periods") if t == tenant_id]

    def calendar(self, *, tenant_id: str) -> PeriodCalendar:
        closed = frozenset(
            p.period for p in self.periods(tenant_id=tenant_id) if p.status == "closed"
        )
        return PeriodCalendar(closed=closed)

    def mark_closed(self, *, tenant_id: str, period: str, closed_at: datetime, actor: str) -> bool:
        current: PeriodRecord | None = self._tx.get("periods", (tenant_id, period))
        if current is not None and current.status == "closed":
            return False
        self._tx.put(
            "periods",
            (tenant_id, period),
            PeriodRecord(period=period, status="closed", closed_at=closed_at, closed_by=actor),
        )
        return True

    def append(
        self,
        *,
        tenant_id: str,
        entries: Sequence[JournalEntry],
        customer_id: str,
        recorded_at: datetime,
    ) -> int:
        check_entries(entries)
        codes = chart_from_rows(
            (a.code, a.name, a.kind, a.gl_code)
            for a in self.accounts(tenant_id=tenant_id, now=recorded_at)
        )
        added = 0
        for entry in entries:
            stored = self._tx.get("entries", (tenant_id, entry.entry_id))
            if stored is not None:
                if stored[0] != entry:
                    raise DuplicateEntry(
                        f"entry {entry.entry_id} is already stored with different content"
                    )
                continue
            # The SQL foreign key: every posting names an existing account.
            codes.require(p.account for p in entry.postings)
            self._tx.put("entries", (tenant_id, entry.entry_id), (entry, customer_id, recorded_at))
            added += 1
        return added

    def entries(
        self, *, tenant_id: str, contract_id: str | None = None, limit: int = ENTRIES_READ_MAX
    ) -> list[JournalEntry]:
        found = [
            value[0]
            for (t, _id), value in self._tx.items("entries")
            if t == tenant_id and (contract_id is None or value[0].contract_id == contract_id)
        ]
        return found[:limit]


class MemoryCatalogStore:
    def __init__(self, tx: RevenueTransaction) -> None:
        self._tx = tx

    def records(
        self, *, tenant_id: str, kind: CatalogKind | None = None, sku: str | None = None
    ) -> list[CatalogRecord]:
        return [
            record
            for (t, *_rest), record in self._tx.items("catalog")
            if t == tenant_id
            and (kind is None or record.kind == kind)
            and (sku is None or record.sku == sku)
        ]

    def catalogs(self, *, tenant_id: str) -> Catalogs:
        return catalogs_from(self.records(tenant_id=tenant_id))

    def add(
        self,
        *,
        tenant_id: str,
        body: TemplateVersion | SspRow,
        created_at: datetime,
        created_by: str,
    ) -> CatalogRecord:
        kind, sku, component, currency = key_of(body)
        versions = [
            key[5]
            for key, _r in self._tx.items("catalog")
            if key[:5] == (tenant_id, kind, sku, component, currency)
        ]
        record = CatalogRecord(
            kind="template" if kind == "template" else "ssp",
            sku=sku,
            component=component,
            currency=currency,
            version=max(versions, default=0) + 1,
            effective_from=body.effective_from,
            effective_to=body.effective_to,
            body=body,
            created_at=created_at,
            created_by=created_by,
        )
        self._tx.put("catalog", (tenant_id, kind, sku, component, currency, record.version), record)
        return record

    def settings(self, *, tenant_id: str) -> RevenueSettings:
        found: RevenueSettings | None = self._tx.get("settings", tenant_id)
        return found or RevenueSettings()

    def put_settings(
        self, *, tenant_id: str, settings: RevenueSettings, now: datetime, actor: str
    ) -> None:
        del now, actor
        self._tx.put("settings", tenant_id, settings)
