"""The server's access log, with secrets taken out of the addresses it records.

Session tokens and keys travel in headers, never in addresses; but a client may still put
one in a query string (an old bookmark, a hand-made link), and the access log would keep
it. :class:`RedactSecrets` rewrites such parameters' values to ``[redacted]`` before a
line is written.
"""

from __future__ import annotations

import logging
import re

SECRET_PARAMETERS = ("lti", "token", "key", "api_key", "access_token", "id_token", "session")
_PARAMETER = re.compile(r"([?&](?:" + "|".join(SECRET_PARAMETERS) + r")=)[^&#\s]*", re.I)


def redact(text: str) -> str:
    """``text`` with the values of secret query parameters replaced."""
    return _PARAMETER.sub(r"\1[redacted]", text)


class RedactSecrets(logging.Filter):
    """For uvicorn's access logger, whose records carry the request path in their args."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install() -> None:
    """Redact the access log of this process (idempotent)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactSecrets) for f in access.filters):
        access.addFilter(RedactSecrets())
