"""Every error code the code can return is documented for integrators."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "integrators" / "README.md"
PATTERNS = (
    r'refuse\(\s*"([a-z_]+)"',
    r'(?:SchemaRejected|EventRejected)\(\s*"([a-z_]+)"',
    r'ApiError\(\s*\d+,\s*"([a-z_]+)"',
    r'\bcode="([a-z_]+)"',
)
# Codes built from a template: refuse(f"duplicate_{kind}", ...) with these kinds.
TEMPLATED = {"duplicate_return", "duplicate_invoice", "duplicate_credit_note"}


def codes_in_source() -> set[str]:
    codes = set(TEMPLATED)
    for path in (ROOT / "src").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in PATTERNS:
            codes.update(re.findall(pattern, text))
    return codes


def test_the_scan_finds_the_codes_it_should():
    codes = codes_in_source()
    assert {"schema_invalid", "unknown_shipment", "order_not_found", "malformed_json"} <= codes


def test_every_error_code_in_the_source_is_in_the_integrator_docs():
    documented = set(re.findall(r"`([a-z_]+)`", DOC.read_text(encoding="utf-8")))
    missing = sorted(codes_in_source() - documented)
    assert not missing, f"document these codes in {DOC.relative_to(ROOT)}: {missing}"
