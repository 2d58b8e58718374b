"""The code-quality gates run as part of the suite, so the README's one test command checks them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; install the test extras: pip install -e '.[test]'")
    return found


def test_ruff_finds_no_lint_problems():
    result = _run(sys.executable, "-m", "ruff", "check", "src", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_leaves_the_code_unchanged():
    result = _run(sys.executable, "-m", "ruff", "format", "--check", "src", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_linter_contracts_keep_the_layers():
    result = _run(_tool("lint-imports"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_strict_and_clean_on_domain_and_services():
    result = _run(sys.executable, "-m", "mypy", "src/ordertrail/domain", "src/ordertrail/services")
    assert result.returncode == 0, result.stdout + result.stderr
