"""Reading batch files: manifests, JSON Lines and CSV records, and what makes one undecodable."""

from __future__ import annotations

import hashlib
import io
import json

import pytest

from ordertrail.adapters.files import readers
from ordertrail.adapters.files.checksum import ManifestError, digest_file, read_sidecar
from ordertrail.adapters.files.readers import BatchFileError, read_csv, read_jsonl
from tests.cli.support import csv_row, write_csv

DIGEST = "ab" * 32


def test_a_sidecar_may_hold_sha256sum_lines_for_several_files_or_a_bare_digest(tmp_path):
    path = tmp_path / "orders.jsonl"
    path.write_text("{}\n")
    sidecar = tmp_path / "orders.jsonl.sha256"
    sidecar.write_text(f"{'cd' * 32}  other.jsonl\n{DIGEST.upper()} *./orders.jsonl\n")
    assert read_sidecar(path) == DIGEST
    sidecar.write_text(DIGEST + "\n")
    assert read_sidecar(path) == DIGEST
    sidecar.write_text(f"{DIGEST}  other.jsonl\n")
    with pytest.raises(ManifestError, match=r"no digest for orders\.jsonl"):
        read_sidecar(path)
    sidecar.write_text("not a digest  orders.jsonl\n")
    with pytest.raises(ManifestError, match="sha256sum"):
        read_sidecar(path)


def test_the_digest_covers_the_whole_file_and_counts_an_unterminated_last_line():
    file = io.BytesIO(b'{"a": 1}\n{"b": 2}')
    digest = digest_file(file)
    assert digest.lines_count == 2
    assert digest.size_bytes == 17
    assert digest.sha256 == hashlib.sha256(b'{"a": 1}\n{"b": 2}').hexdigest()
    assert file.tell() == 0


def test_jsonl_records_keep_their_line_numbers_across_blank_lines():
    file = io.BytesIO(b'\xef\xbb\xbf{"n": 1}\n\n   \n{"n": 2}\r\n[1, 2]\n')
    records = list(read_jsonl(file))
    assert [(r.line_number, r.event) for r in records] == [
        (1, {"n": 1}),
        (4, {"n": 2}),
        (5, [1, 2]),
    ]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b'{"quantity": NaN}', "NaN is not a JSON value"),
        (b'{"note": "\\ud800"}', "surrogates not allowed"),
        (b'{"a": 1', "not valid JSON"),
        (b'{"name": "caf\xe9"}', "not UTF-8"),
    ],
)
def test_a_line_python_could_misread_is_undecodable_with_the_reason(line, problem):
    [record] = read_jsonl(io.BytesIO(line + b"\n"))
    assert record.event is None
    assert record.code == "malformed_json"
    assert problem in record.problem


def test_a_line_over_the_limit_is_quarantined_shortened_and_the_next_line_read(monkeypatch):
    monkeypatch.setattr(readers, "LINE_BYTES_MAX", 16)
    monkeypatch.setattr(readers, "QUARANTINED_TEXT_MAX", 8)
    file = io.BytesIO(b'{"padding": "' + b"x" * 100 + b'"}\n{"n": 2}\n')
    long, short = read_jsonl(file)
    assert (long.line_number, long.code, long.event) == (1, "line_too_long", None)
    assert long.text.startswith('{"paddin')
    assert "more characters" in long.text
    assert (short.line_number, short.event) == (2, {"n": 2})


def test_a_csv_row_spanning_lines_is_numbered_by_its_first_line(tmp_path):
    event = {
        "event_id": "e1",
        "type": "order.confirmed",
        "schema_version": 1,
        "tenant_id": "acme",
        "source": "oms",
        "occurred_at": "2026-11-02T09:00:00Z",
        "order_id": "SO-1",
        "payload": {},
    }
    multi_line = [*csv_row(event)[:-1], '{\n"confirmed_by":\n"desk"}']
    path = write_csv(tmp_path / "x.csv", [multi_line, csv_row({**event, "event_id": "e2"})])
    with path.open("rb") as file:
        first, second = read_csv(file)
    assert first.line_number == 2
    assert first.event["payload"] == {"confirmed_by": "desk"}
    assert first.event["schema_version"] == 1
    assert second.line_number == 5
    assert json.loads(json.dumps(second.event)) == {**event, "event_id": "e2"}


def test_a_csv_schema_version_that_is_not_a_number_is_left_for_the_schema_check(tmp_path):
    row = ["e1", "order.confirmed", "one", "acme", "oms", "2026-11-02T09:00:00Z", "SO-1", "{}"]
    path = write_csv(tmp_path / "x.csv", [row])
    with path.open("rb") as file:
        [record] = read_csv(file)
    assert record.event["schema_version"] == "one"


def test_a_csv_file_without_a_header_row_is_refused(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with path.open("rb") as file, pytest.raises(BatchFileError, match="needs a header row"):
        read_csv(file)
