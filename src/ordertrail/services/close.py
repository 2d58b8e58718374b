"""Month-end close: recognize what is due through the period end, post it, close the period.

Contracts are read in batches of whole contracts (bounded memory), each batch in its own unit of
work: the domain computes the lines (domain.revenue.close_period), storage writes them in bulk
and moves the obligation rows set-wise. A crash between batches loses nothing: entry ids and
amounts are target-based, so running the close again posts only what is still due. The period
is closed in a last transaction; closing a closed period changes nothing and says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from ordertrail.domain.ledger import ClosedPeriod, period_index
from ordertrail.domain.revenue import CloseLine, close_period
from ordertrail.services.audit import entry_audit_records
from ordertrail.services.audit_ports import AuditUnitOfWork
from ordertrail.services.revenue_close import CloseInputs, close_updates
from ordertrail.services.revenue_ports import RevenueUnitOfWork

CONTRACTS_PER_BATCH = 20_000
BATCHES_MAX = 100_000


@dataclass(slots=True)
class CloseSummary:
    """What a close did: entries, amounts by (account, currency), obligations completed."""

    period: str
    entries: int = 0
    obligations_seen: int = 0
    obligations_completed: int = 0
    amounts_minor: dict[tuple[str, str], int] = field(default_factory=dict)
    already_closed: bool = False

    def add(self, account: str, currency: str, amount_minor: int) -> None:
        if amount_minor:
            key = (account, currency)
            self.amounts_minor[key] = self.amounts_minor.get(key, 0) + amount_minor


def run_close(
    *,
    uow_factory: Callable[[], RevenueUnitOfWork],
    tenant_id: str,
    period: str,
    actor: str,
    now: Callable[[], datetime],
    contracts_per_batch: int = CONTRACTS_PER_BATCH,
    progress: Callable[[int], None] | None = None,
) -> CloseSummary:
    """Close `period` for a tenant; `progress` is told how many obligations each batch read."""
    period_index(period)
    summary = CloseSummary(period=period)
    with uow_factory() as uow:
        calendar = uow.ledger.calendar(tenant_id=tenant_id)
        uow.ledger.chart(tenant_id=tenant_id, now=now())
        uow.commit()
    if calendar.is_closed(period_index(period)):
        summary.already_closed = True
        return summary
    after: str | None = None
    for _ in range(BATCHES_MAX):
        with uow_factory() as uow:
            inputs = uow.revenue.close_inputs(
                tenant_id=tenant_id, after_contract=after, contracts_max=contracts_per_batch
            )
            if not inputs.contract_ids:
                break
            result = close_period(
                period=period,
                items=inputs.items,
                positions=inputs.positions_minor,
                calendar=calendar,
            )
            uow.revenue.write_close(
                tenant_id=tenant_id, period=period, inputs=inputs, lines=result.lines, now=now()
            )
            # The close's entries are vouched for in the audit chain like the consumer's, in the
            # same transaction, so `ordertrail audit verify` covers every entry in the journal.
            cast(AuditUnitOfWork, uow).audit.append(
                tenant_id=tenant_id,
                records=entry_audit_records(
                    [line.entry(period=period) for line in result.lines],
                    actor=actor,
                    cause=None,
                    occurred_at=now(),
                ),
            )
            uow.commit()
        _count(summary, inputs, result.lines)
        if progress is not None:
            progress(len(inputs.items))
        after = inputs.last_contract
    with uow_factory() as uow:
        closed = uow.ledger.mark_closed(
            tenant_id=tenant_id, period=period, closed_at=now(), actor=actor
        )
        uow.commit()
    if not closed:
        raise ClosedPeriod(period)
    return summary


def _count(summary: CloseSummary, inputs: CloseInputs, lines: Sequence[CloseLine]) -> None:
    summary.obligations_seen += len(inputs.items)
    summary.entries += len(lines)
    moves = close_updates(inputs=inputs, lines=lines)
    for line in lines:
        summary.add(line.revenue_account, line.currency, -line.revenue_minor)
        summary.add("contract_liabilities", line.currency, line.liability_minor)
        summary.add("contract_assets", line.currency, line.asset_minor)
        key = (line.contract_id, line.obligation_id)
        before, amount, _scheduled = moves[key]
        if before + amount == inputs.allocated_minor[key]:
            summary.obligations_completed += 1
