"""`ordertrail disputes`: open, evidence, a refused and an accepted rejection, list and reasons."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ordertrail.adapters.db.engine import sqlite_url
from ordertrail.bootstrap import Settings, bootstrap
from ordertrail.entrypoints.cli import app as cli
from ordertrail.services.keys import create_key
from tests.conftest import NOW

runner = CliRunner()


def test_a_dispute_goes_from_open_to_rejected_through_the_cli(tmp_path: Path) -> None:
    database = str(tmp_path / "ordertrail.db")
    app = bootstrap(settings=Settings(database_url=sqlite_url(tmp_path / "ordertrail.db")))
    _, portal = create_key(
        store=app.keys, tenant_id="acme", roles=["integration"], name="p", now=NOW
    )
    _, ctl = create_key(store=app.keys, tenant_id="acme", roles=["controller"], name="c", now=NOW)
    app.close()
    db = ["--database", database]

    opened = runner.invoke(
        cli,
        [
            "disputes",
            "open",
            "--order",
            "SO-1",
            "--reason",
            "not_delivered",
            "--line",
            "1",
            "--description",
            "never came",
            "--reference",
            "CS-1",
            "--key",
            portal,
            *db,
        ],
    )
    assert opened.exit_code == 0, opened.output
    dispute_id = opened.output.split('"dispute_id": "')[1].split('"')[0]

    refused = runner.invoke(
        cli,
        [
            "disputes",
            "resolve",
            dispute_id,
            "--outcome",
            "rejected",
            "--note",
            "n",
            "--key",
            ctl,
            *db,
        ],
    )
    assert refused.exit_code != 0
    assert "dispute_evidence_insufficient" in refused.output

    pod = tmp_path / "pod.pdf"
    pod.write_bytes(b"%PDF signed")
    attached = runner.invoke(
        cli,
        [
            "disputes",
            "evidence",
            dispute_id,
            str(pod),
            "--kind",
            "delivery_proof",
            "--key",
            portal,
            *db,
        ],
    )
    assert attached.exit_code == 0, attached.output
    assert "sha256" in attached.output

    done = runner.invoke(
        cli,
        [
            "disputes",
            "resolve",
            dispute_id,
            "--outcome",
            "rejected",
            "--note",
            "POD",
            "--key",
            ctl,
            *db,
        ],
    )
    assert done.exit_code == 0, done.output
    assert '"status": "rejected"' in done.output
    listed = runner.invoke(cli, ["disputes", "list", "--tenant", "acme", *db])
    assert "CS-1" in listed.output
    assert "rejected" in listed.output
    shown = runner.invoke(cli, ["disputes", "show", dispute_id, "--tenant", "acme", *db])
    assert "delivery_proof" in shown.output
    reasons = runner.invoke(cli, ["disputes", "reasons", "--tenant", "acme", *db])
    assert "legal" in reasons.output
