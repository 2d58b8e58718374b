"""Read batch files into records: JSON Lines (one envelope per line) and CSV (envelope columns).

A line or row that cannot be decoded becomes a record with a problem instead of an event, so the
import quarantines it and carries on. Only a file that cannot be read at all (a CSV header
without the envelope columns) stops the import, and it does so before anything is applied.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from ordertrail.domain.canonical import parse_strict_json
from ordertrail.services.batch_import import SourceRecord

# One event is a few kilobytes; a line this long is not an event. It is quarantined, shortened.
LINE_BYTES_MAX = 1 << 20
QUARANTINED_TEXT_MAX = 64 * 1024
CSV_ENVELOPE_COLUMNS = (
    "event_id",
    "type",
    "schema_version",
    "tenant_id",
    "source",
    "occurred_at",
    "order_id",
)
CSV_COLUMNS = (*CSV_ENVELOPE_COLUMNS, "payload")
SCHEMA_VERSION_TEXT = re.compile(r"^[0-9]{1,9}$")
LINE_ENDINGS = ("\n", "\r")


class BatchFileError(ValueError):
    """The file as a whole cannot be read in its format; nothing in it is applied."""


def _shortened(text: str) -> str:
    if len(text) <= QUARANTINED_TEXT_MAX:
        return text
    return text[:QUARANTINED_TEXT_MAX] + f"… [{len(text) - QUARANTINED_TEXT_MAX:,} more characters]"


# ---- JSON Lines ---------------------------------------------------------------------------------


def read_jsonl(file: BinaryIO) -> Iterator[SourceRecord]:
    """Yield one record per non-blank line; an undecodable line is a record with a problem."""
    line_number = 0
    while raw := file.readline(LINE_BYTES_MAX + 1):
        line_number += 1
        if len(raw) > LINE_BYTES_MAX and not raw.endswith(b"\n"):
            length_bytes = len(raw) + _skip_line(file)
            text = _shortened(raw.decode("utf-8", errors="replace"))
            problem = f"the line is {length_bytes:,} bytes; at most {LINE_BYTES_MAX:,} are read"
            yield SourceRecord(line_number, None, text, problem, "line_too_long")
        elif raw.strip():
            yield _jsonl_record(line_number, raw)


def _skip_line(file: BinaryIO) -> int:
    skipped_bytes = 0
    while chunk := file.readline(LINE_BYTES_MAX):
        skipped_bytes += len(chunk)
        if chunk.endswith(b"\n"):
            break
    return skipped_bytes


def _jsonl_record(line_number: int, raw: bytes) -> SourceRecord:
    try:
        text = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as error:
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        problem = f"the line is not UTF-8 ({error.reason} at byte {error.start})"
        return SourceRecord(line_number, None, text, problem, "malformed_json")
    if line_number == 1:
        text = text.removeprefix("\ufeff")
    try:
        event = parse_strict_json(text)
    # ValueError covers JSONDecodeError, refused constants, lone surrogates and integers over
    # Python's digit limit; RecursionError is a value nested deeper than the parser follows.
    except (ValueError, RecursionError) as error:
        problem = f"the line is not valid JSON ({error})"
        return SourceRecord(line_number, None, _shortened(text), problem, "malformed_json")
    return SourceRecord(line_number, event, text)


# ---- CSV ----------------------------------------------------------------------------------------


class _LineTooLong(Exception):
    pass


class _LineTap:
    """Hands the CSV reader one physical line at a time and keeps the current row's lines."""

    def __init__(self, text: TextIO) -> None:
        self._text = text
        self.lines: list[str] = []
        self.consumed = 0

    def __iter__(self) -> _LineTap:
        return self

    def __next__(self) -> str:
        line = self._text.readline(LINE_BYTES_MAX + 1)
        if not line:
            raise StopIteration
        self.consumed += 1
        self.lines.append(line)
        if len(line) > LINE_BYTES_MAX and not line.endswith(LINE_ENDINGS):
            while (rest := self._text.readline(LINE_BYTES_MAX)) and not rest.endswith(LINE_ENDINGS):
                pass
            raise _LineTooLong(f"a line is longer than {LINE_BYTES_MAX:,} characters")
        return line

    def row_text(self) -> str:
        """The current row as read; bytes that were not UTF-8 show as U+FFFD."""
        text = "".join(self.lines).rstrip("\r\n")
        return _shortened(text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


def read_csv(file: BinaryIO) -> Iterator[SourceRecord]:
    """Check the header row now (raising BatchFileError), then yield one record per row."""
    text = io.TextIOWrapper(file, encoding="utf-8-sig", errors="surrogateescape", newline="")
    tap = _LineTap(text)
    reader = csv.reader(tap, strict=True)
    try:
        header = next(reader, None)
    except (csv.Error, _LineTooLong) as error:
        raise BatchFileError(f"the header row is not valid CSV ({error})") from None
    if header is None:
        raise BatchFileError(f"the file is empty; it needs a header row: {','.join(CSV_COLUMNS)}")
    missing = [column for column in CSV_COLUMNS if column not in header]
    unknown = [column for column in header if column not in CSV_COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        raise BatchFileError(
            f"the header row must name each of {','.join(CSV_COLUMNS)} once and nothing else "
            f"(missing: {', '.join(missing) or 'none'}; unknown: {', '.join(unknown) or 'none'})"
        )
    return _csv_records(reader, tap, header)


def _csv_records(
    reader: Iterator[list[str]], tap: _LineTap, header: list[str]
) -> Iterator[SourceRecord]:
    while True:
        line_number = tap.consumed + 1
        tap.lines.clear()
        try:
            row = next(reader)
        except StopIteration:
            return
        except (csv.Error, _LineTooLong) as error:
            if not tap.lines:  # nothing was read, so nothing more can be
                return
            problem = f"the row is not valid CSV ({error})"
            yield SourceRecord(line_number, None, tap.row_text(), problem, "malformed_csv_row")
            continue
        if row:
            yield _csv_record(line_number, header, row, tap.row_text())


def _csv_record(line_number: int, header: list[str], row: list[str], text: str) -> SourceRecord:
    def undecodable(problem: str) -> SourceRecord:
        return SourceRecord(line_number, None, text, problem, "malformed_csv_row")

    if len(row) != len(header):
        return undecodable(f"the row has {len(row)} fields; the header has {len(header)}")
    if any(_has_undecodable_bytes(value) for value in row):
        return undecodable("the row is not UTF-8")
    values = dict(zip(header, row, strict=True))
    try:
        payload = parse_strict_json(values["payload"])
    except (ValueError, RecursionError) as error:
        return undecodable(f"the payload column is not valid JSON ({error})")
    event: dict[str, Any] = {column: values[column] for column in CSV_ENVELOPE_COLUMNS}
    version = values["schema_version"].strip()
    # A version that is not a number is passed on as text, for the schema check to name it.
    event["schema_version"] = int(version) if SCHEMA_VERSION_TEXT.match(version) else version
    event["payload"] = payload
    return SourceRecord(line_number, event, text)


def _has_undecodable_bytes(value: str) -> bool:
    # surrogateescape turns each byte that is not UTF-8 into a lone surrogate U+DC80..U+DCFF.
    return any("\udc80" <= char <= "\udcff" for char in value)


Reader = Callable[[BinaryIO], Iterator[SourceRecord]]

READERS: dict[str, Reader] = {"jsonl": read_jsonl, "csv": read_csv}
FORMAT_OF_SUFFIX = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}


def format_of(path: Path) -> str:
    """Infer the format from the file's extension, or raise BatchFileError."""
    try:
        return FORMAT_OF_SUFFIX[path.suffix.lower()]
    except KeyError:
        known = ", ".join(FORMAT_OF_SUFFIX)
        raise BatchFileError(
            f"cannot tell the format of {path.name} from its extension ({known}); "
            "pass --format jsonl or --format csv"
        ) from None
