"""SQL pieces monitoring's stores share: per-tenant cutoffs as CASE expressions, hour buckets.

Cutoffs are bound parameters computed from the injected clock, so the comparison stays a plain
`column <= cutoff` that works the same on SQLite and PostgreSQL and that an index on the column can
serve; the per-tenant, per-status choice of cutoff is a CASE over a handful of rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, literal, null
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String

from ordertrail.adapters.db.tables import UtcDateTime
from ordertrail.services.alert_ports import Cutoffs


def _at(value: datetime | None) -> ColumnElement[Any]:
    return null() if value is None else literal(value, type_=UtcDateTime)


def cutoff_by_key(
    cutoffs: Cutoffs, *, tenant: ColumnElement[Any], key: ColumnElement[Any]
) -> ColumnElement[Any]:
    """CASE choosing each row's cutoff by its tenant and key (a status); NULL when unwatched."""
    whens: list[tuple[ColumnElement[bool], ColumnElement[Any]]] = []
    for tenant_id, table in sorted(cutoffs.by_tenant.items()):
        whens.extend(
            (and_(tenant == tenant_id, key == name), _at(at)) for name, at in sorted(table.items())
        )
        if cutoffs.replace_whole:
            whens.append((tenant == tenant_id, null()))
    whens.extend((key == name, _at(at)) for name, at in sorted(cutoffs.default.items()))
    if not whens:
        return null()
    return case(*whens, else_=null())


def cutoff_for(cutoffs: Cutoffs, *, tenant: ColumnElement[Any], name: str) -> ColumnElement[Any]:
    """CASE choosing each row's cutoff for one fixed key (an escalation level) by tenant."""
    whens: list[tuple[ColumnElement[bool], ColumnElement[Any]]] = []
    for tenant_id, table in sorted(cutoffs.by_tenant.items()):
        if name in table or cutoffs.replace_whole:
            whens.append((tenant == tenant_id, _at(table.get(name))))
    default = _at(cutoffs.default.get(name))
    return case(*whens, else_=default) if whens else default


class hour_bucket(FunctionElement[str]):  # noqa: N801 - named like the SQL function it renders
    """The UTC hour a timestamp falls in, as text 'YYYY-MM-DDTHH', on either database."""

    type = String()
    inherit_cache = True
    name = "hour_bucket"


@compiles(hour_bucket, "sqlite")
def _hour_bucket_sqlite(element: hour_bucket, compiler: Any, **kw: Any) -> str:
    # SQLite stores UtcDateTime as naive UTC text.
    return f"strftime('%Y-%m-%dT%H', {compiler.process(element.clauses, **kw)})"


@compiles(hour_bucket, "postgresql")
def _hour_bucket_postgresql(element: hour_bucket, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"to_char(({column}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24')"
