"""The revenue engine's storage ports: contracts, the ledger, catalogs and settings.

The SQL adapters (adapters/db/revenue_store.py, ledger_store.py, catalog_store.py) and the
in-memory fakes (adapters/memory/revenue.py) implement them; one contract suite runs against
all three (tests/contract/test_revenue_storage_contract.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal, Protocol

from ordertrail.domain.ledger import ChartOfAccounts, JournalEntry, PeriodCalendar
from ordertrail.domain.revenue import (
    AllocationPolicy,
    Catalogs,
    CloseLine,
    CombinationRule,
    ContractState,
    ModificationDecision,
    ModifyContract,
    OrderFacts,
    SspRow,
    TemplateVersion,
)
from ordertrail.domain.revenue.state import ContractVersion
from ordertrail.services.messaging import ConsumerUnitOfWork

if TYPE_CHECKING:
    from ordertrail.services.revenue_close import CloseInputs

ContractStatus = Literal["open", "complete", "cancelled"]
CatalogKind = Literal["template", "ssp"]

CONTRACTS_OF_CUSTOMER_MAX = 1_000
ENTRIES_READ_MAX = 100_000


class DuplicateEntry(Exception):
    """An entry id already stored with different content: the same cause cannot mean two things."""


class UnbalancedJournal(Exception):
    """Entries written in this transaction do not balance per currency (the SQLite check)."""


@dataclass(frozen=True, slots=True)
class ReturnDefault:
    """A tenant's expected return rate for a SKU, applied to its returnable lines."""

    sku: str
    expected_return_rate_bp: int
    unit_cost_minor: int | None = None


@dataclass(frozen=True, slots=True)
class RevenueSettings:
    """A tenant's revenue policy choices (docs/revenue/policies.md).

    `time_zone` is the reporting zone that turns an event's instant into an accounting date.
    """

    combination: CombinationRule = field(default_factory=CombinationRule)
    allocation: AllocationPolicy = field(default_factory=AllocationPolicy)
    returns: tuple[ReturnDefault, ...] = ()
    time_zone: str = "UTC"


@dataclass(frozen=True, slots=True)
class StoredContract:
    """A contract as stored: its state (balances overlaid from the obligation rows), the orders
    it was made from, its status and the row version an update must still find."""

    state: ContractState
    orders: tuple[OrderFacts, ...]
    status: ContractStatus
    row_version: int


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """One contract version. A modification's record also keeps the fact and the contract as
    it stood before (its document), so its treatment can be changed on request."""

    contract_id: str
    version: ContractVersion
    decision: ModificationDecision | None
    currency: str
    recorded_at: datetime
    modification: ModifyContract | None = None
    before: str | None = None


@dataclass(frozen=True, slots=True)
class AccountRecord:
    code: str
    name: str
    kind: str
    gl_code: str
    active: bool


@dataclass(frozen=True, slots=True)
class PeriodRecord:
    period: str
    status: Literal["open", "closed"]
    closed_at: datetime | None
    closed_by: str | None


@dataclass(frozen=True, slots=True)
class CatalogRecord:
    """One stored catalog row: a template version or an SSP row, with its version number."""

    kind: CatalogKind
    sku: str
    component: str
    currency: str
    version: int
    effective_from: date
    effective_to: date | None
    body: TemplateVersion | SspRow
    created_at: datetime
    created_by: str


class RevenueStore(Protocol):
    def contract_of_order(self, *, tenant_id: str, order_id: str) -> str | None:
        """The id of the contract an order belongs to, if it belongs to one."""
        ...

    def load(self, *, tenant_id: str, contract_id: str) -> StoredContract | None:
        """Load a contract with each obligation's balances overlaid from its row."""
        ...

    def open_contracts_of(self, *, tenant_id: str, customer_id: str) -> list[StoredContract]:
        """The customer's open contracts (bounded), for the combination rule."""
        ...

    def save(
        self,
        *,
        tenant_id: str,
        contract: StoredContract,
        expected_row_version: int | None,
        now: datetime,
    ) -> int:
        """Insert (expected None) or update a contract and its obligation rows; return the new
        row version. Raise ConcurrentWrite when the row version moved on."""
        ...

    def map_orders(self, *, tenant_id: str, contract_id: str, order_ids: Sequence[str]) -> None:
        """Point orders at a contract (moving them when contracts are combined)."""
        ...

    def drop(self, *, tenant_id: str, contract_id: str) -> None:
        """Remove a contract that was combined into another before anything was posted."""
        ...

    def close_inputs(
        self, *, tenant_id: str, after_contract: str | None, contracts_max: int
    ) -> CloseInputs:
        """The next batch of whole contracts (after `after_contract`) the close reads."""
        ...

    def write_close(
        self,
        *,
        tenant_id: str,
        period: str,
        inputs: CloseInputs,
        lines: Sequence[CloseLine],
        now: datetime,
    ) -> None:
        """Write a batch's close entries in bulk and move its obligations' balances set-wise;
        raise ConcurrentWrite if an obligation moved since it was read."""
        ...

    def record_version(self, *, tenant_id: str, record: VersionRecord) -> None:
        """Append a contract version; the same version again is a no-op."""
        ...

    def versions(self, *, tenant_id: str, contract_id: str) -> list[VersionRecord]: ...


class LedgerStore(Protocol):
    def chart(self, *, tenant_id: str, now: datetime) -> ChartOfAccounts:
        """The tenant's active accounts, seeding the default chart on first use."""
        ...

    def accounts(self, *, tenant_id: str, now: datetime) -> list[AccountRecord]: ...

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
        """Edit an account's name, GL code or active flag; None if there is no such account."""
        ...

    def calendar(self, *, tenant_id: str) -> PeriodCalendar: ...

    def periods(self, *, tenant_id: str) -> list[PeriodRecord]: ...

    def mark_closed(self, *, tenant_id: str, period: str, closed_at: datetime, actor: str) -> bool:
        """Close a period; False when it was closed already."""
        ...

    def append(
        self,
        *,
        tenant_id: str,
        entries: Sequence[JournalEntry],
        customer_id: str,
        recorded_at: datetime,
    ) -> int:
        """Append entries, idempotent on entry id; return how many were new.

        The same entry again is a no-op; a different entry with a stored id raises
        DuplicateEntry. Entries must balance per currency and have two postings or more.
        """
        ...

    def entries(
        self, *, tenant_id: str, contract_id: str | None = None, limit: int = ENTRIES_READ_MAX
    ) -> list[JournalEntry]:
        """Entries in id order (for tests, determinism checks and small reads)."""
        ...


class CatalogStore(Protocol):
    def catalogs(self, *, tenant_id: str) -> Catalogs:
        """The tenant's catalogs as the engine reads them (later versions win where they
        overlap earlier ones)."""
        ...

    def add(
        self,
        *,
        tenant_id: str,
        body: TemplateVersion | SspRow,
        created_at: datetime,
        created_by: str,
    ) -> CatalogRecord:
        """Append a new version of a template or SSP row."""
        ...

    def records(
        self, *, tenant_id: str, kind: CatalogKind | None = None, sku: str | None = None
    ) -> list[CatalogRecord]: ...

    def settings(self, *, tenant_id: str) -> RevenueSettings: ...

    def put_settings(
        self, *, tenant_id: str, settings: RevenueSettings, now: datetime, actor: str
    ) -> None: ...


class RevenueUnitOfWork(ConsumerUnitOfWork, Protocol):
    """The unit of work the revenue handler and services use."""

    revenue: RevenueStore
    ledger: LedgerStore
    catalog: CatalogStore
