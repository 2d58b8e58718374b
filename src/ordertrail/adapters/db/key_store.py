"""API keys on SQL. Only hashes of secrets are stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from ordertrail.adapters.db.engine import WRITE_OPTION
from ordertrail.adapters.db.tables import api_keys
from ordertrail.services.ports import ApiKeyRecord


def _record(row: object) -> ApiKeyRecord:
    mapping = row._mapping  # type: ignore[attr-defined]
    return ApiKeyRecord(
        key_id=mapping["key_id"],
        tenant_id=mapping["tenant_id"],
        name=mapping["name"],
        roles=tuple(role for role in mapping["roles"].split(",") if role),
        secret_sha256=mapping["secret_sha256"],
        created_at=mapping["created_at"],
        revoked_at=mapping["revoked_at"],
        owner=mapping["owner"],
    )


class SqlKeyStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, *, key: ApiKeyRecord) -> None:
        with self._engine.connect().execution_options(**{WRITE_OPTION: True}) as connection:
            connection.execute(
                insert(api_keys).values(
                    key_id=key.key_id,
                    tenant_id=key.tenant_id,
                    name=key.name,
                    roles=",".join(key.roles),
                    secret_sha256=key.secret_sha256,
                    created_at=key.created_at,
                    revoked_at=key.revoked_at,
                    owner=key.owner,
                )
            )
            connection.commit()

    def get(self, *, key_id: str) -> ApiKeyRecord | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
        return None if row is None else _record(row)

    def list(self, *, tenant_id: str | None) -> list[ApiKeyRecord]:
        query = select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id).limit(10_000)
        if tenant_id is not None:
            query = query.where(api_keys.c.tenant_id == tenant_id)
        with self._engine.connect() as connection:
            return [_record(row) for row in connection.execute(query)]

    def revoke(self, *, key_id: str, revoked_at: datetime) -> bool:
        with self._engine.connect().execution_options(**{WRITE_OPTION: True}) as connection:
            result = connection.execute(
                update(api_keys)
                .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=revoked_at)
            )
            connection.commit()
        return result.rowcount == 1
