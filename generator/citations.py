"""Citation markers: keep the ones that point at a source, drop the rest.

The model cites as ``[2]``, ``[1][3]`` or ``[1, 3]``. A marker naming a source that was
not given (``[7]`` with five sources) points nowhere and is removed, from the stream as
it is generated and from the final text. Brackets glued to a name (``x[0]`` in code) are
indexing unless they name a real source, and are left alone.
"""

from __future__ import annotations

import re

MARKER = re.compile(r"\[(\s*\d+\s*(?:[,;]\s*\d+\s*)*)\]")
_LONGEST_MARKER = 16  # "[12, 13, 14, 15]": anything longer after "[" is not a marker


def _rewrite(inner: str, n_sources: int, cited: list[int], glued: bool = False) -> str:
    numbers = [int(x) for x in re.split(r"[,;]", inner)]
    valid = [n for n in numbers if 1 <= n <= n_sources]
    if glued and not valid:
        return f"[{inner}]"
    for n in valid:
        if n not in cited:
            cited.append(n)
    return "".join(f"[{n}]" for n in valid)


def clean(text: str, n_sources: int) -> tuple[str, list[int]]:
    """Text with invalid markers removed, and the valid source numbers in citation order."""
    cited: list[int] = []

    def replace(match: re.Match) -> str:
        glued = match.start() > 0 and _is_word(text[match.start() - 1])
        return _rewrite(match.group(1), n_sources, cited, glued)

    cleaned = MARKER.sub(replace, text)
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned), cited


class CitationStream:
    """Filters markers out of a token stream: text after a ``[`` is held back until it is
    known to be a marker (kept if valid) or not one (released as it was)."""

    def __init__(self, n_sources: int) -> None:
        self.n_sources = n_sources
        self.cited: list[int] = []
        self._held = ""
        self._glued = False  # whether the held "[" directly follows a word character
        self._last = ""

    def feed(self, piece: str) -> str:
        out = []
        for char in piece:
            if self._held:
                self._held += char
                if char == "]":
                    out.append(self._resolve())
                elif (len(self._held) > _LONGEST_MARKER
                      or not re.fullmatch(r"\[[\d\s,;]*", self._held)):
                    out.append(self._held)
                    self._held = ""
            elif char == "[":
                self._held = "["
                self._glued = _is_word(self._last)
            else:
                out.append(char)
            if not self._held:
                self._last = char
        return "".join(out)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return held

    def _resolve(self) -> str:
        held, self._held = self._held, ""
        match = MARKER.fullmatch(held)
        return _rewrite(match.group(1), self.n_sources, self.cited, self._glued) if match else held


def _is_word(char: str) -> bool:
    return bool(char) and (char.isalnum() or char == "_")


def _content(text: str) -> set[str]:
    from ingest.lexical import tokenize

    return set(tokenize([text])[0])


# A sentence ends at . ! or ? before a capital (or a digit, quote, bracket, bold); a list
# item ("- …", "1. …") on its own line is a sentence too.
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`*\"'(])|\n+(?=[ \t]*(?:[-*\u2022]|\d+[.)])\s)")


def _best_source(sentence: str, passage_words: list[set[str]]) -> tuple[int, float] | None:
    """(index, share) of the passage holding the largest share of the sentence's content
    words; None for sentences too short to judge (under three content words)."""
    words = _content(MARKER.sub("", sentence))
    if len(words) < 3 or not passage_words:
        return None
    shares = [len(words & pw) / len(words) for pw in passage_words]
    best = max(range(len(shares)), key=shares.__getitem__)
    return best, shares[best]


def sentence_support(text: str, passages: dict[int, str]) -> list[float | None]:
    """For each sentence of an answer, the largest share of its content words found in a
    passage that sentence cites (``passages``: citation number → text); 0.0 for a sentence
    that cites nothing, None for one too short to judge."""
    words = {n: _content(t) for n, t in passages.items()}
    shares: list[float | None] = []
    for sentence in _SENTENCE.split(text):
        cited = [int(x) for m in MARKER.finditer(sentence) for x in re.split(r"[,;]", m[1])]
        judged = _best_source(sentence, [words[n] for n in cited if n in words])
        if judged is None:
            too_short = _best_source(sentence, [set()]) is None
            shares.append(None if too_short else 0.0)
        else:
            shares.append(judged[1])
    return shares


def grounded(text: str, passages: list[str], *, min_support: float = 0.5) -> bool:
    """Whether at least one sentence of ``text`` is supported by a passage (holds at least
    ``min_support`` of its content words). An answer with none is the model's memory,
    not the course: measured, every out-of-course answer that got past the coverage
    checks had none, and only one answerable answer (a wrong one)."""
    passage_words = [_content(p) for p in passages]
    judged = [_best_source(s, passage_words) for s in _SENTENCE.split(text)]
    judged = [j for j in judged if j is not None]
    return not judged or any(share >= min_support for _, share in judged)


def attribute(text: str, passages: list[str], *, min_support: float = 0.5) -> str:
    """Give each sentence that cites nothing the passage that supports it, if one does.

    Small models often state a sourced fact and forget the marker. A sentence is
    attributed to the passage that contains the largest share of its content words
    (stemmed, stop words dropped), and only when that share is at least ``min_support``:
    a citation is added where the support is there to see, never by default.
    """
    if not passages:
        return text
    passage_words = [_content(p) for p in passages]
    # sentences at the even places, the white space between them (kept: a paragraph
    # break or a list's line break is part of the answer) at the odd ones
    pieces = re.split(f"({_SENTENCE.pattern})", text)
    for i in range(0, len(pieces), 2):
        sentence = pieces[i]
        judged = None if MARKER.search(sentence) else _best_source(sentence, passage_words)
        if judged is None:
            continue
        best, share = judged
        if share >= min_support:
            stripped = sentence.rstrip()
            end = len(stripped) - 1 if stripped and stripped[-1] in ".!?" else len(stripped)
            pieces[i] = f"{stripped[:end]} [{best + 1}]{stripped[end:]}{sentence[len(stripped):]}"
    return "".join(pieces)


def repeated_from(text: str, *, min_words: int = 5) -> int | None:
    """Where ``text`` starts repeating itself: the offset of the first complete sentence
    (of at least ``min_words`` words) that says again, word for word, what an earlier
    sentence said, citation markers aside; None while nothing repeats.

    Greedy decoding of a small model sometimes falls into a loop ("This is because …"
    over and over until the token limit); what follows the first repeat adds nothing.
    """
    seen: set[str] = set()
    offset = 0
    for sentence in _SENTENCE.split(text):
        start = text.index(sentence, offset)
        offset = start + len(sentence)
        complete = offset < len(text.rstrip()) or sentence.rstrip().endswith((".", "!", "?"))
        key = " ".join(MARKER.sub(" ", sentence).lower().split()).rstrip(".!? ")
        if len(key.split()) < min_words or not complete:
            continue
        if key in seen:
            return start
        seen.add(key)
    return None
