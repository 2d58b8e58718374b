"""What the month-end close reads from obligation rows and writes back, storage-neutral.

Storage hands the close a batch of whole contracts' obligation rows; this module turns them into
the domain's CloseItems and each contract's position (billed less satisfied) and, after the
domain has computed the lines, into the per-obligation updates storage applies set-wise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ordertrail.domain.revenue import CloseItem, CloseLine


@dataclass(frozen=True, slots=True)
class CloseInputs:
    """One batch of whole contracts: the close items, positions and who the customers are."""

    items: list[CloseItem]
    positions_minor: dict[str, int]
    customers: dict[str, str]
    contract_ids: list[str]
    # What the batch covers: contracts after the previous batch's last, through this one.
    last_contract: str | None
    # (contract id, obligation id) -> allocated amount, to count obligations a close completes.
    allocated_minor: dict[tuple[str, str], int]


def close_item_of(row: Mapping[str, Any]) -> CloseItem | None:
    """The close item of an obligation row, or None when the close has nothing to measure."""
    if not row["active"] or row["timing"] != "over_time":
        return None
    if row["schedule_amounts"] is not None:
        return CloseItem(
            row["contract_id"],
            row["obligation_id"],
            row["currency"],
            row["revenue_account"],
            row["allocated_minor"],
            row["recognized_minor"],
            row["schedule_first_period"],
            tuple(orjson.loads(row["schedule_amounts"])),
        )
    if row["method"] == "cost_to_cost":
        return CloseItem(
            row["contract_id"],
            row["obligation_id"],
            row["currency"],
            row["revenue_account"],
            row["allocated_minor"],
            row["recognized_minor"],
            progress_done=row["progress_done"],
            progress_total=row["progress_total"],
        )
    return None


def close_inputs_from(rows: Iterable[Mapping[str, Any]], *, contracts_max: int) -> CloseInputs:
    """Build a batch from obligation rows ordered by contract then obligation id, keeping at
    most `contracts_max` whole contracts."""
    items: list[CloseItem] = []
    positions: dict[str, int] = {}
    customers: dict[str, str] = {}
    allocated: dict[tuple[str, str], int] = {}
    contract_ids: list[str] = []
    for row in rows:
        contract_id = row["contract_id"]
        if contract_id not in positions:
            if len(contract_ids) >= contracts_max:
                break
            contract_ids.append(contract_id)
            positions[contract_id] = 0
            customers[contract_id] = row["customer_id"]
        positions[contract_id] += (row["billed_minor"] or 0) - (
            row["recognized_minor"] + row["refund_liability_minor"]
        )
        item = close_item_of(row)
        if item is not None:
            items.append(item)
            allocated[item.contract_id, item.obligation_id] = item.allocated_minor
    return CloseInputs(
        items=items,
        positions_minor=positions,
        customers=customers,
        contract_ids=contract_ids,
        last_contract=contract_ids[-1] if contract_ids else None,
        allocated_minor=allocated,
    )


def close_updates(
    *, inputs: CloseInputs, lines: Sequence[CloseLine]
) -> dict[tuple[str, str], tuple[int, int, bool]]:
    """(contract id, obligation id) -> (recognized before, amount recognized now, scheduled).

    Scheduled items are listed even when nothing is due: their `ratable_through` moves to the
    period either way, in the same set-based update.
    """
    due = {(line.contract_id, line.obligation_id): line.revenue_minor for line in lines}
    return {
        (item.contract_id, item.obligation_id): (
            item.recognized_minor,
            due.get((item.contract_id, item.obligation_id), 0),
            bool(item.amounts_minor),
        )
        for item in inputs.items
        if (item.contract_id, item.obligation_id) in due or item.amounts_minor
    }
