"""Sessions, messages and feedback, in one SQLite file (``<data_dir>/studyhall.sqlite``).

A session belongs to its owner (an LTI user, an API key, the browser that started it; the
HTTP layer says who, as an opaque string): only that owner may continue it, read it or
leave feedback on its answers; to anyone else it does not exist. Students' questions are
personal data, so a session whose last message is older than the retention is deleted,
with its messages and feedback.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from studyhall.core.errors import InvalidRequest, NotFound

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    course TEXT NOT NULL,
    created_at TEXT NOT NULL,
    owner TEXT
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content TEXT NOT NULL,
    standalone TEXT,
    citations TEXT,
    refused INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_session ON messages(session_id, id);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id INTEGER NOT NULL REFERENCES messages(id),
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
"""


class UnknownSession(NotFound):
    pass


class UnknownMessage(NotFound):
    pass


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


PURGE_EVERY_S = 3600.0


class ConversationStore:
    def __init__(self, path: Path, *, retention_days: float | None = None) -> None:
        self.path = Path(path)
        self.retention_days = retention_days
        self._purged_at = 0.0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(sessions)")}
            if "owner" not in columns:  # a database from before owners
                db.execute("ALTER TABLE sessions ADD COLUMN owner TEXT")
        self.purge()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA foreign_keys=ON")
        return db

    def new_session(self, course: str, owner: str | None = None) -> str:
        if time.monotonic() - self._purged_at > PURGE_EVERY_S:
            self.purge()
        session_id = uuid.uuid4().hex
        with closing(self._connect()) as db, db:
            db.execute("INSERT INTO sessions (id, course, created_at, owner) VALUES (?, ?, ?, ?)",
                       (session_id, course, _now(), owner))
        return session_id

    def session_course(self, session_id: str, owner: str | None = None) -> str:
        """The session's course; :class:`UnknownSession` when there is none, or it belongs
        to someone other than ``owner``."""
        with closing(self._connect()) as db:
            row = db.execute("SELECT course, owner FROM sessions WHERE id = ?",
                             (session_id,)).fetchone()
        if row is None or row[1] != owner:
            raise UnknownSession(f"unknown session {session_id[:64]!r}")
        return row[0]

    def purge(self) -> int:
        """Delete the sessions idle longer than the retention (messages and feedback
        too); how many were deleted."""
        self._purged_at = time.monotonic()
        if self.retention_days is None:
            return 0
        cutoff = (datetime.now(UTC) - timedelta(days=self.retention_days)).isoformat(
            timespec="milliseconds")
        with closing(self._connect()) as db, db:
            stale = [row[0] for row in db.execute(
                "SELECT s.id FROM sessions s WHERE COALESCE((SELECT MAX(m.created_at) FROM "
                "messages m WHERE m.session_id = s.id), s.created_at) < ?", (cutoff,))]
            for chunk in range(0, len(stale), 500):
                ids = stale[chunk:chunk + 500]
                marks = ",".join("?" * len(ids))
                db.execute(f"DELETE FROM feedback WHERE message_id IN (SELECT id FROM messages "
                           f"WHERE session_id IN ({marks}))", ids)
                db.execute(f"DELETE FROM messages WHERE session_id IN ({marks})", ids)
                db.execute(f"DELETE FROM sessions WHERE id IN ({marks})", ids)
        return len(stale)

    def add_message(self, session_id: str, role: str, content: str, *,
                    standalone: str | None = None, citations: list[dict] | None = None,
                    refused: bool = False) -> int:
        with closing(self._connect()) as db, db:
            cursor = db.execute(
                "INSERT INTO messages (session_id, role, content, standalone, citations, refused, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (session_id, role, content, standalone,
                 json.dumps(citations) if citations is not None else None, int(refused), _now()),
            )
            return int(cursor.lastrowid)

    def recent_turns(self, session_id: str, limit: int) -> list[tuple[str, str]]:
        """The last ``limit`` messages as (role, content), oldest first."""
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT role, content FROM messages WHERE session_id = ? ORDER BY id DESC LIMIT ?",
                (session_id, limit),
            ).fetchall()
        return [(role, content) for role, content in reversed(rows)]

    def questions_asked(self, session_id: str) -> int:
        with closing(self._connect()) as db:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM messages WHERE session_id = ? AND role = 'user'",
                (session_id,)).fetchone()
        return count

    def messages(self, session_id: str) -> list[dict]:
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT id, role, content, citations, refused, created_at FROM messages "
                "WHERE session_id = ? ORDER BY id", (session_id,),
            ).fetchall()
        return [
            {"id": i, "role": role, "content": content,
             "citations": json.loads(cites) if cites else [], "refused": bool(refused),
             "created_at": created}
            for i, role, content, cites, refused, created in rows
        ]

    def add_feedback(self, message_id: int, rating: int, comment: str = "",
                     owner: str | None = None) -> int:
        """Feedback on an answer of ``owner``'s; someone else's is an unknown message."""
        if rating not in (-1, 1):
            raise InvalidRequest(
                "rating", f"rating must be 1 (thumbs up) or -1 (thumbs down), got {rating}")
        with closing(self._connect()) as db, db:
            row = db.execute("SELECT m.role, s.owner FROM messages m JOIN sessions s ON "
                             "s.id = m.session_id WHERE m.id = ?", (message_id,)).fetchone()
            if row is None or row[0] != "assistant" or row[1] != owner:
                raise UnknownMessage(f"no assistant message with id {message_id}")
            cursor = db.execute(
                "INSERT INTO feedback (message_id, rating, comment, created_at) VALUES (?,?,?,?)",
                (message_id, rating, comment, _now()),
            )
            return int(cursor.lastrowid)

    def feedback_counts(self) -> dict[str, int]:
        with closing(self._connect()) as db:
            up, down = db.execute(
                "SELECT COALESCE(SUM(rating = 1), 0), COALESCE(SUM(rating = -1), 0) FROM feedback"
            ).fetchone()
        return {"up": up, "down": down}
