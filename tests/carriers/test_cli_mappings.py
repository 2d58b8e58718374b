"""`ordertrail carriers mappings`: list the tables, show one, look a code up."""

from __future__ import annotations

from typer.testing import CliRunner

from ordertrail.entrypoints.cli import app

runner = CliRunner()


def test_list_names_every_provider_table_in_use():
    result = runner.invoke(app, ["carriers", "mappings", "list"])
    assert result.exit_code == 0, result.output
    for provider in ("aftership", "easypost", "shippo", "ups", "fedex", "17track"):
        assert provider in result.output


def test_check_answers_the_canonical_status_of_a_known_code():
    result = runner.invoke(
        app,
        ["carriers", "mappings", "check", "aftership", "Exception", "--subcode", "Exception_003"],
    )
    assert result.exit_code == 0, result.output
    assert "exception (refused)" in result.output


def test_check_says_unmapped_and_fails_for_a_code_no_table_knows():
    result = runner.invoke(app, ["carriers", "mappings", "check", "ups", "D", "--subcode", "ZZ"])
    assert result.exit_code == 1
    assert "unknown (unmapped)" in result.output


def test_show_refuses_a_version_that_does_not_exist():
    result = runner.invoke(app, ["carriers", "mappings", "show", "fedex", "--version", "9"])
    assert result.exit_code == 1
