"""Parsing files in a separate process, with limits: a crafted file fails itself, never the
server or the ingest that reads it.

A file is read by its loader in a worker process that has an address-space limit
(``parse_memory_mb``), one file at a time, each within ``parse_timeout_s``. A file that
runs past the time is stopped by killing the worker; one that exhausts the memory, or
crashes the parser, ends its worker; either way that file is skipped with the reason, and
the next file gets a fresh worker. Files over ``max_file_mb`` are refused before they are
opened, and a zip-based file (PowerPoint) whose members inflate past the limit, or far
out of proportion to their packed size (a zip bomb), is refused from its directory alone.

One worker serves the whole process (started on first use, kept between ingests), so
parsing in it costs a message per file, not a process start.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ingest.documents import LoadedDocument
from ingest.loaders import LoadError, loader_for

log = logging.getLogger(__name__)

ZIPPED = (".pptx",)
MAX_INFLATION = 200  # a member may unpack to at most this many times its packed size


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 60.0
    memory_mb: int = 2048
    max_file_mb: int = 200

    @property
    def max_bytes(self) -> int:
        return self.max_file_mb << 20


def check_size(path: Path, limits: Limits) -> None:
    """Refuse, from its size and (zip-based formats) its directory, a file too big to parse."""
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise LoadError(f"the file is {size:,} bytes; the limit is {limits.max_bytes:,} "
                        f"(ingest.max_file_mb)")
    if path.suffix.lower() not in ZIPPED:
        return
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise LoadError(f"not a valid zip package: {exc}") from None
    total = sum(m.file_size for m in members)
    if total > limits.max_bytes:
        raise LoadError(f"its parts unpack to {total:,} bytes; the limit is "
                        f"{limits.max_bytes:,} (a zip bomb?)")
    for member in members:
        if member.file_size > (1 << 20) and member.file_size > MAX_INFLATION * max(
                1, member.compress_size):
            raise LoadError(f"part {member.filename[:60]!r} unpacks to {member.file_size:,} "
                            f"bytes from {member.compress_size:,} (a zip bomb?)")


def _child(connection, memory_bytes: int) -> None:  # pragma: no cover - runs in the worker
    """The worker: limit the address space, then load files as the parent sends them."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    while True:
        try:
            path = connection.recv()
        except EOFError:
            return
        try:
            connection.send(("ok", loader_for(Path(path)).load(Path(path))))
        except MemoryError:
            connection.send(("error", "the parser ran out of memory on this file "
                                      "(ingest.parse_memory_mb)"))
        except LoadError as exc:
            connection.send(("error", str(exc)))
        except Exception as exc:  # a parser bug on a crafted file: that file fails
            connection.send(("error", f"the parser failed: {type(exc).__name__}: {exc}"))


class ParserSandbox:
    """Loads files in the worker process; one file at a time."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._lock = threading.Lock()
        self._process = None
        self._connection = None

    def load(self, path: Path) -> LoadedDocument:
        """The document in ``path``, or :class:`LoadError` saying why not."""
        loader_for(path)  # an unsupported suffix fails here, without the worker
        check_size(path, self.limits)
        with self._lock:
            connection = self._worker()
            connection.send(str(path))
            if not connection.poll(self.limits.timeout_s):
                self._stop()
                raise LoadError(f"parsing took longer than {self.limits.timeout_s:g} s "
                                f"(ingest.parse_timeout_s) and was stopped")
            try:
                status, value = connection.recv()
            except (EOFError, OSError):
                self._stop()
                raise LoadError("the parser crashed on this file (or ran out of memory)") \
                    from None
        if status == "error":
            raise LoadError(value)
        return value

    def _worker(self):
        if self._process is None or not self._process.is_alive():
            context = multiprocessing.get_context("spawn")  # not fork: the parent has threads
            parent, child = context.Pipe()
            self._process = context.Process(
                target=_child, args=(child, self.limits.memory_mb << 20),
                name="studyhall-parser", daemon=True)
            self._process.start()
            child.close()
            self._connection = parent
        return self._connection

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join(timeout=5)
        self._process = self._connection = None

    def close(self) -> None:
        with self._lock:
            self._stop()


_shared: dict[Limits, ParserSandbox] = {}
_shared_lock = threading.Lock()


def shared_sandbox(limits: Limits) -> ParserSandbox:
    """The process's sandbox for these limits (one worker, reused by every ingest)."""
    with _shared_lock:
        if limits not in _shared:
            _shared[limits] = ParserSandbox(limits)
        return _shared[limits]
