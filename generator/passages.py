"""From hits to the passages a model reads ("small-to-big").

Small chunks retrieve best (see the README's sweep), but a 96-word-piece chunk read
alone often starts mid-argument ("That is the main reason…"). So hits are widened to
their neighbouring chunks of the same section within a token budget, hits of one
section become one passage, and the overlap chunking put between neighbours is removed.
Two passages that grow into each other are merged, in the document's order: read as two
sources, best first, a list's later half came before its opening ("several weaknesses:
…") and the model answered with the half it saw first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations

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
    """Passages for ``hits`` (best first) within ``budget`` tokens.

    First every hit that fits, so the passage that answers is not crowded out by the
    context of a better-ranked one; then, best passage first, the chunk before (the
    lead-in a fragment lacks) and the chunk after, while the budget lasts.
    """
    groups: list[list[int]] = []  # rows of each passage, in order of its best hit
    best: list[Hit] = []
    spent = 0

    def cost(rows: list[int]) -> int:
        if not rows:
            return 0
        return count_tokens(join_overlapping([index.chunks[r].text for r in sorted(rows)]))

    def taken(row: int) -> bool:
        return any(row in group for group in groups)

    for hit in hits:
        row = index.row_of[hit.chunk.id]
        if taken(row):
            continue
        home = next((g for g in groups if _same_section(index, g[0], row)
                     and min(g) - 1 <= row <= max(g) + 1), None)
        rows = sorted([*(home or []), row])
        extra = cost(rows) - cost(home or [])
        if spent + extra > budget and (groups or budget - spent < 32):
            continue
        spent += extra
        if home is not None:
            home[:] = rows
        else:
            groups.append(rows)
            best.append(hit)

    for _ in range(neighbours):
        for group in groups:
            for row in (min(group) - 1, max(group) + 1):
                if not 0 <= row < len(index.chunks) or taken(row):
                    continue
                if not _same_section(index, row, group[0]):
                    continue
                rows = sorted([*group, row])
                extra = cost(rows) - cost(group)
                if spent + extra <= budget:
                    spent += extra
                    group[:] = rows

    merged = True
    while merged:
        merged = False
        for i, j in combinations(range(len(groups)), 2):
            a, b = groups[i], groups[j]
            if (_same_section(index, a[0], b[0])
                    and min(b) <= max(a) + 1 and min(a) <= max(b) + 1):
                a[:] = sorted({*a, *b})
                del groups[j], best[j]  # the better-ranked hit (i) keeps the citation
                merged = True
                break

    return [
        Passage(hit, rows, join_overlapping([index.chunks[r].text for r in rows]))
        for hit, rows in zip(best, groups, strict=True)
    ]
