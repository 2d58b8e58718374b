"""Journal entries: immutable, balanced per currency, with ids derived from their causes.

An entry's id is a hash of what caused it (contract, obligation, cause event, kind), never a
random or sequential number, so replaying the same facts yields byte-identical entries and a
storage unique constraint on the id makes posting idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from hashlib import sha256

from ordertrail.domain.ledger.errors import InvalidEntry, UnbalancedEntry
from ordertrail.domain.ledger.periods import PeriodCalendar, month_index, period_key

POSTINGS_MAX = 64
ENTRY_ID_HEX_CHARS = 32
REVERSAL_KIND = "reversal"


@dataclass(frozen=True, slots=True)
class Posting:
    """One line of an entry: a signed amount (debit positive, credit negative) on one account.

    Every posting names the contract it concerns, the performance obligation when the entry is
    about one (None for contract-level documents such as invoices), and the tracking event that
    caused it, so any balance can be traced back to facts.
    """

    account: str
    amount_minor: int
    currency: str
    contract_id: str
    obligation_id: str | None
    cause_event_id: str

    @property
    def debit_minor(self) -> int:
        return self.amount_minor if self.amount_minor > 0 else 0

    @property
    def credit_minor(self) -> int:
        return -self.amount_minor if self.amount_minor < 0 else 0


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A balanced set of postings, dated in an open period.

    `occurred_on` is the date of the fact; `posted_on` equals it unless that month was closed,
    in which case the entry posts on the first day of the first open month and keeps the
    original date here.
    """

    entry_id: str
    kind: str
    contract_id: str
    obligation_id: str | None
    cause_event_id: str
    occurred_on: date
    posted_on: date
    postings: tuple[Posting, ...]
    reverses: str | None = None
    memo: str = ""

    @property
    def period(self) -> str:
        return period_key(month_index(self.posted_on))

    @property
    def corrected_into_later_period(self) -> bool:
        return month_index(self.posted_on) != month_index(self.occurred_on)


def entry_id_for(
    *,
    contract_id: str,
    obligation_id: str | None,
    cause_event_id: str,
    kind: str,
    reverses: str | None = None,
    detail: str | None = None,
) -> str:
    """Derive an entry id from its causes: the same causes always give the same id.

    `detail` distinguishes entries one cause can make more than once, such as a month-end
    close run again after a late fact (it names the amount the close brings revenue to).

    The key is netstring-like (each part prefixed by its length, None as "~"), so no two
    different tuples of causes share a key; it is cheap enough for the month-end close, which
    derives a million of these.
    """
    return entry_ids_for(cause_event_id=cause_event_id, kind=kind, reverses=reverses)(
        contract_id, obligation_id, detail
    )


def _key_part(part: str | None) -> str:
    return "~;" if part is None else f"{len(part)}:{part};"


def entry_ids_for(
    *, cause_event_id: str, kind: str, reverses: str | None = None
) -> Callable[[str, str | None, str | None], str]:
    """Return a function of (contract_id, obligation_id, detail) giving `entry_id_for` ids for
    one cause and kind; the shared part of the key is built once, which the close relies on."""
    middle = _key_part(cause_event_id) + _key_part(kind) + _key_part(reverses)

    def entry_id(contract_id: str, obligation_id: str | None, detail: str | None = None) -> str:
        key = _key_part(contract_id) + _key_part(obligation_id) + middle + _key_part(detail)
        return sha256(key.encode("utf-8")).hexdigest()[:ENTRY_ID_HEX_CHARS]

    return entry_id


def check_balanced(*, entry_id: str, postings: Iterable[Posting]) -> None:
    """Raise UnbalancedEntry unless the postings sum to zero in every currency."""
    sums: dict[str, int] = {}
    for posting in postings:
        sums[posting.currency] = sums.get(posting.currency, 0) + posting.amount_minor
    differences = {currency: total for currency, total in sums.items() if total != 0}
    if differences:
        raise UnbalancedEntry(entry_id, differences)


def journal_entry(
    *,
    kind: str,
    contract_id: str,
    obligation_id: str | None,
    cause_event_id: str,
    occurred_on: date,
    postings: Iterable[Posting],
    calendar: PeriodCalendar,
    reverses: str | None = None,
    memo: str = "",
    detail: str | None = None,
) -> JournalEntry:
    """Build an entry, refusing unbalanced or malformed ones and routing around closed periods."""
    entry_id = entry_id_for(
        contract_id=contract_id,
        obligation_id=obligation_id,
        cause_event_id=cause_event_id,
        kind=kind,
        reverses=reverses,
        detail=detail,
    )
    lines = tuple(postings)
    if len(lines) < 2:
        raise InvalidEntry(f"entry {entry_id} needs at least two postings, has {len(lines)}")
    if len(lines) > POSTINGS_MAX:
        raise InvalidEntry(f"entry {entry_id} has {len(lines)} postings; at most {POSTINGS_MAX}")
    for posting in lines:
        if type(posting.amount_minor) is not int or posting.amount_minor == 0:
            raise InvalidEntry(
                f"entry {entry_id}: posting to {posting.account} must be a non-zero int"
            )
    check_balanced(entry_id=entry_id, postings=lines)
    return JournalEntry(
        entry_id=entry_id,
        kind=kind,
        contract_id=contract_id,
        obligation_id=obligation_id,
        cause_event_id=cause_event_id,
        occurred_on=occurred_on,
        posted_on=calendar.posting_date(occurred_on),
        postings=lines,
        reverses=reverses,
        memo=memo,
    )


def reverse_entry(
    entry: JournalEntry, *, cause_event_id: str, occurred_on: date, calendar: PeriodCalendar
) -> JournalEntry:
    """Return the entry that mirrors `entry` posting for posting and references it.

    The original is never edited; the reversal is a new entry, dated in an open period.
    """
    mirrored = tuple(
        Posting(
            account=p.account,
            amount_minor=-p.amount_minor,
            currency=p.currency,
            contract_id=p.contract_id,
            obligation_id=p.obligation_id,
            cause_event_id=cause_event_id,
        )
        for p in entry.postings
    )
    return journal_entry(
        kind=REVERSAL_KIND,
        contract_id=entry.contract_id,
        obligation_id=entry.obligation_id,
        cause_event_id=cause_event_id,
        occurred_on=occurred_on,
        postings=mirrored,
        calendar=calendar,
        reverses=entry.entry_id,
        memo=f"reverses {entry.entry_id}",
    )
