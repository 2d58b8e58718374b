"""Storage contract, part 3: the event log, the projection scan, API keys and the import log."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, timedelta, timezone

from ordertrail.domain.canonical import canonical_json, sha256_hex
from ordertrail.services.ports import ApiKeyRecord, ImportProgress
from ordertrail.services.projections import verify_projections
from tests.builders import dispatched, placed, qty
from tests.conftest import NOW, T0


def fill(storage) -> list[dict]:
    acme = [placed(order_id=f"SO-{i}", event_id=f"a-{i}") for i in range(1, 6)]
    globex = [placed(order_id=f"SO-{i}", event_id=f"g-{i}", tenant_id="globex") for i in (1, 2)]
    storage.ingest(acme[:3])
    storage.ingest(globex, tenant_id="globex")
    storage.ingest([*acme[3:], dispatched("S1", qty(l1=1), order_id="SO-1", event_id="a-6")])
    return acme + globex


class TestEventLog:
    def test_reads_every_accepted_event_in_pages_in_log_order(self, storage):
        fill(storage)
        seen, after = [], 0
        while page := storage.event_log.read(tenant_id=None, after_seq=after, limit=3):
            assert len(page) <= 3
            seen += page
            after = page[-1].seq
        seqs = [e.seq for e in seen]
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == len(seqs)
        assert [json.loads(e.body)["event_id"] for e in seen] == [
            "a-1", "a-2", "a-3", "g-1", "g-2", "a-4", "a-5", "a-6"
        ]  # fmt: skip
        assert storage.event_log.read(tenant_id=None, after_seq=seqs[-1], limit=3) == []

    def test_keeps_each_body_with_its_checksum_and_arrival(self, storage):
        raws = fill(storage)
        logged = storage.event_log.read(tenant_id="acme", after_seq=0, limit=100)
        first = logged[0]
        assert (first.tenant_id, first.order_id) == ("acme", "SO-1")
        assert first.body == canonical_json(raws[0])
        assert first.checksum_sha256 == sha256_hex(first.body)
        assert first.recorded_at == NOW
        assert first.recorded_at.utcoffset() == timedelta(0)

    def test_filters_by_tenant_and_pages_within_it(self, storage):
        fill(storage)
        page = storage.event_log.read(tenant_id="globex", after_seq=0, limit=1)
        assert [json.loads(e.body)["event_id"] for e in page] == ["g-1"]
        rest = storage.event_log.read(tenant_id="globex", after_seq=page[0].seq, limit=10)
        assert [json.loads(e.body)["event_id"] for e in rest] == ["g-2"]
        assert storage.event_log.read(tenant_id="initech", after_seq=0, limit=10) == []

    def test_scans_projections_by_tenant_and_order_after_a_key(self, storage):
        fill(storage)
        rows = storage.event_log.projections(tenant_id=None, after=None, limit=100)
        keys = [(r.tenant_id, r.order_id) for r in rows]
        assert keys == sorted(keys)
        assert len(keys) == 7
        page = storage.event_log.projections(tenant_id=None, after=("acme", "SO-5"), limit=1)
        assert [(r.tenant_id, r.order_id) for r in page] == [("globex", "SO-1")]
        acme = storage.event_log.projections(tenant_id="acme", after=("acme", "SO-3"), limit=10)
        assert [r.order_id for r in acme] == ["SO-4", "SO-5"]
        (so1,) = [r for r in rows if r.tenant_id == "acme" and r.order_id == "SO-1"]
        assert (so1.status, so1.version) == ("partially_fulfilled", 2)
        assert so1.state["lines"][0]["shipped"] == 1

    def test_a_replay_of_the_log_verifies_the_projection(self, storage):
        fill(storage)
        assert verify_projections(log=storage.event_log, tenant_id=None) == []
        assert verify_projections(log=storage.event_log, tenant_id="globex") == []


def key(key_id: str, *, tenant_id: str = "acme", minutes: int = 0) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=key_id,
        tenant_id=tenant_id,
        name=f"key {key_id}",
        roles=("integration", "viewer"),
        secret_sha256="ab" * 32,
        created_at=T0 + timedelta(minutes=minutes),
    )


class TestKeyStore:
    def test_adds_and_gets_a_key(self, storage):
        storage.keys.add(key=key("k1"))
        assert storage.keys.get(key_id="k1") == key("k1")
        assert storage.keys.get(key_id="k404") is None

    def test_keeps_times_as_utc_instants(self, storage):
        created = (T0 + timedelta(hours=1)).astimezone(timezone(timedelta(hours=9)))
        storage.keys.add(key=replace(key("k1"), created_at=created))
        stored = storage.keys.get(key_id="k1")
        assert stored.created_at == created
        assert stored.created_at.utcoffset() == timedelta(0)

    def test_lists_keys_oldest_first_for_one_tenant_or_all(self, storage):
        storage.keys.add(key=key("k3", minutes=1))
        storage.keys.add(key=key("k2", minutes=0))
        storage.keys.add(key=key("k1", minutes=1))
        storage.keys.add(key=key("k0", tenant_id="globex", minutes=5))
        assert [k.key_id for k in storage.keys.list(tenant_id=None)] == ["k2", "k1", "k3", "k0"]
        assert [k.key_id for k in storage.keys.list(tenant_id="acme")] == ["k2", "k1", "k3"]
        assert storage.keys.list(tenant_id="initech") == []

    def test_revokes_a_key_once(self, storage):
        storage.keys.add(key=key("k1"))
        assert storage.keys.revoke(key_id="k1", revoked_at=NOW) is True
        assert storage.keys.get(key_id="k1").revoked_at == NOW
        assert storage.keys.revoke(key_id="k1", revoked_at=NOW + timedelta(days=1)) is False
        assert storage.keys.get(key_id="k1").revoked_at == NOW
        assert storage.keys.revoke(key_id="k404", revoked_at=NOW) is False


def progress(line: int, **changes) -> ImportProgress:
    base = ImportProgress(
        tenant_id="acme",
        file_sha256="f" * 64,
        file_name="events.jsonl",
        actor="key:test",
        line_committed=line,
        applied=line,
        duplicate=0,
        rejected=0,
        conflict=0,
        unparseable=0,
        started_at=T0,
        updated_at=T0 + timedelta(minutes=line),
    )
    return replace(base, **changes)


class TestImportLog:
    def test_begin_records_a_new_import_or_returns_the_one_recorded(self, storage):
        assert storage.import_log.begin(progress=progress(0)) == progress(0)
        storage.import_log.save(progress=progress(40))
        again = storage.import_log.begin(progress=progress(0, file_name="renamed.jsonl"))
        assert again == progress(40)
        other = progress(0, tenant_id="globex")
        assert storage.import_log.begin(progress=other) == other

    def test_save_never_moves_progress_backwards(self, storage):
        storage.import_log.begin(progress=progress(0))
        storage.import_log.save(progress=progress(50))
        storage.import_log.save(progress=progress(20))
        finished = progress(50, finished_at=NOW.astimezone(UTC), rejected=2)
        storage.import_log.save(progress=finished)
        assert storage.import_log.begin(progress=progress(0)) == finished
