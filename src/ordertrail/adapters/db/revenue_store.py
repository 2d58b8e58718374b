"""Contracts on SQL: the contract document, its obligation rows, order map and versions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

# tables first: it imports every area's tables module, whose cross-imports need it complete.
from ordertrail.adapters.db import tables as _tables  # noqa: F401
from ordertrail.adapters.db.revenue_close_store import (
    read_close_inputs,
    revenue_lock,
    write_close,
)
from ordertrail.adapters.db.tables_revenue import (
    revenue_contract_orders,
    revenue_contract_versions,
    revenue_contracts,
    revenue_obligations,
)
from ordertrail.domain.revenue import CloseLine
from ordertrail.services.ports import ConcurrentWrite
from ordertrail.services.revenue_close import CloseInputs
from ordertrail.services.revenue_ports import (
    CONTRACTS_OF_CUSTOMER_MAX,
    StoredContract,
    VersionRecord,
)
from ordertrail.services.revenue_rows import (
    contract_from,
    document_of,
    obligation_rows,
    version_body_of,
    version_record_of,
)

VERSIONS_READ_MAX = 10_000


def upsert_obligations(connection: Connection) -> Any:
    """INSERT ... ON CONFLICT (its primary key) DO UPDATE every other column."""
    o = revenue_obligations
    statement = pg_insert(o) if connection.dialect.name == "postgresql" else sqlite_insert(o)
    keys = {"tenant_id", "contract_id", "obligation_id"}
    return statement.on_conflict_do_update(
        index_elements=[o.c.tenant_id, o.c.contract_id, o.c.obligation_id],
        set_={c.name: statement.excluded[c.name] for c in o.columns if c.name not in keys},
    )


def insert_ignoring_duplicates(connection: Connection, table: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING in the connection's dialect."""
    if connection.dialect.name == "postgresql":
        return pg_insert(table).on_conflict_do_nothing()
    return sqlite_insert(table).on_conflict_do_nothing()


class SqlRevenueStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def contract_of_order(self, *, tenant_id: str, order_id: str) -> str | None:
        t = revenue_contract_orders
        found: str | None = self._connection.execute(
            select(t.c.contract_id).where(t.c.tenant_id == tenant_id, t.c.order_id == order_id)
        ).scalar()
        return found

    def _load_rows(self, tenant_id: str, contract_ids: Sequence[str]) -> list[StoredContract]:
        if not contract_ids:
            return []
        # Shared with other handlers, exclusive against a close batch (revenue_close_store.py).
        revenue_lock(self._connection, tenant_id=tenant_id, exclusive=False)
        c = revenue_contracts
        query = select(c.c.contract_id, c.c.state, c.c.status, c.c.row_version).where(
            c.c.tenant_id == tenant_id, c.c.contract_id.in_(contract_ids)
        )
        if self._connection.dialect.name == "postgresql":
            query = query.with_for_update()
        contracts = self._connection.execute(query.order_by(c.c.contract_id)).all()
        o = revenue_obligations
        rows: dict[str, dict[str, dict[str, Any]]] = {}
        for row in self._connection.execute(
            select(o).where(o.c.tenant_id == tenant_id, o.c.contract_id.in_(contract_ids))
        ).mappings():
            rows.setdefault(row["contract_id"], {})[row["obligation_id"]] = dict(row)
        return [
            contract_from(
                document=contract.state,
                rows=rows.get(contract.contract_id, {}),
                status=contract.status,
                row_version=contract.row_version,
            )
            for contract in contracts
        ]

    def load(self, *, tenant_id: str, contract_id: str) -> StoredContract | None:
        found = self._load_rows(tenant_id, [contract_id])
        return found[0] if found else None

    def open_contracts_of(self, *, tenant_id: str, customer_id: str) -> list[StoredContract]:
        c = revenue_contracts
        ids = self._connection.execute(
            select(c.c.contract_id)
            .where(c.c.tenant_id == tenant_id, c.c.customer_id == customer_id, c.c.status == "open")
            .order_by(c.c.contract_id)
            .limit(CONTRACTS_OF_CUSTOMER_MAX)
        ).scalars()
        return self._load_rows(tenant_id, list(ids))

    def save(
        self,
        *,
        tenant_id: str,
        contract: StoredContract,
        expected_row_version: int | None,
        now: datetime,
    ) -> int:
        state = contract.state
        revenue_lock(self._connection, tenant_id=tenant_id, exclusive=False)
        c = revenue_contracts
        values = {
            "customer_id": state.terms.customer_id,
            "currency": state.currency,
            "status": contract.status,
            "contract_version": state.versions[-1].version,
            "state": document_of(contract),
            "updated_at": now,
        }
        if expected_row_version is None:
            new_version = 1
            inserted = self._connection.execute(
                insert_ignoring_duplicates(self._connection, c)
                .values(
                    tenant_id=tenant_id,
                    contract_id=state.contract_id,
                    row_version=new_version,
                    created_at=now,
                    **values,
                )
                .returning(c.c.contract_id)
            ).first()
            if inserted is None:
                raise ConcurrentWrite(f"contract {state.contract_id} already exists")
        else:
            new_version = expected_row_version + 1
            updated = self._connection.execute(
                update(c)
                .where(
                    c.c.tenant_id == tenant_id,
                    c.c.contract_id == state.contract_id,
                    c.c.row_version == expected_row_version,
                )
                .values(row_version=new_version, **values)
            )
            if updated.rowcount != 1:
                raise ConcurrentWrite(f"contract {state.contract_id} changed since it was loaded")
        rows = obligation_rows(state, tenant_id=tenant_id, now=now)
        if rows:
            # Rows are updated in place, never deleted and re-inserted: the close locks them
            # and must find their newest version (revenue_close_store.py).
            self._connection.execute(upsert_obligations(self._connection), rows)
        # A changed treatment can drop obligations a modification had made.
        o = revenue_obligations
        self._connection.execute(
            delete(o).where(
                o.c.tenant_id == tenant_id,
                o.c.contract_id == state.contract_id,
                o.c.obligation_id.not_in([row["obligation_id"] for row in rows]),
            )
        )
        return new_version

    def map_orders(self, *, tenant_id: str, contract_id: str, order_ids: Sequence[str]) -> None:
        t = revenue_contract_orders
        for order_id in order_ids:
            moved = self._connection.execute(
                update(t)
                .where(t.c.tenant_id == tenant_id, t.c.order_id == order_id)
                .values(contract_id=contract_id)
            )
            if moved.rowcount == 0:
                self._connection.execute(
                    insert(t).values(
                        tenant_id=tenant_id, order_id=order_id, contract_id=contract_id
                    )
                )

    def drop(self, *, tenant_id: str, contract_id: str) -> None:
        for table in (revenue_obligations, revenue_contracts):
            self._connection.execute(
                delete(table).where(
                    and_(table.c.tenant_id == tenant_id, table.c.contract_id == contract_id)
                )
            )

    def close_inputs(
        self, *, tenant_id: str, after_contract: str | None, contracts_max: int
    ) -> CloseInputs:
        return read_close_inputs(
            self._connection,
            tenant_id=tenant_id,
            after_contract=after_contract,
            contracts_max=contracts_max,
        )

    def write_close(
        self,
        *,
        tenant_id: str,
        period: str,
        inputs: CloseInputs,
        lines: Sequence[CloseLine],
        now: datetime,
    ) -> None:
        write_close(
            self._connection,
            tenant_id=tenant_id,
            period=period,
            inputs=inputs,
            lines=lines,
            now=now,
        )

    def record_version(self, *, tenant_id: str, record: VersionRecord) -> None:
        v = record.version
        self._connection.execute(
            insert_ignoring_duplicates(self._connection, revenue_contract_versions).values(
                tenant_id=tenant_id,
                contract_id=record.contract_id,
                version=v.version,
                effective_on=v.effective_on,
                treatment=v.treatment,
                reason=v.reason,
                cause_event_id=v.cause_event_id,
                transaction_price_minor=v.transaction_price_minor,
                currency=record.currency,
                body=version_body_of(record),
                recorded_at=record.recorded_at,
            )
        )

    def versions(self, *, tenant_id: str, contract_id: str) -> list[VersionRecord]:
        t = revenue_contract_versions
        result = self._connection.execute(
            select(t.c.body, t.c.currency, t.c.recorded_at)
            .where(t.c.tenant_id == tenant_id, t.c.contract_id == contract_id)
            .order_by(t.c.version)
            .limit(VERSIONS_READ_MAX)
        )
        return [
            version_record_of(
                contract_id=contract_id, body=body, currency=currency, recorded_at=recorded_at
            )
            for body, currency, recorded_at in result
        ]
