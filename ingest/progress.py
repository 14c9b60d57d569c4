"""Progress of a long ingest: a tqdm bar on a terminal; where the output is a log (CI, a
service, a pipe), a plain line every few seconds with what is done and about how long is
left; nothing when nobody asked."""

from __future__ import annotations

import sys
import time
from typing import Literal, TextIO

from tqdm import tqdm

Mode = Literal["bar", "lines"] | None


class Lines:
    """tqdm's ``update``/``set_postfix_str``/context-manager interface, printing a line at
    most every ``every_s`` seconds, and one at the end."""

    def __init__(self, total: int, desc: str, unit: str, *, every_s: float = 10.0,
                 out: TextIO | None = None) -> None:
        self.total, self.desc, self.unit, self.every_s = total, desc, unit, every_s
        self.out = out or sys.stderr
        self.done, self.postfix = 0, ""
        self.started = self.last = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.done += n
        if time.monotonic() - self.last >= self.every_s:
            self._print()

    def set_postfix_str(self, text: str) -> None:
        self.postfix = text

    def _print(self) -> None:
        self.last = time.monotonic()
        elapsed = self.last - self.started
        left = ""
        if 0 < self.done < self.total:
            left = f", about {elapsed / self.done * (self.total - self.done):.0f} s left"
        extra = f", {self.postfix}" if self.postfix else ""
        print(f"{self.desc}: {self.done:,}/{self.total:,} {self.unit}s{extra}{left}",
              file=self.out, flush=True)

    def __enter__(self) -> Lines:
        return self

    def __exit__(self, *exc) -> None:
        if self.total:
            self._print()


def progress(total: int, desc: str, unit: str, mode: Mode):
    """A bar, lines, or nothing, with one interface."""
    if mode == "lines":
        return Lines(total, desc, unit)
    return tqdm(total=total, desc=desc, unit=unit, disable=mode != "bar")
