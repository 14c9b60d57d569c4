"""Real servers from Debian's packages, started by the tests themselves (as the browser
tests start chromium): :mod:`deploy.local` starts them; a test that needs one whose
package is missing fails and says how to get it (`make services`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from deploy import local
from deploy.local import free_port

__all__ = ["free_port", "new_database", "postgres_server", "redis_server"]


@contextmanager
def _required(server) -> Iterator[str]:
    try:
        with server() as url:
            yield url
    except local.Missing as exc:
        pytest.fail(str(exc))


def postgres_server():
    return _required(local.postgres_server)


def redis_server():
    return _required(local.redis_server)


def new_database(server_url: str) -> str:
    """A fresh, empty database on the server; its URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"
