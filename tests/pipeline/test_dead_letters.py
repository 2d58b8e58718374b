"""Dead letters by CLI and API: list, show, replay under the original id, purge; all recorded."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from ordertrail.adapters.db.tables import dead_letter_replays
from ordertrail.entrypoints.api import create_app
from ordertrail.entrypoints.cli import app as cli
from ordertrail.services.milestone_log import CONSUMER as MILESTONE_LOG
from tests.conftest import NOW, make_principal
from tests.pipeline.support import consume, effects, message, queued, run

runner = CliRunner()


def dead_letter_of(app, recorder, *, tenant_id: str = "acme", order_id: str = "SO-1") -> int:
    """Make the recorder fail a message until it is dead-lettered; return the letter's id."""
    sent = message(tenant_id=tenant_id, order_id=order_id)
    recorder.failures[sent.message_id] = 3
    run(app.pipeline.broker.publish(messages=[sent]))
    for _ in range(3):
        consume(app)
        app.clock.advance(timedelta(minutes=1))  # past any backoff of these three attempts
    page = app.pipeline.dead_letters.list(
        tenant_id=tenant_id, include_purged=False, limit=10, cursor=None
    )
    return next(item["id"] for item in page.items if item["message_id"] == sent.message_id)


def cli_json(*args: str, database: str) -> dict:
    result = runner.invoke(cli, [*args, "--database", database, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture
def database(papp) -> str:
    """The URL the CLI is given for the test's database."""
    return papp.engine.url.render_as_string(hide_password=False)


class TestCli:
    def test_list_and_show_tell_what_failed_how_often_and_when(self, papp, recorder, database):
        letter_id = dead_letter_of(papp, recorder)
        result = runner.invoke(cli, ["dlq", "list", "--database", database, "--json"])
        assert result.exit_code == 0, result.output
        [listed] = [json.loads(line) for line in result.output.splitlines()]
        assert listed["id"] == letter_id
        assert "body" not in listed
        shown = cli_json("dlq", "show", str(letter_id), "--tenant", "acme", database=database)
        assert shown["consumer"] == "recorder"
        assert shown["attempts"] == 3
        assert shown["first_failed_at"] == NOW.isoformat()
        assert shown["last_failed_at"] > shown["first_failed_at"]
        assert "told to fail" in shown["error"]
        assert json.loads(shown["body"])["event_id"]
        assert shown["headers"]["traceparent"].startswith("00-")

    def test_replay_enqueues_the_original_message_id_and_records_who_did_it(
        self, papp, recorder, database
    ):
        letter_id = dead_letter_of(papp, recorder)
        letter = papp.dead_letter(tenant_id="acme", dead_letter_id=letter_id)
        replayed = cli_json("dlq", "replay", str(letter_id), "--tenant", "acme", database=database)
        assert queued(papp.engine) == [letter.message.message_id]
        [replay] = replayed["replays"]
        assert replay["replayed_by"].startswith("key:cli-")
        with papp.engine.connect() as connection:
            [row] = connection.execute(select(dead_letter_replays)).all()
        assert (row.dead_letter_id, row.message_id) == (letter_id, letter.message.message_id)
        # Only the consumer that failed runs again; the milestone log had already succeeded.
        assert consume(papp).handled == 1
        assert effects(papp.engine) == [letter.message.message_id]
        assert effects(papp.engine, consumer=MILESTONE_LOG) == [letter.message.message_id]

    def test_purge_keeps_the_letter_as_evidence_and_hides_it_from_the_list(
        self, papp, recorder, database
    ):
        letter_id = dead_letter_of(papp, recorder)
        purged = cli_json("dlq", "purge", str(letter_id), "--tenant", "acme", database=database)
        assert purged["purged_by"].startswith("key:cli-")
        listed = runner.invoke(cli, ["dlq", "list", "--database", database, "--json"])
        assert listed.output.strip() == ""
        everything = runner.invoke(
            cli, ["dlq", "list", "--include-purged", "--database", database, "--json"]
        )
        assert json.loads(everything.output)["id"] == letter_id
        refused = runner.invoke(
            cli, ["dlq", "replay", str(letter_id), "--tenant", "acme", "--database", database]
        )
        assert refused.exit_code == 1
        assert "purged" in refused.output

    def test_another_tenant_cannot_show_or_replay_the_letter(self, papp, recorder, database):
        letter_id = dead_letter_of(papp, recorder)
        for command in ("show", "replay", "purge"):
            result = runner.invoke(
                cli, ["dlq", command, str(letter_id), "--tenant", "globex", "--database", database]
            )
            assert result.exit_code == 1
            assert "no dead letter" in result.output
        assert papp.dead_letter(tenant_id="acme", dead_letter_id=letter_id).purged_at is None

    def test_the_table_listing_names_the_tenant_and_state(self, papp, recorder, database):
        dead_letter_of(papp, recorder)
        dead_letter_of(papp, recorder, tenant_id="globex")
        result = runner.invoke(cli, ["dlq", "list", "--database", database], env={"COLUMNS": "300"})
        assert result.exit_code == 0
        assert "acme" in result.output
        assert "globex" in result.output
        only = runner.invoke(
            cli, ["dlq", "list", "--tenant", "globex", "--database", database, "--json"]
        )
        assert [json.loads(line)["tenant_id"] for line in only.output.splitlines()] == ["globex"]


class TestApi:
    @pytest.fixture
    def client(self, papp):
        with TestClient(create_app(papp)) as test_client:
            yield test_client

    def headers(self, papp, *, tenant_id: str = "acme", role: str = "admin") -> dict[str, str]:
        _, token = make_principal(papp, tenant_id=tenant_id, roles=(role,))
        return {"Authorization": f"Bearer {token}"}

    def test_an_admin_lists_and_shows_only_the_tenants_own_dead_letters(
        self, papp, recorder, client
    ):
        mine = dead_letter_of(papp, recorder)
        theirs = dead_letter_of(papp, recorder, tenant_id="globex")
        acme = self.headers(papp)
        listed = client.get("/v1/dlq", headers=acme).json()
        assert [item["id"] for item in listed["items"]] == [mine]
        assert client.get(f"/v1/dlq/{mine}", headers=acme).json()["attempts"] == 3
        response = client.get(f"/v1/dlq/{theirs}", headers=acme)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "dead_letter_not_found"
        for action in ("replay", "purge"):
            assert client.post(f"/v1/dlq/{theirs}/{action}", headers=acme).status_code == 404
        assert papp.dead_letter(tenant_id="globex", dead_letter_id=theirs).replays == ()

    @pytest.mark.parametrize("role", ["integration", "viewer", "controller", "auditor"])
    def test_every_role_but_admin_is_refused(self, papp, recorder, client, role):
        letter_id = dead_letter_of(papp, recorder)
        headers = self.headers(papp, role=role)
        requests = [
            ("GET", "/v1/dlq"),
            ("GET", f"/v1/dlq/{letter_id}"),
            ("POST", f"/v1/dlq/{letter_id}/replay"),
            ("POST", f"/v1/dlq/{letter_id}/purge"),
        ]
        for method, path in requests:
            response = client.request(method, path, headers=headers)
            assert response.status_code == 403, path
        letter = papp.dead_letter(tenant_id="acme", dead_letter_id=letter_id)
        assert (letter.replays, letter.purged_at) == ((), None)

    def test_replay_and_purge_are_recorded_with_the_calling_key(self, papp, recorder, client):
        letter_id = dead_letter_of(papp, recorder)
        principal, token = make_principal(papp, roles=("admin",))
        headers = {"Authorization": f"Bearer {token}"}
        replayed = client.post(f"/v1/dlq/{letter_id}/replay", headers=headers)
        assert replayed.status_code == 200, replayed.text
        assert [r["replayed_by"] for r in replayed.json()["replays"]] == [principal.actor]
        assert queued(papp.engine) == [replayed.json()["message_id"]]
        purged = client.post(f"/v1/dlq/{letter_id}/purge", headers=headers).json()
        assert purged["purged_by"] == principal.actor
        again = client.post(f"/v1/dlq/{letter_id}/purge", headers=self.headers(papp)).json()
        assert again["purged_at"] == purged["purged_at"]  # the first purge stands
        assert again["purged_by"] == principal.actor
        refused = client.post(f"/v1/dlq/{letter_id}/replay", headers=headers)
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "dead_letter_purged"
        assert client.get("/v1/dlq", headers=headers).json()["items"] == []
        with_purged = client.get("/v1/dlq?include_purged=true", headers=headers).json()
        assert [item["id"] for item in with_purged["items"]] == [letter_id]

    def test_the_list_pages_with_a_cursor(self, papp, recorder, client):
        ids = [dead_letter_of(papp, recorder, order_id=f"SO-{n}") for n in range(3)]
        headers = self.headers(papp)
        first = client.get("/v1/dlq?limit=2", headers=headers).json()
        second = client.get(
            "/v1/dlq", params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers
        ).json()
        assert [i["id"] for i in first["items"] + second["items"]] == ids[::-1]
        assert second["next_cursor"] is None
        bad = client.get("/v1/dlq?cursor=nonsense", headers=headers)
        assert bad.status_code == 422
        assert bad.json()["error"]["code"] == "invalid_cursor"
