"""Month-end close as a pure function over many obligations, kept to plain ints for speed.

For each open over-time obligation the close computes the revenue its schedule (or its measure
of progress) calls for through the period end, less what is already recognized, and posts the
difference. Running it again with the recognized amounts updated yields nothing; running it
again with the same inputs yields the same entries with the same ids, which a unique constraint
on entry ids turns into a no-op. Per obligation the work is one pass over its schedule.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from ordertrail.domain.ledger import (
    JournalEntry,
    PeriodCalendar,
    Posting,
    entry_ids_for,
    last_day,
    period_index,
)
from ordertrail.domain.revenue.allocation import share
from ordertrail.domain.revenue.errors import InvalidFact
from ordertrail.domain.revenue.facts import ClosePeriod
from ordertrail.domain.revenue.state import ContractState, schedule_of

KIND = "close"
LIABILITY = "contract_liabilities"
ASSET = "contract_assets"
CLOSE_ITEMS_MAX = 50_000_000


class CloseItem(NamedTuple):
    """One open over-time obligation as the close needs it.

    Either a schedule (`first_period` month index and `amounts_minor`) or a measure of progress
    (`progress_done` of `progress_total`) says what should be recognized; `recognized_minor` is
    what already is. An entry's id names the amount it brings revenue to, so a close run again
    after a late fact makes new ids, and one run again on unchanged inputs makes the same.
    A tuple, so a storage adapter can build a million from rows cheaply.
    """

    contract_id: str
    obligation_id: str
    currency: str
    revenue_account: str
    allocated_minor: int
    recognized_minor: int
    first_period: int = 0
    amounts_minor: tuple[int, ...] = ()
    progress_done: int = 0
    progress_total: int = 0


class CloseLine(NamedTuple):
    """One obligation's close entry in flat form (a tuple: cheap to build a million of, and
    the shape a bulk insert wants). `entry()` gives the same thing as a JournalEntry."""

    entry_id: str
    contract_id: str
    obligation_id: str
    currency: str
    revenue_account: str
    revenue_minor: int
    liability_minor: int
    asset_minor: int

    def entry(self, *, period: str) -> JournalEntry:
        """The journal entry of this line: Dr contract liability / Dr contract asset, Cr revenue
        (signs mirror for a negative catch-down)."""
        cause = ClosePeriod(period=period).event_id
        on = last_day(period_index(period))
        made = [(self.revenue_account, -self.revenue_minor)]
        made += [(LIABILITY, self.liability_minor), (ASSET, self.asset_minor)]
        postings = tuple(
            Posting(account, amount, self.currency, self.contract_id, self.obligation_id, cause)
            for account, amount in made
            if amount
        )
        return JournalEntry(
            self.entry_id, KIND, self.contract_id, self.obligation_id, cause, on, on, postings
        )


@dataclass(frozen=True, slots=True)
class CloseResult:
    """The close lines a close produced and each touched contract's position afterwards."""

    period: str
    lines: tuple[CloseLine, ...]
    positions_minor: dict[str, int]

    @property
    def recognized_minor(self) -> int:
        return sum(line.revenue_minor for line in self.lines)

    def entries(self) -> Iterator[JournalEntry]:
        """The journal entries, built one at a time so a million need not sit in memory."""
        for line in self.lines:
            yield line.entry(period=self.period)


def due_minor(item: CloseItem, period: int) -> int:
    """Return what an item should recognize in the close of a month index (may be negative)."""
    if item.amounts_minor:
        count = period - item.first_period + 1
        target = sum(item.amounts_minor[:count]) if count > 0 else 0
    elif item.progress_total > 0:
        target = share(
            total_minor=item.allocated_minor, part=item.progress_done, whole=item.progress_total
        )
    else:
        return 0
    return target - item.recognized_minor


def close_period(
    *,
    period: str,
    items: Iterable[CloseItem],
    positions: Mapping[str, int],
    calendar: PeriodCalendar,
) -> CloseResult:
    """Compute the entries due at the end of `period` for every item.

    `positions` is each contract's billed amount less the consideration for what has
    transferred, before the close (positive: contract liability; negative: contract asset).
    Items of one contract are applied in the order given and must come in the same call; call
    it in batches of whole contracts to bound memory.
    """
    index = period_index(period)
    calendar.require_open(index)
    entry_id = entry_ids_for(cause_event_id=ClosePeriod(period=period).event_id, kind=KIND)
    running = dict(positions)
    lines = []
    for count, item in enumerate(items):
        if count >= CLOSE_ITEMS_MAX:
            raise InvalidFact(f"a close handles at most {CLOSE_ITEMS_MAX} obligations")
        due = due_minor(item, index)
        if due == 0:
            continue
        contract = item.contract_id
        before = running.get(contract, 0)
        after = before - due
        running[contract] = after
        # The contract-level leg keeps liability = max(position, 0), asset = max(-position, 0),
        # so the debit side is the liability first, then the asset (ASC 606-10-45-1).
        lines.append(
            CloseLine(
                entry_id(contract, item.obligation_id, f"to:{item.recognized_minor + due}"),
                contract,
                item.obligation_id,
                item.currency,
                item.revenue_account,
                due,
                max(before, 0) - max(after, 0),
                max(-after, 0) - max(-before, 0),
            )
        )
    return CloseResult(period=period, lines=tuple(lines), positions_minor=running)


def close_items_of(state: ContractState) -> list[CloseItem]:
    """The close items of one contract's open over-time obligations."""
    items = []
    for ob in state.obligations:
        if not ob.active or ob.obligation.timing != "over_time":
            continue
        schedule = schedule_of(ob)
        progress = ob.obligation.method == "cost_to_cost"
        if schedule is None and not progress:
            continue
        items.append(
            CloseItem(
                contract_id=state.contract_id,
                obligation_id=ob.obligation_id,
                currency=state.currency,
                revenue_account=ob.obligation.revenue_account,
                allocated_minor=ob.allocated_minor,
                recognized_minor=ob.posted.revenue,
                first_period=0 if schedule is None else schedule.first_period,
                amounts_minor=() if schedule is None else schedule.amounts_minor,
                progress_done=ob.progress_done if progress else 0,
                progress_total=ob.progress_total if progress else 0,
            )
        )
    return items


def positions_of(states: Sequence[ContractState]) -> dict[str, int]:
    """Each contract's position (billed less satisfied) as the close expects it."""
    return {state.contract_id: state.position_minor for state in states}
