"""From hits to the passages a model reads ("small-to-big").

Small chunks retrieve best (see the README's sweep), but a 96-word-piece chunk read
alone often starts mid-argument ("That is the main reason…"). So each hit is widened to
its neighbouring chunks of the same section, windows of one section are merged, the
overlap that chunking put between neighbours is removed, and passages are added best
hit first until the token budget is spent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ingest.store import CourseIndex
from retriever.base import Hit


@dataclass
class Passage:
    hit: Hit  # the best hit inside: its anchor is what the citation points at
    rows: list[int]
    text: str


def _same_section(index: CourseIndex, a: int, b: int) -> bool:
    x, y = index.chunks[a], index.chunks[b]
    return x.source == y.source and x.heading_path == y.heading_path and x.anchor == y.anchor


def join_overlapping(pieces: list[str]) -> str:
    """Concatenate consecutive chunks, dropping the text each repeats of the previous."""
    text = ""
    for piece in pieces:
        overlap = 0
        for size in range(min(len(text), len(piece)), 0, -1):
            if text.endswith(piece[:size]):
                overlap = size
                break
        text = text + (piece[overlap:] if overlap >= 8 else ("\n\n" if text else "") + piece)
    return text.strip()


def build_passages(index: CourseIndex, hits: list[Hit], count_tokens: Callable[[str], int],
                   budget: int, *, neighbours: int = 1) -> list[Passage]:
    """Passages for ``hits`` (best first) within ``budget`` tokens."""
    passages: list[Passage] = []
    taken: set[int] = set()
    spent = 0
    for hit in hits:
        row = index.row_of[hit.chunk.id]
        if row in taken:
            continue
        window = [r for r in range(row - neighbours, row + neighbours + 1)
                  if 0 <= r < len(index.chunks) and r not in taken and _same_section(index, r, row)]
        # joins a passage of the same section it touches, else starts a new one
        home = next((p for p in passages if _same_section(index, p.rows[0], row)
                     and (min(window) <= max(p.rows) + 1 and max(window) >= min(p.rows) - 1)),
                    None)
        rows = sorted(set(window) | set(home.rows if home else ()))
        text = join_overlapping([index.chunks[r].text for r in rows])
        cost = count_tokens(text) - (count_tokens(home.text) if home else 0)
        if spent + cost > budget:
            # try the hit alone before giving up on it
            rows = sorted({row} | set(home.rows if home else ()))
            text = join_overlapping([index.chunks[r].text for r in rows])
            cost = count_tokens(text) - (count_tokens(home.text) if home else 0)
            if spent + cost > budget and (passages or budget - spent < 32):
                continue
        spent += cost
        taken.update(rows)
        if home:
            home.rows, home.text = rows, text
        else:
            passages.append(Passage(hit, rows, text))
    return passages
