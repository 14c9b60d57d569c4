"""The courses in a data directory, and atomic publishing of index versions.

Layout, per course::

    <data_dir>/courses/<course_id>/
        CURRENT                 the published version's name (replaced atomically)
        versions/<version>/     complete versions (see ingest.store)
        versions/.staging-*     a version being written; never read
        .lock                   held by the one ingest allowed at a time

A new version is written beside the old one, renamed into place, and only then named in
``CURRENT`` (write a temporary file, fsync, ``os.replace``). A reader resolves
``CURRENT`` once and loads that directory, so it sees the old version or the new one,
never a mix; a crash at any point leaves the previous version serving. What a crash leaves
behind (a staging directory, a version renamed into place but never named in ``CURRENT``,
a half-written ``CURRENT.tmp``) is removed by :meth:`Catalog.recover`, which the next
ingest of the course and every service start run.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path

from ingest.store import MANIFEST, Manifest, fsync_dir, read_manifest
from studyhall.core.database import Database
from studyhall.core.errors import Conflict, NotFound, UsageError

log = logging.getLogger(__name__)

COURSE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
CURRENT = "CURRENT"


class UnknownCourse(NotFound):
    def __init__(self, course_id: str, known: list[str]) -> None:
        self.course_id = course_id
        self.known = known
        listing = ", ".join(known) if known else "none yet (run `studyhall ingest`)"
        super().__init__(f"unknown course {course_id!r}; known courses: {listing}")

    def extra(self) -> dict[str, object]:
        return {"known_courses": self.known}


class CourseBusy(Conflict):
    """Another process is ingesting into the same course."""


def validate_course_id(course_id: str) -> str:
    if not COURSE_ID.match(course_id):
        raise UsageError(
            f"course id must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with "
            f"a letter or digit; got {course_id!r}"
        )
    return course_id


class Catalog:
    """A folder of courses, each a ``CURRENT`` file naming its published version.

    ``database``: the service's database, when several machines share the folder (NFS,
    an object-store mount): an ingest then holds the course's advisory lock there too, so
    two machines never publish into one course at once (a file lock holds on one)."""

    def __init__(self, courses_dir: Path, *, keep_versions: int = 2,
                 database: Database | None = None) -> None:
        self.root = Path(courses_dir)
        self.keep_versions = keep_versions
        self.database = database

    def course_dir(self, course_id: str) -> Path:
        return self.root / validate_course_id(course_id)

    def course_ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / CURRENT).is_file())

    def current_version(self, course_id: str) -> Path | None:
        """The published version's directory, or None if the course has none."""
        course_dir = self.course_dir(course_id)
        try:
            name = (course_dir / CURRENT).read_text().strip()
        except FileNotFoundError:
            return None
        version = course_dir / "versions" / name
        return version if (version / MANIFEST).is_file() else None

    def require(self, course_id: str) -> Path:
        """The published version, or :class:`UnknownCourse` listing what exists."""
        try:
            version = self.current_version(course_id)
        except ValueError:
            version = None
        if version is None:
            raise UnknownCourse(course_id, self.course_ids())
        return version

    def manifests(self) -> list[Manifest]:
        found = []
        for course_id in self.course_ids():
            version = self.current_version(course_id)
            if version is not None:
                found.append(read_manifest(version))
        return found

    @contextmanager
    def lock(self, course_id: str) -> Iterator[None]:
        course_dir = self.course_dir(course_id)
        course_dir.mkdir(parents=True, exist_ok=True)
        with open(course_dir / ".lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CourseBusy(
                    f"another ingest into course {course_id!r} is running; try again when it ends"
                ) from None
            try:
                machines = (self.database.try_lock(f"course {course_id}") if self.database
                            else nullcontext(True))
                with machines as taken:
                    if not taken:
                        raise CourseBusy(f"another machine is ingesting into course "
                                         f"{course_id!r}; try again when it ends")
                    yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def recover(self, course_id: str) -> list[str]:
        """Remove what a crashed ingest left (call under lock); the names removed."""
        course_dir = self.course_dir(course_id)
        versions = course_dir / "versions"
        removed = []
        if (course_dir / f"{CURRENT}.tmp").exists():
            (course_dir / f"{CURRENT}.tmp").unlink()
            removed.append(f"{CURRENT}.tmp")
        if not versions.is_dir():
            return removed
        current = self.current_version(course_id)
        for path in sorted(versions.iterdir()):
            staging = path.name.startswith(".staging-")
            # version names sort by the time they were made: one after CURRENT was never
            # published (the crash came between the rename and the pointer)
            unpublished = (not path.name.startswith(".") and path != current
                           and (current is None or path.name > current.name))
            if staging or unpublished:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path.name)
        if removed:
            log.warning("course %s: removed what an interrupted ingest left: %s",
                        course_id, ", ".join(removed))
        return removed

    def recover_all(self) -> dict[str, list[str]]:
        """:meth:`recover` every course no ingest is writing to now."""
        found = {}
        if not self.root.is_dir():
            return found
        for course_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            try:
                with self.lock(validate_course_id(course_dir.name)):
                    if removed := self.recover(course_dir.name):
                        found[course_dir.name] = removed
            except (CourseBusy, UsageError):
                continue  # an ingest is running there (it recovers first), or not a course
        return found

    def new_staging_dir(self, course_id: str) -> tuple[str, Path]:
        """A fresh, not-yet-created directory to write a version into (call under lock)."""
        versions = self.course_dir(course_id) / "versions"
        versions.mkdir(parents=True, exist_ok=True)
        self.recover(course_id)
        name = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)
        return name, versions / f".staging-{name}"

    def publish(self, course_id: str, name: str, staged: Path) -> Path:
        """Move a complete staged version into place and make it current (call under lock)."""
        course_dir = self.course_dir(course_id)
        versions = course_dir / "versions"
        final = versions / name
        os.rename(staged, final)
        fsync_dir(versions)
        pointer = course_dir / f"{CURRENT}.tmp"
        with open(pointer, "w") as handle:
            handle.write(name + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(pointer, course_dir / CURRENT)
        fsync_dir(course_dir)
        self._prune(versions, keep=name)
        return final

    def _prune(self, versions: Path, keep: str) -> None:
        """Drop the oldest versions beyond ``keep_versions`` (the current one stays)."""
        complete = sorted(
            p for p in versions.iterdir() if not p.name.startswith(".") and p.name != keep
        )
        for old in complete[: max(0, len(complete) - (self.keep_versions - 1))]:
            shutil.rmtree(old, ignore_errors=True)
