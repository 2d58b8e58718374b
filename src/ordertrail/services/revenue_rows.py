"""A contract as storage holds it: a document plus one row of balances per obligation.

The obligation rows are authoritative for posted balances (the month-end close moves them
set-wise without reading documents), so the document is stored without them and loading
overlays them back. The contract liability and asset are not stored either: they always equal
billed less satisfied, split by sign (posting.check_position enforces it on every entry), so
they are derived on load.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson

from ordertrail.domain.ledger import JournalEntry, UnbalancedEntry, check_balanced
from ordertrail.domain.revenue import (
    ContractState,
    ModificationDecision,
    ModifyContract,
    OrderFacts,
)
from ordertrail.domain.revenue.posting import contract_leg
from ordertrail.domain.revenue.state import ContractVersion, RoleBalances, schedule_of
from ordertrail.services.revenue_codec import dumps, from_plain, loads, to_plain
from ordertrail.services.revenue_ports import (
    ContractStatus,
    StoredContract,
    UnbalancedJournal,
    VersionRecord,
)

# The obligation-row columns that carry posted balances, by RoleBalances field.
BALANCE_COLUMNS = (
    ("revenue", "recognized_minor"),
    ("refund_liability", "refund_liability_minor"),
    ("return_asset", "return_asset_minor"),
    ("cost_of_sales", "cost_of_sales_minor"),
    ("inventory", "inventory_minor"),
)


@dataclass(frozen=True, slots=True)
class _Document:
    state: ContractState
    orders: tuple[OrderFacts, ...]


def document_of(contract: StoredContract) -> str:
    """The stored document: the state with zeroed posted balances, and the source orders."""
    bare = replace(
        contract.state,
        obligations=tuple(replace(ob, posted=RoleBalances()) for ob in contract.state.obligations),
        contract_liability_minor=0,
        contract_asset_minor=0,
    )
    return dumps(_Document(state=bare, orders=contract.orders))


def full_document_of(contract: StoredContract) -> str:
    """The contract with its balances, as a modification's version keeps what came before."""
    return dumps(_Document(state=contract.state, orders=contract.orders))


def contract_from_document(document: str) -> StoredContract:
    """Read back `full_document_of` (status and row version are the caller's to know)."""
    doc: _Document = from_plain(_Document, orjson.loads(document))
    return StoredContract(state=doc.state, orders=doc.orders, status="open", row_version=0)


def status_of(state: ContractState, *, cancelled: bool = False) -> ContractStatus:
    if cancelled:
        return "cancelled"
    return "open" if any(ob.has_remainder for ob in state.obligations) else "complete"


def obligation_rows(state: ContractState, *, tenant_id: str, now: datetime) -> list[dict[str, Any]]:
    """One row per obligation; the contract's billed amount rides on its first row only, so
    summing billed_minor over a contract's rows gives what it billed."""
    rows = []
    for index, ob in enumerate(state.obligations):
        o = ob.obligation
        schedule = schedule_of(ob)
        progress = o.method == "cost_to_cost"
        row: dict[str, Any] = {
            "tenant_id": tenant_id,
            "obligation_id": ob.obligation_id,
            "contract_id": state.contract_id,
            "customer_id": state.terms.customer_id,
            "sku": o.sku,
            "component": o.component,
            "nature": o.nature,
            "timing": o.timing,
            "trigger": o.trigger,
            "method": o.method,
            "currency": state.currency,
            "revenue_account": o.revenue_account,
            "allocated_minor": ob.allocated_minor,
            "deferred_minor": ob.unrecognized_minor,
            "billed_minor": state.billed_minor if index == 0 else None,
            "quantity": o.quantity,
            "transferred_units": ob.transferred_units,
            "returned_units": ob.returned_units,
            "service_start": o.service_start,
            "service_end": o.service_end,
            "schedule_first_period": None if schedule is None else schedule.first_period,
            "schedule_amounts": None
            if schedule is None
            else orjson.dumps(list(schedule.amounts_minor)).decode(),
            "ratable_through": ob.ratable_through,
            "progress_done": ob.progress_done if progress else 0,
            "progress_total": ob.progress_total if progress else 0,
            "active": ob.active,
            "updated_at": now,
        }
        for role, column in BALANCE_COLUMNS:
            row[column] = getattr(ob.posted, role)
        rows.append(row)
    return rows


def contract_from(
    *,
    document: str,
    rows: Mapping[str, Mapping[str, Any]],
    status: ContractStatus,
    row_version: int,
) -> StoredContract:
    """Rebuild a stored contract from its document and its obligation rows (by id)."""
    plain = orjson.loads(document)
    doc: _Document = from_plain(_Document, plain)
    state = doc.state
    obligations = []
    for ob in state.obligations:
        row = rows[ob.obligation_id]
        posted = RoleBalances(**{role: row[column] for role, column in BALANCE_COLUMNS})
        obligations.append(replace(ob, posted=posted, ratable_through=row["ratable_through"]))
    overlaid = replace(state, obligations=tuple(obligations))
    liability, asset = contract_leg(overlaid.position_minor)
    overlaid = replace(overlaid, contract_liability_minor=liability, contract_asset_minor=asset)
    return StoredContract(state=overlaid, orders=doc.orders, status=status, row_version=row_version)


@dataclass(frozen=True, slots=True)
class VersionBody:
    """The stored body of a contract version: the version and, for a modification, why."""

    version: ContractVersion
    decision: ModificationDecision | None
    modification: ModifyContract | None = None
    before: str | None = None


def version_body_of(record: VersionRecord) -> str:
    return dumps(
        VersionBody(
            version=record.version,
            decision=record.decision,
            modification=record.modification,
            before=record.before,
        )
    )


def version_record_of(
    *, contract_id: str, body: str, currency: str, recorded_at: datetime
) -> VersionRecord:
    stored = loads(VersionBody, body)
    return VersionRecord(
        contract_id=contract_id,
        version=stored.version,
        decision=stored.decision,
        currency=currency,
        recorded_at=recorded_at,
        modification=stored.modification,
        before=stored.before,
    )


def plain_of(value: Any) -> Any:
    """JSON-ready values of a record (for version bodies and API answers)."""
    return to_plain(value)


def check_entries(entries: Iterable[JournalEntry]) -> None:
    """Refuse entries that do not balance per currency or have fewer than two postings.

    JournalEntry can be built directly, bypassing journal_entry()'s checks; storage checks again.
    """
    for entry in entries:
        if len(entry.postings) < 2:
            raise UnbalancedJournal(f"entry {entry.entry_id} has fewer than two postings")
        try:
            check_balanced(entry_id=entry.entry_id, postings=entry.postings)
        except UnbalancedEntry as error:
            raise UnbalancedJournal(str(error)) from None
