"""The service's database: every stateful table behind one interface, two engines.

``STUDYHALL_DATABASE_URL`` picks it: unset, an embedded SQLite file in the data directory
(``<data_dir>/studyhall.sqlite``, one machine, today's default); ``postgresql://…`` for
several API replicas and workers on several machines. Stores (conversations, jobs, LTI
logins, API keys, platforms, the answer cache) take a :class:`Database` and speak
SQLAlchemy Core, whose SQL runs unchanged on both; only what differs (an advisory lock,
SQLite's pragmas) is decided here.

Why SQLAlchemy Core with Alembic: it is already in the lock (through LangChain), it writes
portable DDL and SQL without an ORM's model layer, and Alembic is its migration tool,
with in-place upgrades (batch mode for SQLite's limited ALTER). The schema is
:mod:`studyhall.core.schema`; its versions are under ``studyhall/core/migrations``;
:meth:`Database.migrate` brings a database to the newest, once per process, under a lock
so that two replicas starting together do not both run it.
"""

from __future__ import annotations

import fcntl
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Table, create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError

from studyhall.core.errors import UsageError

MIGRATIONS = Path(__file__).with_name("migrations")


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def normalize_url(url: str) -> str:
    """``postgresql://`` (as people write it) means the psycopg 3 driver; SQLite as is."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UsageError(f"not a database URL: {url[:80]!r} (sqlite:///path or "
                         "postgresql://user@host:port/db)") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise UsageError(f"studyhall stores its state in SQLite or PostgreSQL, not "
                         f"{parsed.get_backend_name()!r}")
    return parsed.render_as_string(hide_password=False)


class Database:
    """One engine (a connection pool) per URL and process, shared by every store."""

    _engines: dict[str, Engine] = {}
    _migrated: set[str] = set()
    _guard = threading.Lock()

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        with self._guard:
            if self.url not in self._engines:
                self._engines[self.url] = self._engine(self.url)
        self.engine = self._engines[self.url]
        self.migrate()

    @classmethod
    def of(cls, where: Database | Path | str) -> Database:
        """A store's argument as a database: a Database, a SQLite file, or a URL."""
        if isinstance(where, Database):
            return where
        if isinstance(where, Path):
            return cls(sqlite_url(where))
        return cls(where)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @staticmethod
    def _engine(url: str) -> Engine:
        if make_url(url).get_backend_name() == "sqlite":
            path = make_url(url).database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 30,
                                                      "check_same_thread": False})

            @event.listens_for(engine, "connect")
            def _pragmas(connection, _record) -> None:
                cursor = connection.cursor()
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.close()

            return engine
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)

    def insert(self, table: Table):
        """The engine's own INSERT, which knows ``on_conflict_do_update`` / ``_do_nothing``
        (SQLite and PostgreSQL spell ON CONFLICT the same; SQLAlchemy has it per dialect)."""
        from sqlalchemy.dialects import postgresql, sqlite

        return (sqlite if self.is_sqlite else postgresql).insert(table)

    def upsert(self, table: Table, row: dict, keys: Sequence[str]):
        """``INSERT … ON CONFLICT (keys) DO UPDATE``: ``row`` replaces the row with its keys."""
        return self.insert(table).values(**row).on_conflict_do_update(
            index_elements=list(keys), set_={k: v for k, v in row.items() if k not in keys})

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection in a transaction, committed when the block ends without error."""
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reads (a transaction that is rolled back at the end)."""
        with self.engine.connect() as connection:
            yield connection

    def migrate(self) -> None:
        """Bring the schema to the newest version (once per process and URL)."""
        if self.url in self._migrated:
            return
        # across processes: two replicas starting together do not both run the migrations
        with self._guard, self.advisory_lock("studyhall migrations"):
            if self.url in self._migrated:
                return
            from alembic import command
            from alembic.config import Config

            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
            self._migrated.add(self.url)

    @contextmanager
    def try_lock(self, name: str) -> Iterator[bool]:
        """Like :meth:`advisory_lock`, without waiting: yields whether it was taken."""
        key = zlib.crc32(name.encode())
        if self.is_sqlite:  # one machine: the caller's own file lock is enough
            yield True
            return
        with self.engine.connect() as connection:
            taken = connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                       {"key": key}).scalar()
            try:
                yield bool(taken)
            finally:
                if taken:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()

    @contextmanager
    def advisory_lock(self, name: str) -> Iterator[None]:
        """Held by one process at a time across every machine on this database (publishing
        a course's version, say); on SQLite, by one process on this machine."""
        key = zlib.crc32(name.encode())
        if self.is_sqlite:
            path = make_url(self.url).database
            if not path or path == ":memory:":  # one process's own database
                yield
                return
            with open(f"{path}.{key:08x}.lock", "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
            return
        with self.engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
