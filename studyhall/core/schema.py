"""Every table of the service's database, in one place (SQLAlchemy Core), for SQLite and
PostgreSQL alike. The migrations under ``migrations/versions`` build and upgrade it; a
change here goes with a new migration (tests/studyhall/core/test_database.py checks that
the migrated database matches these tables).

Times are seconds since the epoch as double precision (REAL in SQLite) unless a column
says ISO text; JSON is stored as text, so both engines read it the same way.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
)

metadata = MetaData()

# --- conversations (generator/conversations.py) -----------------------------------------

sessions = Table(
    "sessions", metadata,
    Column("id", Text, primary_key=True),
    Column("course", Text, nullable=False),
    Column("created_at", Text, nullable=False),  # ISO
    Column("owner", Text),
)

messages = Table(
    "messages", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", Text, ForeignKey("sessions.id"), nullable=False),
    Column("role", Text, CheckConstraint("role IN ('user', 'assistant')"), nullable=False),
    Column("content", Text, nullable=False),
    Column("standalone", Text),
    Column("citations", Text),  # JSON
    Column("refused", Integer, nullable=False, server_default="0"),
    Column("created_at", Text, nullable=False),  # ISO
    Index("messages_session", "session_id", "id"),
    sqlite_autoincrement=True,
)

feedback = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", Integer, ForeignKey("messages.id"), nullable=False),
    Column("rating", Integer, CheckConstraint("rating IN (-1, 1)"), nullable=False),
    Column("comment", Text, nullable=False, server_default=""),
    Column("created_at", Text, nullable=False),  # ISO
    sqlite_autoincrement=True,
)

# --- background jobs (studyhall/core/jobs.py; ingest/jobs.py, eval/jobs.py) --------------


def job_runner_columns() -> tuple[Column, ...]:
    """Who runs a job and when it last said it was alive (``studyhall worker`` processes
    beat every few seconds; a running job whose beat stops is marked interrupted)."""
    return (Column("worker", Text), Column("heartbeat", Double))


ingest_jobs = Table(
    "ingest_jobs", metadata,
    Column("id", Text, primary_key=True),
    Column("course", Text, nullable=False),
    Column("files", Text, nullable=False),  # the uploaded file names, JSON, in ingest order
    Column("status", Text, nullable=False),  # queued, running, done, failed, interrupted
    Column("done", Integer, nullable=False, server_default="0"),  # files ingested so far
    Column("total", Integer, nullable=False),
    Column("current", Text),  # the file being ingested
    Column("report", Text),  # the IngestReport so far, JSON
    Column("error", Text),
    Column("created", Double, nullable=False),
    Column("started", Double),
    Column("finished", Double),
    *job_runner_columns(),
)

eval_jobs = Table(
    "eval_jobs", metadata,
    Column("id", Text, primary_key=True),
    Column("course", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("params", Text, nullable=False),
    Column("status", Text, nullable=False),  # queued, running, done, failed, interrupted
    Column("done", Integer, nullable=False, server_default="0"),
    Column("total", Integer, nullable=False, server_default="0"),
    Column("summary", Text),  # the headline numbers, JSON
    Column("error", Text),
    Column("report_dir", Text),
    Column("created", Double, nullable=False),
    Column("started", Double),
    Column("finished", Double),
    *job_runner_columns(),
)

# --- LTI (api/lti/) ----------------------------------------------------------------------

lti_logins = Table(
    "lti_logins", metadata,
    Column("state", Text, primary_key=True),
    Column("nonce", Text, nullable=False, unique=True),
    Column("issuer", Text, nullable=False),
    Column("client_id", Text, nullable=False),
    Column("expires_at", Double, nullable=False),
    Column("state_used", Integer, nullable=False, server_default="0"),
    Column("nonce_used", Integer, nullable=False, server_default="0"),
)

lti_platforms = Table(
    "lti_platforms", metadata,
    Column("issuer", Text, nullable=False),
    Column("client_id", Text, nullable=False),
    Column("deployment_ids", Text, nullable=False),  # JSON
    Column("auth_login_url", Text, nullable=False),
    Column("auth_token_url", Text),
    Column("jwks_url", Text, nullable=False),
    Column("context_courses", Text, nullable=False),  # JSON
    Column("default_course", Text),
    Column("page_origins", Text, nullable=False, server_default="[]"),  # JSON
    PrimaryKeyConstraint("issuer", "client_id"),
)

# --- access (api/access/store.py) --------------------------------------------------------

course_access = Table(
    "course_access", metadata,
    Column("course", Text, primary_key=True),
    Column("visibility", Text, CheckConstraint("visibility IN ('public', 'lms', 'private')"),
           nullable=False),
    Column("updated_at", Double, nullable=False),
)

api_keys = Table(
    "api_keys", metadata,
    Column("id", Text, primary_key=True),
    Column("secret_sha256", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("courses", Text, nullable=False),  # JSON list of course ids
    Column("scope", Text, CheckConstraint("scope IN ('read', 'instruct')"), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("last_used_at", Double),
    Column("revoked_at", Double),
)

# --- the answer cache (generator/answer_cache.py) ----------------------------------------

answer_cache = Table(
    "answer_cache", metadata,
    Column("course", Text, nullable=False),
    Column("version", Text, nullable=False),
    Column("generation", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("answer", Text, nullable=False),  # JSON
    Column("created_at", Text, nullable=False),  # ISO
    PrimaryKeyConstraint("course", "version", "generation", "key"),
)

answer_cache_stats = Table(
    "answer_cache_stats", metadata,
    Column("course", Text, primary_key=True),
    Column("hits", Integer, nullable=False, server_default="0"),
    Column("misses", Integer, nullable=False, server_default="0"),
)
