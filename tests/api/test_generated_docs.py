"""The reference docs committed under docs/ are exactly what the code generates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ordertrail.domain.orders import OrderStatus
from ordertrail.entrypoints.cli.docs import generated_documents

DOCS = Path(__file__).resolve().parents[2] / "docs"
GENERATED = generated_documents()
REGENERATE = "the committed copy is stale: run `ordertrail docs generate` and commit docs/"


@pytest.mark.parametrize("relative", sorted(GENERATED))
def test_a_generated_document_is_committed_as_generated(relative: str):
    path = DOCS / relative
    assert path.exists(), f"docs/{relative} is missing: {REGENERATE}"
    assert path.read_text(encoding="utf-8") == GENERATED[relative], f"docs/{relative}: {REGENERATE}"


def test_docs_events_holds_no_schema_the_code_no_longer_generates():
    committed = {f"events/{p.name}" for p in (DOCS / "events").iterdir()}
    stale = committed - set(GENERATED)
    assert not stale, f"{sorted(stale)} are not generated any more: delete them"


def test_the_lifecycle_diagram_mentions_every_status():
    text = (DOCS / "order-lifecycle.md").read_text(encoding="utf-8")
    [diagram] = re.findall(r"```mermaid\n(.*?)```", text, flags=re.DOTALL)
    edges = re.findall(r"^\s*(\S+)\s*-->\s*([^\s:]+)", diagram, flags=re.MULTILINE)
    states = {state for edge in edges for state in edge} - {"[*]"}
    assert states == {status.value for status in OrderStatus}
