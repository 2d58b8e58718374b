"""Provider status codes to canonical status: the pure lookup over one versioned mapping table.

Tables are data (JSON files shipped with the carriers adapter, one per provider and version, each
naming the documentation it was built from); this module only says how a table is read. A code
the table does not know is never guessed: it becomes `unknown`, and the caller counts it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ordertrail.domain.shipments.scans import CarrierScan
from ordertrail.domain.shipments.status import ShipmentStatus, StatusReason

# A rule written for a code without a subcode is that code's default: it applies when the scan
# brings no subcode, or one the table has no rule of its own for.
ANY_SUBCODE = "*"


class MappingTableInvalid(ValueError):
    """A mapping table names a status or reason that does not exist, or repeats a rule."""


@dataclass(frozen=True, slots=True)
class Mapped:
    """A scan's canonical reading; `mapped` is False when no rule knew its code.

    A rule may map a provider's own "unknown" or "error" to `unknown` on purpose: that code is
    known (the provider says it does not know), so it is mapped and not counted as unmapped.
    """

    status: ShipmentStatus
    reason: StatusReason
    mapped: bool


UNMAPPED = Mapped(status=ShipmentStatus.UNKNOWN, reason=StatusReason.NONE, mapped=False)


@dataclass(frozen=True, slots=True)
class MappingRule:
    code: str
    subcode: str
    status: ShipmentStatus
    reason: StatusReason


@dataclass(frozen=True, slots=True)
class MappingTable:
    """One provider's rules, at one version. Codes compare exactly, as the provider sends them."""

    provider: str
    version: int
    sources: tuple[str, ...]
    rules: Mapping[tuple[str, str], Mapped]

    @classmethod
    def build(
        cls, *, provider: str, version: int, sources: Iterable[str], rules: Iterable[MappingRule]
    ) -> MappingTable:
        table: dict[tuple[str, str], Mapped] = {}
        for rule in rules:
            key = (rule.code, rule.subcode)
            if key in table:
                raise MappingTableInvalid(f"{provider} v{version}: rule {key} appears twice")
            table[key] = Mapped(status=rule.status, reason=rule.reason, mapped=True)
        return cls(provider=provider, version=version, sources=tuple(sources), rules=table)

    def lookup(self, *, code: str, subcode: str | None) -> Mapped:
        """Return the canonical status of a code and subcode, or UNMAPPED."""
        if subcode is not None:
            exact = self.rules.get((code, subcode))
            if exact is not None:
                return exact
        return self.rules.get((code, ANY_SUBCODE), UNMAPPED)


def rule_of(*, code: str, subcode: str | None, status: str, reason: str) -> MappingRule:
    """Build a rule from the text of a table file, refusing names that do not exist."""
    try:
        return MappingRule(
            code=code,
            subcode=ANY_SUBCODE if subcode is None else subcode,
            status=ShipmentStatus(status),
            reason=StatusReason(reason),
        )
    except ValueError as error:
        raise MappingTableInvalid(f"rule for {code}/{subcode}: {error}") from None


def map_scan(*, tables: Mapping[str, MappingTable], scan: CarrierScan) -> Mapped:
    """Map one scan with its provider's table; a provider without a table maps nothing."""
    table = tables.get(scan.provider)
    if table is None:
        return UNMAPPED
    return table.lookup(code=scan.raw_code, subcode=scan.raw_subcode)
