"""Snapshot: one complete, immutable set of built files with their HTTP metadata.

Every served path maps to a :class:`Document`: the bytes, the same bytes gzipped once
(deterministically: no timestamp in the gzip header), a strong ETag derived from the
bytes, the Last-Modified instant (the feed's newest update, never the build time) and the
content type. A snapshot is written to a folder atomically (the old folder and the new
one are exchanged in one step), with ``.gz`` siblings for ``gzip_static`` servers and a
manifest holding the metadata, so that other processes (gunicorn workers, nginx) can
serve exactly the same bytes and validators.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gzip
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: Name of the metadata file in a written snapshot folder.
MANIFEST = ".manifest.json"
#: Bodies at least this large are also kept gzipped.
GZIP_MIN_BYTES = 256


@dataclass(frozen=True, slots=True)
class Document:
    """One served file."""

    body: bytes
    gzipped: bytes | None  #: the body gzipped, or None when too small to bother
    etag: str  #: strong ETag value without quotes
    last_modified: datetime  #: aware UTC, second precision
    content_type: str

    @classmethod
    def make(cls, body: bytes, last_modified: datetime, content_type: str) -> Document:
        """Build a document, computing its ETag and gzip once."""
        etag = hashlib.sha256(body).hexdigest()[:32]
        # Level 4: on real feeds, 3% larger than level 6 in 55% of the time (cold builds
        # compress every document); mtime=0 keeps the bytes deterministic.
        gzipped = gzip.compress(body, 4, mtime=0) if len(body) >= GZIP_MIN_BYTES else None
        return cls(
            body, gzipped, etag, last_modified.astimezone(UTC).replace(microsecond=0), content_type
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every document of one build, by URL path (percent-decoded, no leading slash),
    plus the build's report for ``/healthz``."""

    documents: Mapping[str, Document]
    report: Mapping[str, Any]
    key: str  #: digest of all ETags: equal keys mean identical snapshots

    @classmethod
    def make(cls, documents: Mapping[str, Document], report: Mapping[str, Any]) -> Snapshot:
        """A snapshot whose key summarizes its content."""
        digest = hashlib.sha256()
        for path in sorted(documents):
            digest.update(f"{path}\0{documents[path].etag}\n".encode())
        return cls(dict(documents), dict(report), digest.hexdigest()[:32])


def _manifest(snapshot: Snapshot) -> bytes:
    entries = {
        path: {
            "etag": d.etag,
            "last_modified": d.last_modified.isoformat(),
            "content_type": d.content_type,
            "gzip": d.gzipped is not None,
        }
        for path, d in sorted(snapshot.documents.items())
    }
    doc = {"key": snapshot.key, "files": entries, "report": snapshot.report}
    return json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with Linux renameat2(RENAME_EXCHANGE); False if unsupported."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return bool(result == 0)


def _written_etags(out: Path) -> dict[str, str]:
    """ETag of every document in the snapshot folder at ``out`` (empty if none)."""
    try:
        files = json.loads((out / MANIFEST).read_bytes())["files"]
        return {path: info["etag"] for path, info in files.items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _write_file(target: Path, data: bytes, stamp: float, same_as: Path | None) -> None:
    """Write ``data`` at ``target`` with mtime ``stamp``; hard-link ``same_as`` instead
    when given (files of a written snapshot never change, so sharing them is safe)."""
    if same_as is not None:
        try:
            os.link(same_as, target)
            return
        except OSError:
            pass
    target.write_bytes(data)
    # The file time is the document's Last-Modified, so that a static server (nginx, a
    # CDN origin) sends the same validator feedsvc sends.
    os.utime(target, (stamp, stamp))


def write(snapshot: Snapshot, out: Path) -> None:
    """Write the snapshot as a folder at ``out``, replacing what was there atomically.

    Readers of ``out`` see the old complete folder or the new complete one, never a mix.
    Documents unchanged since the folder there was written are hard-linked, not
    rewritten, so a rescan that changed a few feeds writes only those.
    """
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = _written_etags(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        for path, doc in snapshot.documents.items():
            target = tmp / path
            target.parent.mkdir(parents=True, exist_ok=True)
            same = previous.get(path) == doc.etag
            stamp = doc.last_modified.timestamp()
            _write_file(target, doc.body, stamp, out / path if same else None)
            if doc.gzipped is not None:
                packed = path + ".gz"
                _write_file(tmp / packed, doc.gzipped, stamp, out / packed if same else None)
        (tmp / MANIFEST).write_bytes(_manifest(snapshot))
        os.chmod(tmp, 0o755)
        if not out.exists():
            os.rename(tmp, out)
            return
        if not _exchange(tmp, out):
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.rename(out, old)
            os.rename(tmp, out)
            tmp = old
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _read_at(dir_fd: int, name: str) -> bytes:
    fd = os.open(name, os.O_RDONLY, dir_fd=dir_fd)
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


def read(folder: Path, previous: Snapshot | None = None) -> Snapshot:
    """Load a snapshot written by :func:`write`.

    Files are read relative to one open handle on the folder, so a concurrent
    :func:`write` cannot mix two snapshots; documents whose path and ETag match
    ``previous`` are reused instead of read again. Raises ``OSError`` or ``ValueError``
    if the folder is missing, half-removed or not a snapshot.
    """
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        meta = json.loads(_read_at(dir_fd, MANIFEST))
        documents = {}
        old = previous.documents if previous is not None else {}
        for path, info in meta["files"].items():
            known = old.get(path)
            if known is not None and known.etag == info["etag"]:
                documents[path] = known
                continue
            body = _read_at(dir_fd, path)
            gz = _read_at(dir_fd, path + ".gz") if info["gzip"] else None
            documents[path] = Document(
                body,
                gz,
                info["etag"],
                datetime.fromisoformat(info["last_modified"]),
                info["content_type"],
            )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{folder} is not a feedsvc snapshot: {exc}") from exc
    finally:
        os.close(dir_fd)
    return Snapshot(documents, meta["report"], meta["key"])
