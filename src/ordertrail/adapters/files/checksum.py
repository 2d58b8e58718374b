"""Manifest checksums: the SHA-256 of a whole batch file, and the `sha256sum` sidecar beside it."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

HEX_DIGEST = re.compile(r"^[0-9a-fA-F]{64}$")
CHUNK_BYTES = 1 << 20
# A manifest names one file, or a few; anything longer is not a manifest.
MANIFEST_BYTES_MAX = 64 * 1024
SIDECAR_SUFFIX = ".sha256"


class ManifestError(ValueError):
    """A manifest (or a --sha256 value) that cannot be read as a SHA-256 digest."""


@dataclass(frozen=True, slots=True)
class FileDigest:
    sha256: str
    size_bytes: int
    lines_count: int


def digest_file(file: BinaryIO) -> FileDigest:
    """Hash an open file from the start, counting its lines, and leave it rewound.

    Callers then read the same open file: a file replaced on disk after hashing (the usual way
    exports are written) does not change what is read.
    """
    file.seek(0)
    sha256 = hashlib.sha256()
    size_bytes = newlines = 0
    last = b""
    while chunk := file.read(CHUNK_BYTES):
        sha256.update(chunk)
        size_bytes += len(chunk)
        newlines += chunk.count(b"\n")
        last = chunk[-1:]
    file.seek(0)
    unterminated = 1 if last not in (b"", b"\n") else 0
    return FileDigest(sha256.hexdigest(), size_bytes, newlines + unterminated)


def sidecar_of(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def expected_digest(value: str) -> str:
    """Check a digest given on the command line and return it in lowercase."""
    if not HEX_DIGEST.match(value.strip()):
        raise ManifestError(f"{value!r} is not a SHA-256 digest (64 hexadecimal digits)")
    return value.strip().lower()


def read_sidecar(path: Path) -> str | None:
    """Return the digest that `PATH.sha256` gives for `path`, or None if there is no sidecar.

    Accepts `sha256sum` output (`<hex>  <name>` or `<hex> *<name>`, one file per line) and a
    bare hex digest.
    """
    sidecar = sidecar_of(path)
    if not sidecar.is_file():
        return None
    with sidecar.open("rb") as file:
        text = file.read(MANIFEST_BYTES_MAX).decode("utf-8", errors="replace")
    for entry in (line.strip() for line in text.splitlines()):
        if not entry:
            continue
        digest, _, name = entry.partition(" ")
        if not HEX_DIGEST.match(digest):
            raise ManifestError(
                f"{sidecar.name}: {entry[:80]!r} is neither '<sha256>  <file name>' "
                "(sha256sum output) nor a bare SHA-256 digest"
            )
        name = name.strip().removeprefix("*")
        if not name or Path(name).name == path.name:
            return digest.lower()
    raise ManifestError(f"{sidecar.name} has no digest for {path.name}")
