"""Step 1: contracts from orders, combined by a configurable rule (ASC 606-10-25-9, IFRS 15.17).

Orders reach the revenue side as plain facts (`OrderFacts`), never as the order aggregate: a
service handler builds them from the milestone message's `order` field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ordertrail.domain.revenue.errors import InvalidContract

ORDERS_MAX = 10_000
LINES_MAX = 5_000
QUANTITY_MAX = 10_000_000
CONTRACT_ID_PREFIX = "ctr-"


@dataclass(frozen=True, slots=True)
class LineFacts:
    """One order line as the revenue side sees it: SKU, units and the stated unit price."""

    line_id: str
    sku: str
    quantity: int
    unit_price_minor: int

    def __post_init__(self) -> None:
        # Zero is allowed so a modification can cut a line to nothing; orders need at least one.
        if not 0 <= self.quantity <= QUANTITY_MAX:
            raise InvalidContract(f"line {self.line_id}: quantity must be within 0..{QUANTITY_MAX}")
        if self.unit_price_minor < 0:
            raise InvalidContract(f"line {self.line_id}: unit price cannot be negative")

    @property
    def amount_minor(self) -> int:
        return self.quantity * self.unit_price_minor


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """An order as placed: the source document of a contract."""

    order_id: str
    customer_id: str
    currency: str
    shipping_terms: str
    placed_on: date
    lines: tuple[LineFacts, ...]
    package_id: str | None = None

    def __post_init__(self) -> None:
        if not self.lines:
            raise InvalidContract(f"order {self.order_id} has no lines")
        if len(self.lines) > LINES_MAX:
            raise InvalidContract(f"order {self.order_id} has more than {LINES_MAX} lines")
        if any(line.quantity == 0 for line in self.lines):
            raise InvalidContract(f"order {self.order_id} has a line with no units")


@dataclass(frozen=True, slots=True)
class CombinationRule:
    """When orders form one contract.

    Orders combine when they have the same customer, were placed within `window_days` of each
    other, and, if `require_package_id`, carry the same package id (negotiated as one package,
    ASC 606-10-25-9(a)). A window of 0 with no package requirement combines nothing but
    same-day orders of one customer; `enabled=False` makes every order its own contract.
    """

    window_days: int = 0
    require_package_id: bool = True
    enabled: bool = True

    def combines(self, first: OrderFacts, second: OrderFacts) -> bool:
        if not self.enabled or first.customer_id != second.customer_id:
            return False
        if abs((first.placed_on - second.placed_on).days) > self.window_days:
            return False
        if self.require_package_id:
            return first.package_id is not None and first.package_id == second.package_id
        return True


def contract_id_for(orders: Sequence[OrderFacts]) -> str:
    """Name a contract after its earliest order, so adding a later order keeps the name."""
    first = min(orders, key=lambda order: (order.placed_on, order.order_id))
    return CONTRACT_ID_PREFIX + first.order_id


def combine_orders(
    *, orders: Sequence[OrderFacts], rule: CombinationRule
) -> list[tuple[OrderFacts, ...]]:
    """Group orders into contracts, each group ordered by (placed_on, order_id).

    Combination is transitive: if A combines with B and B with C, all three are one contract.
    """
    if len(orders) > ORDERS_MAX:
        raise InvalidContract(f"at most {ORDERS_MAX} orders can be combined at once")
    ordered = sorted(orders, key=lambda order: (order.placed_on, order.order_id))
    parent = list(range(len(ordered)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, first in enumerate(ordered):
        for j in range(i + 1, len(ordered)):
            second = ordered[j]
            if (second.placed_on - first.placed_on).days > rule.window_days:
                break
            if rule.combines(first, second):
                parent[root(j)] = root(i)
    groups: dict[int, list[OrderFacts]] = {}
    for i, order in enumerate(ordered):
        groups.setdefault(root(i), []).append(order)
    return [tuple(group) for group in groups.values()]


@dataclass(frozen=True, slots=True)
class ContractTerms:
    """What a contract is about: who, which orders, currency, shipping terms, inception."""

    contract_id: str
    customer_id: str
    currency: str
    shipping_terms: str
    inception_on: date
    order_ids: tuple[str, ...]
    lines: tuple[LineFacts, ...]


def contract_terms_of(orders: Sequence[OrderFacts]) -> ContractTerms:
    """Merge one group of orders into contract terms; lines keep their order, ids prefixed by
    order when more than one order is combined."""
    if not orders:
        raise InvalidContract("a contract needs at least one order")
    ordered = sorted(orders, key=lambda order: (order.placed_on, order.order_id))
    first = ordered[0]
    for order in ordered[1:]:
        if (order.currency, order.shipping_terms) != (first.currency, first.shipping_terms):
            raise InvalidContract(
                f"orders {first.order_id} and {order.order_id} differ in currency or shipping "
                "terms and cannot be one contract"
            )
    combined = len(ordered) > 1
    lines = tuple(
        LineFacts(
            line_id=f"{order.order_id}:{line.line_id}" if combined else line.line_id,
            sku=line.sku,
            quantity=line.quantity,
            unit_price_minor=line.unit_price_minor,
        )
        for order in ordered
        for line in order.lines
    )
    if len({line.line_id for line in lines}) != len(lines):
        raise InvalidContract("line ids must be unique within a contract")
    return ContractTerms(
        contract_id=contract_id_for(ordered),
        customer_id=first.customer_id,
        currency=first.currency,
        shipping_terms=first.shipping_terms,
        inception_on=first.placed_on,
        order_ids=tuple(order.order_id for order in ordered),
        lines=lines,
    )
