"""Database-enforced append-only tables, shared by the migrations that create such tables."""

from __future__ import annotations

from alembic import op

APPEND_ONLY_MESSAGE = "append-only table: record a correction instead of changing history"


def forbid_update_and_delete(tables: tuple[str, ...]) -> None:
    """Make the database itself refuse UPDATE and DELETE on the given tables."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION ordertrail_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
            f"'% is an {APPEND_ONLY_MESSAGE}', TG_TABLE_NAME USING ERRCODE = 'P0001'; END $$"
        )
        for table in tables:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ordertrail_append_only()"
            )
        return
    for table in tables:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is an {APPEND_ONLY_MESSAGE}'); END"
            )
