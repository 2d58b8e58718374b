"""Catalogs as data with effective dates: obligation templates per SKU and standalone prices.

A template says what promise a SKU carries (nature, when and how it is satisfied, which revenue
account); one SKU may carry several (hardware + installation + 12 months of support). Every row
is effective over a half-open date range [effective_from, effective_to); a change is a new row,
so a contract keeps the terms that applied at its inception.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Literal

from ordertrail.domain.revenue.errors import InvalidTemplate, NoSsp, NoTemplate, OverlappingVersions

Nature = Literal["goods", "service", "licence", "subscription", "installation", "warranty_service"]
Timing = Literal["point_in_time", "over_time"]
# control_transfer means "whatever the shipping terms say" (see SHIPPING_TERMS_TRIGGER).
Trigger = Literal["control_transfer", "shipment", "delivery", "acceptance", "milestone", "manual"]
Method = Literal[
    "ratable_daily",
    "ratable_monthly_equal",
    "ratable_monthly_prorata",
    "cost_to_cost",
    "units_delivered",
]
ServiceStart = Literal["inception", "delivery"]
SspBasis = Literal["observed", "estimated"]

# Revenue account by nature, used unless a template names its own.
NATURE_REVENUE_ACCOUNT: dict[str, str] = {
    "goods": "revenue_goods",
    "service": "revenue_services",
    "licence": "revenue_licences",
    "subscription": "revenue_subscriptions",
    "installation": "revenue_installation",
    "warranty_service": "revenue_warranty_services",
}

RATABLE_METHODS = frozenset({"ratable_daily", "ratable_monthly_equal", "ratable_monthly_prorata"})
PROGRESS_METHODS = frozenset({"cost_to_cost", "units_delivered"})
TERM_MONTHS_MAX = 600
VERSIONS_MAX = 100_000


@dataclass(frozen=True, slots=True)
class ObligationTemplate:
    """One promise a SKU carries.

    `integrated` marks a promise that is one combined output with what is already being
    transferred (ASC 606-10-25-21(a), e.g. a building under construction): a change to it is not
    distinct from the work done, which decides how a modification is treated.
    """

    component: str
    nature: Nature
    timing: Timing
    trigger: Trigger | None = None
    method: Method | None = None
    term_months: int | None = None
    service_starts: ServiceStart = "inception"
    returnable: bool = False
    integrated: bool = False
    revenue_account: str | None = None

    def __post_init__(self) -> None:
        problems = [rule for holds, rule in self._rules() if not holds]
        if problems:
            raise InvalidTemplate(f"template {self.component}: " + "; ".join(problems))

    def _rules(self) -> tuple[tuple[bool, str], ...]:
        point = self.timing == "point_in_time"
        ratable = self.method in RATABLE_METHODS
        return (
            (bool(self.component), "component must be named"),
            (self.nature in NATURE_REVENUE_ACCOUNT, f"unknown nature {self.nature!r}"),
            (not point or self.trigger is not None, "a point-in-time promise needs a trigger"),
            (not point or self.method is None, "a point-in-time promise has no method"),
            (point or self.method is not None, "an over-time promise needs a method"),
            (not ratable or self.term_months is not None, "a ratable method needs term_months"),
            (
                self.term_months is None or 0 < self.term_months <= TERM_MONTHS_MAX,
                f"term_months must be within 1..{TERM_MONTHS_MAX}",
            ),
            (
                self.method != "units_delivered" or self.trigger in ("shipment", "delivery"),
                "units_delivered counts shipped or delivered units: trigger shipment or delivery",
            ),
            (not self.returnable or point, "a right of return applies to point-in-time goods"),
        )

    @property
    def account(self) -> str:
        return self.revenue_account or NATURE_REVENUE_ACCOUNT[self.nature]


@dataclass(frozen=True, slots=True)
class TemplateVersion:
    """The templates a SKU carries over [effective_from, effective_to)."""

    sku: str
    effective_from: date
    templates: tuple[ObligationTemplate, ...]
    effective_to: date | None = None

    def __post_init__(self) -> None:
        if not self.templates:
            raise InvalidTemplate(f"sku {self.sku}: a version needs at least one template")
        components = [t.component for t in self.templates]
        if len(set(components)) != len(components):
            raise InvalidTemplate(f"sku {self.sku}: components must be unique, got {components}")
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise InvalidTemplate(f"sku {self.sku}: effective_to must be after effective_from")

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)


@dataclass(frozen=True, slots=True)
class SspRow:
    """The standalone selling price of one unit of a SKU's component in one currency.

    `unit_ssp_minor` is None when no observable or estimated price exists; such a component can
    only be priced by the residual approach, and only where `residual_allowed`. `low_minor` and
    `high_minor` bound the range of prices the entity observes (ASC 606-10-32-33 / IFRS 15.78).
    """

    sku: str
    component: str
    currency: str
    effective_from: date
    unit_ssp_minor: int | None
    basis: SspBasis = "observed"
    low_minor: int | None = None
    high_minor: int | None = None
    residual_allowed: bool = False
    effective_to: date | None = None

    def __post_init__(self) -> None:
        key = f"{self.sku}/{self.component} {self.currency}"
        if self.unit_ssp_minor is None and not self.residual_allowed:
            raise NoSsp(f"{key}: no standalone price and the residual approach is not allowed")
        if self.unit_ssp_minor is not None and self.unit_ssp_minor < 0:
            raise NoSsp(f"{key}: a standalone price cannot be negative")
        if (self.low_minor is None) != (self.high_minor is None):
            raise NoSsp(f"{key}: give both ends of the SSP range or neither")
        if (
            self.low_minor is not None
            and self.high_minor is not None
            and not 0 <= self.low_minor <= self.high_minor
        ):
            raise NoSsp(f"{key}: the SSP range must satisfy 0 <= low <= high")
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise NoSsp(f"{key}: effective_to must be after effective_from")

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)


def _check_no_overlap(spans: dict[object, list[tuple[date, date | None]]]) -> None:
    for key, ranges in spans.items():
        ordered = sorted(ranges, key=lambda span: span[0])
        for (_, end), (next_start, _) in pairwise(ordered):
            if end is None or next_start < end:
                raise OverlappingVersions(f"{key}: versions overlap from {next_start}")


@dataclass(frozen=True, slots=True)
class TemplateCatalog:
    """Obligation templates per SKU, versioned by effective date."""

    versions: tuple[TemplateVersion, ...]

    def __post_init__(self) -> None:
        if len(self.versions) > VERSIONS_MAX:
            raise InvalidTemplate(f"a catalog holds at most {VERSIONS_MAX} versions")
        spans: dict[object, list[tuple[date, date | None]]] = {}
        for version in self.versions:
            spans.setdefault(version.sku, []).append((version.effective_from, version.effective_to))
        _check_no_overlap(spans)

    def templates_for(self, *, sku: str, on: date) -> tuple[ObligationTemplate, ...]:
        """Return the templates effective for a SKU on a date, or raise NoTemplate."""
        for version in self.versions:
            if version.sku == sku and version.covers(on):
                return version.templates
        raise NoTemplate(f"no obligation template for sku {sku} on {on}")


@dataclass(frozen=True, slots=True)
class SspCatalog:
    """Standalone selling prices per (SKU, component, currency), versioned by effective date."""

    rows: tuple[SspRow, ...]

    def __post_init__(self) -> None:
        if len(self.rows) > VERSIONS_MAX:
            raise NoSsp(f"a catalog holds at most {VERSIONS_MAX} rows")
        spans: dict[object, list[tuple[date, date | None]]] = {}
        for row in self.rows:
            key = (row.sku, row.component, row.currency)
            spans.setdefault(key, []).append((row.effective_from, row.effective_to))
        _check_no_overlap(spans)

    def ssp_for(self, *, sku: str, component: str, currency: str, on: date) -> SspRow:
        """Return the SSP row effective on a date, or raise NoSsp."""
        for row in self.rows:
            if (row.sku, row.component, row.currency) == (sku, component, currency) and row.covers(
                on
            ):
                return row
        raise NoSsp(f"no standalone selling price for {sku}/{component} in {currency} on {on}")


@dataclass(frozen=True, slots=True)
class Catalogs:
    """The two catalogs the engine looks things up in, passed together."""

    templates: TemplateCatalog
    ssps: SspCatalog


def catalogs_of(*, versions: Iterable[TemplateVersion], ssp_rows: Iterable[SspRow]) -> Catalogs:
    """Build both catalogs from rows, checking effective ranges do not overlap."""
    return Catalogs(
        templates=TemplateCatalog(versions=tuple(versions)),
        ssps=SspCatalog(rows=tuple(ssp_rows)),
    )
