"""Rate limits per caller, with the ``limits`` library: each API key, each LTI user, and
each client address (for anonymous callers) has its own budget per route family. Over
it: 429 with ``Retry-After``, the seconds until the window lets the next request in.

The counters (``limits``' moving window) live in this process's memory by default; with a
Redis URL (``access.limits_url``, else ``queue_url``) they live there, so a caller's budget
is one budget across every replica behind the load balancer.
"""

from __future__ import annotations

import math
import time
from typing import Literal

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from api.access.callers import Caller
from studyhall.core.errors import StudyhallError
from studyhall.core.settings import AccessSettings

Family = Literal["answers", "search", "demos"]


class RateLimited(StudyhallError):
    kind = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class RateLimits:
    def __init__(self, settings: AccessSettings, storage_url: str | None = None) -> None:
        storage = storage_from_string(storage_url) if storage_url else MemoryStorage()
        self._limiter = MovingWindowRateLimiter(storage)
        self._items: dict[Family, RateLimitItem] = {
            "answers": parse(settings.answers_rate), "search": parse(settings.search_rate),
            "demos": parse(settings.demos_rate)}
        self.texts = {"answers": settings.answers_rate, "search": settings.search_rate,
                      "demos": settings.demos_rate}

    def hit(self, family: Family, caller: Caller) -> None:
        """Count one request of ``caller``; :class:`RateLimited` when over the budget."""
        if caller.admin:
            return
        item, who = self._items[family], identity(caller)
        if self._limiter.hit(item, family, who):
            return
        reset = self._limiter.get_window_stats(item, family, who).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        raise RateLimited(f"over the limit of {self.texts[family]} {family} requests for "
                          f"{caller.who}; try again in {wait} s", wait)


def identity(caller: Caller) -> str:
    """Whose budget a request spends: the key, the LTI user, or the client's address (an
    anonymous caller's own client id is not trusted for this: it could be changed at will).
    The admin has none."""
    if caller.key is not None:
        return f"key:{caller.key.id}"
    if caller.session is not None:
        return f"lti:{caller.session.issuer}|{caller.session.user}"
    return f"addr:{caller.address}"
