"""Load the versioned provider mapping tables shipped as JSON beside the shipments domain.

Each file is `<provider>.v<version>.json`; the newest version of each provider is used unless a
version is pinned. Reading files is I/O, so it happens here and the domain gets plain tables.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

from ordertrail.domain.shipments.mapping import MappingTable, MappingTableInvalid, rule_of

PACKAGE = "ordertrail.domain.shipments.mappings"
_FILE_NAME = re.compile(r"^(?P<provider>[a-z0-9]+)\.v(?P<version>[0-9]+)\.json$")


def table_from_document(document: Mapping[str, Any]) -> MappingTable:
    """Build a table from a parsed mapping file, refusing unknown statuses and reasons."""
    try:
        rules = [
            rule_of(
                code=str(rule["code"]),
                subcode=None if rule.get("subcode") is None else str(rule["subcode"]),
                status=str(rule["status"]),
                reason=str(rule["reason"]),
            )
            for rule in document["rules"]
        ]
        return MappingTable.build(
            provider=str(document["provider"]),
            version=int(document["version"]),
            sources=[str(source) for source in document["sources"]],
            rules=rules,
        )
    except (KeyError, TypeError) as error:
        raise MappingTableInvalid(f"malformed mapping table: {error!r}") from None


def available_tables() -> dict[tuple[str, int], MappingTable]:
    """Every table shipped with the package, keyed by (provider, version)."""
    tables: dict[tuple[str, int], MappingTable] = {}
    for entry in resources.files(PACKAGE).iterdir():
        match = _FILE_NAME.match(entry.name)
        if match is None:
            continue
        table = table_from_document(json.loads(entry.read_text(encoding="utf-8")))
        if (table.provider, table.version) != (match["provider"], int(match["version"])):
            raise MappingTableInvalid(f"{entry.name} declares {table.provider} v{table.version}")
        tables[(table.provider, table.version)] = table
    return tables


def load_tables(*, pinned: Mapping[str, int] | None = None) -> dict[str, MappingTable]:
    """The table each provider maps with: its newest version, or the version `pinned` names."""
    chosen: dict[str, MappingTable] = {}
    for (provider, version), table in sorted(available_tables().items()):
        if pinned and provider in pinned:
            if version == pinned[provider]:
                chosen[provider] = table
            continue
        chosen[provider] = table
    missing = set(pinned or {}) - set(chosen)
    if missing:
        raise MappingTableInvalid(f"no mapping table at the pinned version for {sorted(missing)}")
    return chosen
