"""The service's database on both engines: migrations build the schema the stores use,
upgrade a database made before migrations in place, and locks hold across processes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from studyhall.core.database import Database, normalize_url
from studyhall.core.errors import UsageError
from studyhall.core.schema import metadata


def test_the_migrated_database_matches_the_schema(database):
    with database.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []
    with database.connect() as connection:
        (version,) = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
    assert version[0] == "0002"


def test_a_database_from_before_migrations_is_taken_up_in_place(tmp_path: Path):
    """Tables the stores used to create themselves (their own DDL, every one of them), with
    rows, and without the columns added later by hand: the rows stay, the columns appear."""
    path = tmp_path / "studyhall.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript("""
            CREATE TABLE sessions (id TEXT PRIMARY KEY, course TEXT NOT NULL,
                                   created_at TEXT NOT NULL);
            INSERT INTO sessions VALUES ('s1', 'genai-basics', '2026-01-01T00:00:00');
            CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT,
                session_id TEXT NOT NULL REFERENCES sessions(id),
                role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
                content TEXT NOT NULL, standalone TEXT, citations TEXT,
                refused INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL);
            CREATE INDEX messages_session ON messages(session_id, id);
            INSERT INTO messages (session_id, role, content, created_at)
                VALUES ('s1', 'user', 'What is a GAN?', '2026-01-01T00:00:01');
            CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT,
                message_id INTEGER NOT NULL REFERENCES messages(id),
                rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
                comment TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL);
            INSERT INTO feedback (message_id, rating, created_at)
                VALUES (1, 1, '2026-01-01T00:00:02');
            CREATE TABLE answer_cache (course TEXT NOT NULL, version TEXT NOT NULL,
                generation TEXT NOT NULL, key TEXT NOT NULL, answer TEXT NOT NULL,
                created_at TEXT NOT NULL, PRIMARY KEY (course, version, generation, key));
            CREATE TABLE answer_cache_stats (course TEXT PRIMARY KEY,
                hits INTEGER NOT NULL DEFAULT 0, misses INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE lti_platforms (issuer TEXT NOT NULL, client_id TEXT NOT NULL,
                deployment_ids TEXT NOT NULL, auth_login_url TEXT NOT NULL,
                auth_token_url TEXT, jwks_url TEXT NOT NULL, context_courses TEXT NOT NULL,
                default_course TEXT, PRIMARY KEY (issuer, client_id));
        """)
    database = Database.of(path)
    with database.connect() as connection:
        rows = connection.execute(sa.text("SELECT id, owner FROM sessions")).all()
        kept = [connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
                for table in ("messages", "feedback")]
        columns = {c["name"] for c in sa.inspect(connection).get_columns("lti_platforms")}
    assert rows == [("s1", None)] and kept == [1, 1]
    assert "page_origins" in columns


def test_urls_people_write_are_understood_and_others_refused():
    assert normalize_url("postgresql://u@h:5432/d").startswith("postgresql+psycopg://")
    assert normalize_url("sqlite:////tmp/x.sqlite") == "sqlite:////tmp/x.sqlite"
    with pytest.raises(UsageError, match="SQLite or PostgreSQL, not 'mysql'"):
        normalize_url("mysql://u@h/d")
    with pytest.raises(UsageError, match="not a database URL"):
        normalize_url("not a url")


LOCKER = textwrap.dedent("""
    import sys, time
    from studyhall.core.database import Database
    database = Database(sys.argv[1])
    with database.advisory_lock("publish genai-basics"):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def test_an_advisory_lock_is_held_by_one_process_at_a_time(database, tmp_path: Path):
    script = tmp_path / "locker.py"
    script.write_text(LOCKER)
    root = str(Path(__file__).resolve().parents[3])
    first = subprocess.Popen([sys.executable, str(script), database.url, "3"], cwd=root,
                             stdout=subprocess.PIPE, text=True)
    assert first.stdout.readline().strip() == "held"
    # while the first holds it, a second process cannot take it (and one in this process
    # waits too): try it with a deadline, in a child that reports whether it got in
    probe = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(f"""
            import threading, sys
            from studyhall.core.database import Database
            database = Database({database.url!r})
            got = threading.Event()
            def take():
                with database.advisory_lock("publish genai-basics"):
                    got.set()
            threading.Thread(target=take, daemon=True).start()
            print("in" if got.wait(1.0) else "waiting")
        """)], cwd=root, capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() == "waiting", probe.stderr
    first.wait(timeout=60)
    after = subprocess.run([sys.executable, str(script), database.url, "0"], cwd=root,
                           capture_output=True, text=True, timeout=60)
    assert after.stdout.strip() == "held"
