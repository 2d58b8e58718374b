"""Catalogs, revenue settings, the chart of accounts and periods: the use cases behind the API
and CLI. Each opens a unit of work, calls one store method (or a few), commits.

The catalog file format (docs/revenue/catalog.md) is the domain's rows as JSON:
`{"templates": [TemplateVersion...], "ssp": [SspRow...]}`; every row loaded is a new version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ordertrail.domain.revenue import SspRow, TemplateVersion
from ordertrail.services.revenue_catalog import catalogs_from
from ordertrail.services.revenue_codec import CodecError, from_plain
from ordertrail.services.revenue_ports import (
    AccountRecord,
    CatalogKind,
    CatalogRecord,
    PeriodRecord,
    RevenueSettings,
    RevenueUnitOfWork,
)

CATALOG_FILE_ROWS_MAX = 10_000

UowFactory = Callable[[], RevenueUnitOfWork]


class CatalogFileInvalid(ValueError):
    """A catalog file or row that does not have the documented shape."""


@dataclass(frozen=True, slots=True)
class CatalogFile:
    templates: tuple[TemplateVersion, ...] = ()
    ssp: tuple[SspRow, ...] = ()


def parse_catalog(document: Any) -> CatalogFile:
    """Read a catalog document; domain rules (InvalidTemplate, NoSsp) raise their own errors."""
    try:
        parsed: CatalogFile = from_plain(CatalogFile, document)
    except CodecError as error:
        raise CatalogFileInvalid(str(error)) from None
    if len(parsed.templates) + len(parsed.ssp) > CATALOG_FILE_ROWS_MAX:
        raise CatalogFileInvalid(f"a catalog file holds at most {CATALOG_FILE_ROWS_MAX} rows")
    return parsed


def parse_row(kind: CatalogKind, document: Any) -> TemplateVersion | SspRow:
    """Read one template version or SSP row."""
    row_type: type[TemplateVersion] | type[SspRow] = (
        TemplateVersion if kind == "template" else SspRow
    )
    try:
        row: TemplateVersion | SspRow = from_plain(row_type, document)
    except CodecError as error:
        raise CatalogFileInvalid(str(error)) from None
    return row


def add_rows(
    *,
    uow_factory: UowFactory,
    tenant_id: str,
    rows: list[TemplateVersion | SspRow],
    actor: str,
    now: datetime,
) -> list[CatalogRecord]:
    """Append rows as new versions, all or none; the resulting catalog must still build."""
    with uow_factory() as uow:
        added = [
            uow.catalog.add(tenant_id=tenant_id, body=row, created_at=now, created_by=actor)
            for row in rows
        ]
        # Later versions win where they overlap, so this only fails on a broken row.
        catalogs_from(uow.catalog.records(tenant_id=tenant_id))
        uow.commit()
    return added


def load_catalog(
    *, uow_factory: UowFactory, tenant_id: str, document: Any, actor: str, now: datetime
) -> list[CatalogRecord]:
    """Load a whole catalog file (`ordertrail revenue catalog load FILE`)."""
    parsed = parse_catalog(document)
    return add_rows(
        uow_factory=uow_factory,
        tenant_id=tenant_id,
        rows=[*parsed.templates, *parsed.ssp],
        actor=actor,
        now=now,
    )


def catalog_records(
    *,
    uow_factory: UowFactory,
    tenant_id: str,
    kind: CatalogKind | None = None,
    sku: str | None = None,
) -> list[CatalogRecord]:
    with uow_factory() as uow:
        return uow.catalog.records(tenant_id=tenant_id, kind=kind, sku=sku)


def revenue_settings(*, uow_factory: UowFactory, tenant_id: str) -> RevenueSettings:
    with uow_factory() as uow:
        return uow.catalog.settings(tenant_id=tenant_id)


def parse_settings(document: Any) -> RevenueSettings:
    try:
        settings: RevenueSettings = from_plain(RevenueSettings, document)
    except CodecError as error:
        raise CatalogFileInvalid(str(error)) from None
    return settings


def put_revenue_settings(
    *,
    uow_factory: UowFactory,
    tenant_id: str,
    settings: RevenueSettings,
    actor: str,
    now: datetime,
) -> RevenueSettings:
    with uow_factory() as uow:
        uow.catalog.put_settings(tenant_id=tenant_id, settings=settings, now=now, actor=actor)
        uow.commit()
    return settings


def accounts(*, uow_factory: UowFactory, tenant_id: str, now: datetime) -> list[AccountRecord]:
    with uow_factory() as uow:
        found = uow.ledger.accounts(tenant_id=tenant_id, now=now)
        uow.commit()
    return found


def update_account(
    *,
    uow_factory: UowFactory,
    tenant_id: str,
    code: str,
    name: str | None,
    gl_code: str | None,
    active: bool | None,
    now: datetime,
) -> AccountRecord | None:
    with uow_factory() as uow:
        updated = uow.ledger.update_account(
            tenant_id=tenant_id, code=code, name=name, gl_code=gl_code, active=active, now=now
        )
        uow.commit()
    return updated


def periods(*, uow_factory: UowFactory, tenant_id: str) -> list[PeriodRecord]:
    with uow_factory() as uow:
        return uow.ledger.periods(tenant_id=tenant_id)
