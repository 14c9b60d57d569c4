"""One exception hierarchy for every layer.

Each error a caller can meet carries a :data:`Kind`: what went wrong from the caller's
side (their input, a missing thing, a busy service, a broken installation). The layers
raise the error that names the problem in their own words; the two front ends map the
kind once each: ``api/errors.py`` to an HTTP status, ``studyhall/cli/common.py`` to an
exit status. Nothing between has to know either.

A usage error about one request field says which (``fields()``), so the HTTP side can
answer in FastAPI's own 422 shape; an error may add keys to the HTTP body (``extra()``,
for example the known courses) and headers (``headers()``, ``Retry-After``).
"""

from __future__ import annotations

from typing import ClassVar, Literal

Kind = Literal[
    "usage",  # the request is wrong: a bad value, a missing argument
    "unauthorized",  # no credentials, or ones that do not check out
    "forbidden",  # credentials that do not reach this
    "not_found",  # no such course, session, job, demo
    "conflict",  # the state on disk disagrees (an index built by another embedder)
    "too_large",  # a question, body or upload over its limit
    "unsupported",  # a file type no loader reads
    "rate_limited",  # over a caller's rate limit: try again later
    "busy",  # the queue is full: try again later
    "unavailable",  # a model or library is missing: the installation, not the request
    "no_space",  # the server's disk is full: nothing was kept, the request may be retried
    "timeout",  # ran past its time limit
    "cancelled",  # the caller went away
    "failed",  # the work itself failed
]


class StudyhallError(Exception):
    kind: ClassVar[Kind] = "failed"

    def fields(self) -> list[tuple[str, str]]:
        """(field, message) for each request field at fault; empty when none is."""
        return []

    def extra(self) -> dict[str, object]:
        """Keys the HTTP error body carries beside ``detail``."""
        return {}

    def headers(self) -> dict[str, str]:
        return {}


class UsageError(StudyhallError, ValueError):
    kind = "usage"


class InvalidRequest(UsageError):
    """A request parameter is wrong; the message names it and what it may be."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)

    def fields(self) -> list[tuple[str, str]]:
        return [(self.field, str(self))]


class Unauthorized(StudyhallError):
    """No credentials that reach this: sign in (an LTI launch, an API key, the admin token)."""

    kind = "unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(StudyhallError):
    """Credentials that check out, but do not reach this."""

    kind = "forbidden"


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be taken as text ("contains a NUL character", "is not valid
    Unicode: a lone surrogate at character 3"), or None when it can."""
    if "\x00" in text:
        return f"contains a NUL character (at character {text.index(chr(0))})"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"is not valid Unicode: a lone surrogate at character {exc.start}"
    return None


class NotFound(StudyhallError, LookupError):
    kind = "not_found"


class Conflict(StudyhallError):
    kind = "conflict"


class TooLarge(UsageError):
    kind = "too_large"


class QueryTooLong(InvalidRequest):
    kind = "too_large"


class Unavailable(StudyhallError):
    kind = "unavailable"


class NoSpace(StudyhallError):
    """The disk filled while writing; what was being written has been removed."""

    kind = "no_space"


def out_of_space(error: OSError) -> bool:
    """Whether an OSError says the disk (or the writer's quota) is full."""
    import errno

    return error.errno in (errno.ENOSPC, errno.EDQUOT)


class TimedOut(StudyhallError, TimeoutError):
    kind = "timeout"


class Cancelled(StudyhallError):
    """The caller asked to stop (the client went away, or a run was cancelled)."""

    kind = "cancelled"


class Busy(StudyhallError):
    """A queue is full; ``retry_after`` estimates when a place frees up, in seconds."""

    kind = "busy"

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"the assistant is busy; try again in about {retry_after} s")

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
