"""`ordertrail approvals` and `keys create --owner`: the same rules as over HTTP, as a key."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner, Result

from ordertrail.entrypoints.cli import app as cli

runner = CliRunner()


def invoke(database: Path, *args: str, key: str | None = None) -> Result:
    env = {"COLUMNS": "300", **({"ORDERTRAIL_API_KEY": key} if key else {})}
    return runner.invoke(cli, [*args, "--database", str(database)], env=env)


def new_key(database: Path, role: str, owner: str) -> str:
    result = invoke(
        database, "keys", "create", "--tenant", "acme", "--role", role, "--owner", owner
    )
    assert result.exit_code == 0, result.output
    tokens: list[str] = re.findall(r"^(ot_\S+)$", result.output, flags=re.MULTILINE)
    [token] = tokens
    return token


def shown(result: Result) -> dict[str, object]:
    assert result.exit_code == 0, result.output
    body: dict[str, object] = json.loads(result.output)
    return body


def test_a_request_made_and_approved_from_the_command_line(tmp_path: Path) -> None:
    database = tmp_path / "cli.db"
    ana = new_key(database, "revenue_accountant", "ana")
    ana_too = new_key(database, "controller", "ANA")
    carl = new_key(database, "controller", "carl")
    made = shown(
        invoke(
            database,
            "approvals",
            "request",
            "defer",
            "--subject",
            "obligation:ctr-1/1/unit",
            "--payload",
            '{"contract_id": "ctr-1", "obligation_id": "1/unit"}',
            "--reason",
            "awaiting the signed receipt",
            key=ana,
        )
    )
    request_id = str(made["request_id"])
    assert made["status"] == "requested"

    mine = invoke(database, "approvals", "approve", request_id, key=ana_too)
    assert mine.exit_code == 1
    assert "self_approval" in mine.output
    # No such contract: applying fails, nothing is kept and the request is marked failed.
    failed = invoke(database, "approvals", "approve", request_id, key=carl)
    assert failed.exit_code == 1
    assert "approval_failed" in failed.output
    assert (
        shown(invoke(database, "approvals", "show", request_id, "--tenant", "acme"))["status"]
        == "failed"
    )
    listing = invoke(database, "approvals", "list", "--tenant", "acme", "--status", "failed")
    assert request_id in listing.output
    expired = invoke(database, "approvals", "expire")
    assert expired.exit_code == 0, expired.output
    assert "0 request(s) expired." in expired.output


def test_an_unknown_key_or_a_role_without_the_action_is_refused(tmp_path: Path) -> None:
    database = tmp_path / "cli.db"
    viewer = new_key(database, "viewer", "vera")
    args = ("approvals", "request", "defer", "--subject", "s", "--reason", "r")
    refused = invoke(database, *args, key=viewer)
    assert refused.exit_code == 2
    assert "approvals:request" in refused.output
    unknown = invoke(database, *args, key=f"ot_{'0' * 16}_{'A' * 43}")
    assert unknown.exit_code == 2
    assert "unknown or revoked" in unknown.output
