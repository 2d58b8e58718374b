"""Revenue: ASC 606 / IFRS 15 contracts, obligations, allocation and recognition, as pure code.

It knows nothing of orders: a service handler turns order events into the facts here. See
docs/revenue/README.md for the entry points.
"""

from ordertrail.domain.revenue.allocation import AllocationPolicy, allocate_transaction_price
from ordertrail.domain.revenue.catalog import (
    Catalogs,
    ObligationTemplate,
    SspCatalog,
    SspRow,
    TemplateCatalog,
    TemplateVersion,
    catalogs_of,
)
from ordertrail.domain.revenue.close import (
    CloseItem,
    CloseLine,
    CloseResult,
    close_items_of,
    close_period,
    positions_of,
)
from ordertrail.domain.revenue.contracts import (
    CombinationRule,
    ContractTerms,
    LineFacts,
    OrderFacts,
    combine_orders,
    contract_terms_of,
)
from ordertrail.domain.revenue.engine import Applied, Fact, apply_fact
from ordertrail.domain.revenue.errors import (
    CreditExceedsBilled,
    DiscountEvidenceMismatch,
    InvalidContract,
    InvalidFact,
    InvalidTemplate,
    NoSsp,
    NoTemplate,
    OverlappingVersions,
    ResidualNotAppropriate,
    RevenueError,
)
from ordertrail.domain.revenue.facts import (
    ClosePeriod,
    IssueCreditNote,
    IssueInvoice,
    LineChange,
    LineQuantities,
    ModifyContract,
    RecordFulfilment,
    RecordProgress,
    SatisfyObligation,
)
from ordertrail.domain.revenue.inception import open_contract
from ordertrail.domain.revenue.modification_rules import (
    MODIFICATION_RULES,
    ModificationDecision,
    decide_treatment,
)
from ordertrail.domain.revenue.obligations import Obligation, identify_obligations
from ordertrail.domain.revenue.preview import preview
from ordertrail.domain.revenue.pricing import (
    Discount,
    DiscountEvidence,
    Outcome,
    PricingTerms,
    ReturnRight,
    VariableConsideration,
    determine_transaction_price,
)
from ordertrail.domain.revenue.schedules import Schedule, ratable_schedule
from ordertrail.domain.revenue.state import ContractState, ObligationState, targets_of

__all__ = [
    "MODIFICATION_RULES",
    "AllocationPolicy",
    "Applied",
    "Catalogs",
    "CloseItem",
    "CloseLine",
    "ClosePeriod",
    "CloseResult",
    "CombinationRule",
    "ContractState",
    "ContractTerms",
    "CreditExceedsBilled",
    "Discount",
    "DiscountEvidence",
    "DiscountEvidenceMismatch",
    "Fact",
    "InvalidContract",
    "InvalidFact",
    "InvalidTemplate",
    "IssueCreditNote",
    "IssueInvoice",
    "LineChange",
    "LineFacts",
    "LineQuantities",
    "ModificationDecision",
    "ModifyContract",
    "NoSsp",
    "NoTemplate",
    "Obligation",
    "ObligationState",
    "ObligationTemplate",
    "OrderFacts",
    "Outcome",
    "OverlappingVersions",
    "PricingTerms",
    "RecordFulfilment",
    "RecordProgress",
    "ResidualNotAppropriate",
    "ReturnRight",
    "RevenueError",
    "SatisfyObligation",
    "Schedule",
    "SspCatalog",
    "SspRow",
    "TemplateCatalog",
    "TemplateVersion",
    "VariableConsideration",
    "allocate_transaction_price",
    "apply_fact",
    "catalogs_of",
    "close_items_of",
    "close_period",
    "combine_orders",
    "contract_terms_of",
    "decide_treatment",
    "determine_transaction_price",
    "identify_obligations",
    "open_contract",
    "positions_of",
    "preview",
    "ratable_schedule",
    "targets_of",
]
