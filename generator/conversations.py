"""Sessions, messages and feedback, in the service's database (:mod:`studyhall.core.database`:
a SQLite file by default, PostgreSQL shared by several replicas).

A session belongs to its owner (an LTI user, an API key, the browser that started it; the
HTTP layer says who, as an opaque string): only that owner may continue it, read it or
leave feedback on its answers; to anyone else it does not exist. Students' questions are
personal data, so a session whose last message is older than the retention is deleted,
with its messages and feedback.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import case, delete, func, insert, select

from studyhall.core.database import Database
from studyhall.core.errors import InvalidRequest, NotFound
from studyhall.core.schema import feedback, messages, sessions


class UnknownSession(NotFound):
    pass


class UnknownMessage(NotFound):
    pass


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


PURGE_EVERY_S = 3600.0


class ConversationStore:
    def __init__(self, database: Database | Path | str, *,
                 retention_days: float | None = None) -> None:
        self.db = Database.of(database)
        self.retention_days = retention_days
        self._purged_at = 0.0
        self.purge()

    def new_session(self, course: str, owner: str | None = None) -> str:
        if time.monotonic() - self._purged_at > PURGE_EVERY_S:
            self.purge()
        session_id = uuid.uuid4().hex
        with self.db.begin() as db:
            db.execute(insert(sessions).values(id=session_id, course=course,
                                               created_at=_now(), owner=owner))
        return session_id

    def session_course(self, session_id: str, owner: str | None = None) -> str:
        """The session's course; :class:`UnknownSession` when there is none, or it belongs
        to someone other than ``owner``."""
        with self.db.connect() as db:
            row = db.execute(select(sessions.c.course, sessions.c.owner)
                             .where(sessions.c.id == session_id)).first()
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
        last = (select(func.max(messages.c.created_at))
                .where(messages.c.session_id == sessions.c.id).scalar_subquery())
        with self.db.begin() as db:
            stale = list(db.execute(select(sessions.c.id).where(
                func.coalesce(last, sessions.c.created_at) < cutoff)).scalars())
            for chunk in range(0, len(stale), 500):
                ids = stale[chunk:chunk + 500]
                of_them = select(messages.c.id).where(messages.c.session_id.in_(ids))
                db.execute(delete(feedback).where(feedback.c.message_id.in_(of_them)))
                db.execute(delete(messages).where(messages.c.session_id.in_(ids)))
                db.execute(delete(sessions).where(sessions.c.id.in_(ids)))
        return len(stale)

    def add_message(self, session_id: str, role: str, content: str, *,
                    standalone: str | None = None, citations: list[dict] | None = None,
                    refused: bool = False) -> int:
        with self.db.begin() as db:
            return int(db.execute(insert(messages).values(
                session_id=session_id, role=role, content=content, standalone=standalone,
                citations=json.dumps(citations) if citations is not None else None,
                refused=int(refused), created_at=_now()).returning(messages.c.id)).scalar_one())

    def recent_turns(self, session_id: str, limit: int) -> list[tuple[str, str]]:
        """The last ``limit`` messages as (role, content), oldest first."""
        with self.db.connect() as db:
            rows = db.execute(select(messages.c.role, messages.c.content)
                              .where(messages.c.session_id == session_id)
                              .order_by(messages.c.id.desc()).limit(limit)).all()
        return [(role, content) for role, content in reversed(rows)]

    def questions_asked(self, session_id: str) -> int:
        with self.db.connect() as db:
            return int(db.execute(select(func.count()).select_from(messages).where(
                messages.c.session_id == session_id, messages.c.role == "user")).scalar_one())

    def messages(self, session_id: str) -> list[dict]:
        with self.db.connect() as db:
            rows = db.execute(
                select(messages.c.id, messages.c.role, messages.c.content, messages.c.citations,
                       messages.c.refused, messages.c.created_at)
                .where(messages.c.session_id == session_id).order_by(messages.c.id)).all()
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
        with self.db.begin() as db:
            row = db.execute(select(messages.c.role, sessions.c.owner)
                             .join(sessions, sessions.c.id == messages.c.session_id)
                             .where(messages.c.id == message_id)).first()
            if row is None or row[0] != "assistant" or row[1] != owner:
                raise UnknownMessage(f"no assistant message with id {message_id}")
            return int(db.execute(insert(feedback).values(
                message_id=message_id, rating=rating, comment=comment, created_at=_now())
                .returning(feedback.c.id)).scalar_one())

    def feedback_counts(self) -> dict[str, int]:
        def count(rating: int):
            return func.coalesce(func.sum(case((feedback.c.rating == rating, 1), else_=0)), 0)

        with self.db.connect() as db:
            up, down = db.execute(select(count(1), count(-1))).one()
        return {"up": int(up), "down": int(down)}
