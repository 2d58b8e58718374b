"""`ordertrail docs generate`: write the reference documents generated from code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ordertrail.domain.orders import SCHEMAS
from ordertrail.entrypoints.cli.common import console
from ordertrail.services.milestone_contract import asyncapi_document, milestone_json_schema
from ordertrail.services.milestones import MILESTONE_SCHEMA_VERSION
from ordertrail.services.reference_docs import (
    event_json_schema,
    render_events_index,
    render_lifecycle,
    render_roles,
)

app = typer.Typer(help="Reference documentation generated from the code.", no_args_is_help=True)


def generated_documents() -> dict[str, str]:
    """Map each generated file (relative to docs/) to its content."""
    documents = {
        "order-lifecycle.md": render_lifecycle(),
        "events/README.md": render_events_index(),
        "security/roles.md": render_roles(),
    }
    for event_type, version in sorted(SCHEMAS):
        schema = event_json_schema(event_type, version)
        documents[f"events/{event_type}.v{version}.json"] = json.dumps(schema, indent=2) + "\n"
    milestone = f"milestones/milestone.v{MILESTONE_SCHEMA_VERSION}.json"
    documents[milestone] = json.dumps(milestone_json_schema(), indent=2) + "\n"
    documents["asyncapi.json"] = json.dumps(asyncapi_document(), indent=2) + "\n"
    return documents


@app.command("generate")
def docs_generate(
    out: Annotated[Path, typer.Option(help="The docs folder.")] = Path("docs"),
) -> None:
    """Regenerate the reference documents under docs/: lifecycle, schemas, roles, AsyncAPI."""
    for relative, content in generated_documents().items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        console.print(f"wrote {path}")
