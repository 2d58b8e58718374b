"""`ordertrail carriers budget` and `poll`: the quota table, JSON, clear configuration errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from ordertrail.adapters.db.engine import make_engine, sqlite_url
from ordertrail.adapters.db.migrate import upgrade
from ordertrail.adapters.db.tables_carriers import shipments
from ordertrail.entrypoints.cli import app as cli
from ordertrail.entrypoints.cli.carriers import _limit, _numbers, _simulator_limits, _targets
from tests.conftest import NOW

runner = CliRunner()

POLLING_FILE = """
[polling.cadence]
urgent = 1800
moving = 14400
waiting = 43200

[[polling.credentials]]
provider = "dhl"
name = "main"
plan = "starter"
api_key = { env = "TEST_DHL_KEY" }
"""


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "ordertrail.db"
    engine = make_engine(sqlite_url(path))
    upgrade(engine)
    rows = [("in_transit", 100), ("out_for_delivery", 10), ("pre_transit", 20), ("delivered", 7)]
    with engine.begin() as connection:
        number = 0
        for status, count in rows:
            for _ in range(count):
                number += 1
                connection.execute(
                    shipments.insert().values(
                        tenant_id="acme", shipment_id=f"S{number}", order_id=f"O{number}",
                        carrier="dhl", tracking_number=f"JD{number:06d}", status=status,
                        reason="none", created_at=NOW,
                    )
                )  # fmt: skip
    engine.dispose()
    return path


def _run(*args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(cli, ["carriers", *args], env={"COLUMNS": "200", **(env or {})})


def test_budget_shows_each_window_what_it_needs_and_what_to_slow_down(database, tmp_path):
    config = tmp_path / "polling.toml"
    config.write_text(POLLING_FILE, encoding="utf-8")
    env = {"TEST_DHL_KEY": "k"}
    result = _run("budget", "--config", str(config), "-d", str(database), "--json", env=env)
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    second, day = document["windows"]
    # 100 x 6 + 10 x 48 + 20 x 2 = 1,120 polls a day against DHL starter's 250.
    assert (day["window"], day["quota"], day["needed"], day["fits"]) == ("day", 250, 1120, False)
    assert day["active_by_tier"] == {"urgent": 10, "moving": 100, "waiting": 20}
    assert (second["needed"], second["fits"]) == (1, True)
    table = _run("budget", "--config", str(config), "-d", str(database), env=env)
    assert table.exit_code == 0, table.output
    assert "more quota needed" in table.output
    assert "10/100/20" in table.output


def test_a_missing_secret_or_file_is_an_error_that_says_what_to_do(database, tmp_path):
    config = tmp_path / "polling.toml"
    config.write_text(POLLING_FILE, encoding="utf-8")
    result = _run("budget", "--config", str(config), "-d", str(database))
    assert result.exit_code == 2
    assert "TEST_DHL_KEY is not set" in result.output
    missing = _run("poll", "--once", "-d", str(database), env={"ORDERTRAIL_CARRIER_POLLING": ""})
    assert missing.exit_code == 2
    assert "ORDERTRAIL_CARRIER_POLLING" in missing.output


def test_simulate_options_parse_limits_targets_and_numbers(tmp_path):
    assert _limit("dhl=day:86400:250")[1].requests == 250
    assert set(_simulator_limits([])) == {"ups", "dhl", "usps"}
    limits = _simulator_limits(["dhl=second:1:1", "dhl=day:86400:250"])
    assert [w.label for w in limits["dhl"]] == ["second", "day"]
    targets = _targets(["aftership=http://127.0.0.1:8000/v1/carriers/webhooks/aftership/t,sec"])
    assert targets["aftership"].url.endswith("/aftership/t")
    assert targets["aftership"].secret == "sec"
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("# provider,number,carrier\nups,1Z1\nfedex,7700,fedex\n", encoding="utf-8")
    assert _numbers(numbers) == [("ups", "1Z1", "ups"), ("fedex", "7700", "fedex")]
