"""`ordertrail revenue preview FILE.json`: the documented examples, as tables or JSON; bad files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from ordertrail.domain.revenue.preview import preview
from ordertrail.entrypoints.cli import app as cli

DOC = Path(__file__).resolve().parents[2] / "docs" / "revenue" / "preview.md"
# The examples are read from the documentation itself, so the doc and the command cannot drift.
EXAMPLE = re.compile(r"<!-- example: ([a-z-]+) -->\s*```json\n(.*?)\n```", re.DOTALL)
runner = CliRunner()


def examples() -> dict[str, dict[str, Any]]:
    return {name: json.loads(body) for name, body in EXAMPLE.findall(DOC.read_text("utf-8"))}


def write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def run_preview(path: Path, *options: str) -> Result:
    return runner.invoke(cli, ["revenue", "preview", str(path), *options], env={"COLUMNS": "200"})


def said(result: Result) -> str:
    """The command's output with line wrapping undone."""
    return " ".join(result.output.split())


def test_the_bundle_example_prints_its_allocation_and_schedule_by_period(tmp_path: Path):
    result = run_preview(write(tmp_path / "bundle.json", examples()["bundle"]))
    assert result.exit_code == 0, result.output
    for allocated in ("8250.00", "916.67", "1833.33"):
        assert allocated in result.output
    assert re.search(r"2024-02 .* 9319\.45", result.output)
    assert re.search(r"2025-01 .* 152\.77", result.output)
    assert "scheduled through 2025-01" in said(result)


def test_a_modification_prints_every_contract_version_and_the_decision(tmp_path: Path):
    result = run_preview(write(tmp_path / "prospective.json", examples()["prospective"]))
    assert result.exit_code == 0, result.output
    assert "1/unit@v2" in result.output
    assert "terminated" in result.output
    assert "prospective" in result.output


@pytest.mark.parametrize("name", sorted(examples()))
def test_json_output_is_exactly_the_domain_preview(tmp_path: Path, name: str):
    result = run_preview(write(tmp_path / f"{name}.json", examples()[name]), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == preview(request=examples()[name])


def test_a_file_that_is_not_json_exits_2_saying_so(tmp_path: Path):
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    result = run_preview(path)
    assert result.exit_code == 2
    assert "is not JSON" in said(result)


def test_a_missing_file_exits_2_saying_so(tmp_path: Path):
    result = run_preview(tmp_path / "absent.json")
    assert result.exit_code == 2
    assert "cannot read" in said(result)


def test_an_invalid_contract_exits_2_naming_each_field_and_its_code(tmp_path: Path):
    body = examples()["bundle"]
    del body["currency"]
    body["lines"][0]["quantity"] = "1"
    result = run_preview(write(tmp_path / "invalid.json", body))
    assert result.exit_code == 2
    assert "currency: Field required (missing)" in said(result)
    assert "lines.0.quantity" in said(result)
    assert "(int_type)" in said(result)


def test_a_contract_the_revenue_rules_refuse_exits_2_with_the_reason(tmp_path: Path):
    body = examples()["discount-residual"]
    body["lines"][3]["unit_price"] = "5"
    result = run_preview(write(tmp_path / "residual.json", body))
    assert result.exit_code == 2
    assert "the contract is refused" in said(result)
