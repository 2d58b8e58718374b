"""Catalogs and revenue settings on SQL: append-only catalog versions, one settings row."""

from __future__ import annotations

from datetime import datetime
from threading import Lock
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, func, insert, select, update

# tables first: it imports every area's tables module, whose cross-imports need it complete.
from ordertrail.adapters.db import tables as _tables  # noqa: F401
from ordertrail.adapters.db.tables_revenue import revenue_catalog, revenue_settings
from ordertrail.domain.revenue import Catalogs, SspRow, TemplateVersion
from ordertrail.services.revenue_catalog import catalogs_from, key_of
from ordertrail.services.revenue_codec import dumps, loads
from ordertrail.services.revenue_ports import (
    CatalogKind,
    CatalogRecord,
    RevenueSettings,
)

CATALOG_ROWS_MAX = 100_000
BODY_TYPES: dict[str, type[TemplateVersion] | type[SspRow]] = {
    "template": TemplateVersion,
    "ssp": SspRow,
}


# Decoding a tenant's whole catalog for every message was most of the revenue consumer's time.
# Catalog rows are append-only, so a tenant's committed catalog is identified by a cheap
# fingerprint (row count, latest version and creation time, total body length): the decoded
# catalogs are kept per engine and tenant and reused while the fingerprint is unchanged. A
# transaction that wrote catalog rows neither reads nor fills the cache, so nothing
# uncommitted is ever shared.
_CACHE: WeakKeyDictionary[Engine, dict[str, tuple[tuple[Any, ...], Catalogs]]] = WeakKeyDictionary()
_CACHE_LOCK = Lock()
CACHED_TENANTS_MAX = 1_000


class SqlCatalogStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._wrote = False

    def records(
        self, *, tenant_id: str, kind: CatalogKind | None = None, sku: str | None = None
    ) -> list[CatalogRecord]:
        t = revenue_catalog
        query = select(t).where(t.c.tenant_id == tenant_id)
        if kind is not None:
            query = query.where(t.c.kind == kind)
        if sku is not None:
            query = query.where(t.c.sku == sku)
        query = query.order_by(t.c.kind, t.c.sku, t.c.component, t.c.currency, t.c.version)
        return [
            CatalogRecord(
                kind=r["kind"],
                sku=r["sku"],
                component=r["component"],
                currency=r["currency"],
                version=r["version"],
                effective_from=r["effective_from"],
                effective_to=r["effective_to"],
                body=loads(BODY_TYPES[r["kind"]], r["body"]),
                created_at=r["created_at"],
                created_by=r["created_by"],
            )
            for r in self._connection.execute(query.limit(CATALOG_ROWS_MAX)).mappings()
        ]

    def catalogs(self, *, tenant_id: str) -> Catalogs:
        if self._wrote:
            return catalogs_from(self.records(tenant_id=tenant_id))
        t = revenue_catalog
        fingerprint = tuple(
            self._connection.execute(
                select(
                    func.count(),
                    func.max(t.c.version),
                    func.max(t.c.created_at),
                    func.sum(func.length(t.c.body)),
                ).where(t.c.tenant_id == tenant_id)
            ).one()
        )
        engine = self._connection.engine
        with _CACHE_LOCK:
            cached = _CACHE.get(engine, {}).get(tenant_id)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        catalogs = catalogs_from(self.records(tenant_id=tenant_id))
        with _CACHE_LOCK:
            tenants = _CACHE.setdefault(engine, {})
            if len(tenants) >= CACHED_TENANTS_MAX and tenant_id not in tenants:
                tenants.pop(next(iter(tenants)))
            tenants[tenant_id] = (fingerprint, catalogs)
        return catalogs

    def add(
        self,
        *,
        tenant_id: str,
        body: TemplateVersion | SspRow,
        created_at: datetime,
        created_by: str,
    ) -> CatalogRecord:
        kind, sku, component, currency = key_of(body)
        self._wrote = True
        t = revenue_catalog
        latest = self._connection.execute(
            select(func.max(t.c.version)).where(
                t.c.tenant_id == tenant_id,
                t.c.kind == kind,
                t.c.sku == sku,
                t.c.component == component,
                t.c.currency == currency,
            )
        ).scalar()
        record = CatalogRecord(
            kind="template" if kind == "template" else "ssp",
            sku=sku,
            component=component,
            currency=currency,
            version=(latest or 0) + 1,
            effective_from=body.effective_from,
            effective_to=body.effective_to,
            body=body,
            created_at=created_at,
            created_by=created_by,
        )
        self._connection.execute(
            insert(t).values(
                tenant_id=tenant_id,
                kind=record.kind,
                sku=sku,
                component=component,
                currency=currency,
                version=record.version,
                effective_from=record.effective_from,
                effective_to=record.effective_to,
                body=dumps(body),
                created_at=created_at,
                created_by=created_by,
            )
        )
        return record

    def settings(self, *, tenant_id: str) -> RevenueSettings:
        t = revenue_settings
        body = self._connection.execute(select(t.c.body).where(t.c.tenant_id == tenant_id)).scalar()
        return RevenueSettings() if body is None else loads(RevenueSettings, body)

    def put_settings(
        self, *, tenant_id: str, settings: RevenueSettings, now: datetime, actor: str
    ) -> None:
        t = revenue_settings
        values = {"body": dumps(settings), "updated_at": now, "updated_by": actor}
        changed = self._connection.execute(
            update(t).where(t.c.tenant_id == tenant_id).values(**values)
        )
        if changed.rowcount == 0:
            self._connection.execute(insert(t).values(tenant_id=tenant_id, **values))
