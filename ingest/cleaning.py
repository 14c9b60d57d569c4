"""Only language is indexed: what a loader's text carries that is not language for a reader.

- :func:`drop_payloads` takes inline binary payloads out of a section's text before it is
  chunked: a Markdown image or an HTML ``<img>`` whose source is a ``data:`` URI becomes its
  alt text, and any other ``data:…;base64,…`` run is removed. A notebook's Markdown cell
  that pastes a screenshot this way holds a few words and 200 KB of base64; before, the
  base64 was chunked and embedded as text.
- :func:`is_language` tells a chunk worth embedding from one that is mostly a payload
  (base64 runs, hex dumps); the pipeline leaves such chunks out and counts them.
  Formulas, code, tables and reading lists of links are language here.

Both are pure functions over text, tested as tables (``tests/ingest/test_cleaning.py``).
"""

from __future__ import annotations

import re

_MEDIA = r"data:[\w.+-]+/[\w.+-]+(?:;[\w.+-]+=[\w.+-]+)*"
_DATA = rf"{_MEDIA};base64,[A-Za-z0-9+/=%]*"  # a base64 payload: no spaces in it
# ![alt](data:...) → alt (the payload runs to the closing parenthesis, encoded or not)
_MD_IMAGE = re.compile(rf"!\[([^\]]*)\]\(\s*<?{_MEDIA}[;,][^)]*\)")
# <img ... src="data:..." ...> → its alt text
_HTML_IMAGE = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*([\"'])\s*data:.*?\1[^>]*>", re.I | re.S)
_ALT = re.compile(r"\balt\s*=\s*([\"'])(.*?)\1", re.I | re.S)
# a reference-style definition: [logo]: data:...
_MD_REFERENCE = re.compile(rf"^\s*\[[^\]]+\]:\s*<?{_MEDIA}[;,].*$", re.M)
_ANY_DATA = re.compile(_DATA)

LONG_RUN = 40  # base64-alphabet characters in a row beyond which a run is a payload
# above this share of a text's characters in payload runs or hex words, it is a payload
MAX_PAYLOAD = 0.5
_PAYLOAD_RUN = re.compile(rf"[A-Za-z0-9+/]{{{LONG_RUN},}}={{0,2}}")
# link targets and bare URLs are set aside before measuring: [text](#anchor) is "text"
_URL = re.compile(r"\]\(\s*<?[^)\s]*>?(?:\s+\"[^\"]*\")?\s*\)|(?:https?|ftp)://[^\s)>\]]+")
_HEX = re.compile(r"^(?:0x)?[0-9a-fA-F]{8,}$")


def drop_payloads(text: str) -> str:
    """``text`` without inline binary payloads; an image keeps its alt text."""
    if "data:" not in text:
        return text
    text = _MD_IMAGE.sub(lambda m: m.group(1).strip(), text)

    def alt(match: re.Match) -> str:
        found = _ALT.search(match.group(0))
        return found.group(2).strip() if found else ""

    text = _HTML_IMAGE.sub(alt, text)
    text = _MD_REFERENCE.sub("", text)
    return _ANY_DATA.sub(lambda m: "" if len(m.group(0)) > LONG_RUN else m.group(0), text)


def is_language(text: str) -> bool:
    """Whether ``text`` reads as language (prose, formulas, code, tables) rather than a
    payload: at most half of its characters in runs of 40+ base64 characters (a pasted
    image, a serialized blob) or in hex words (a byte dump). Link targets and URLs are set
    aside first, so a reading list or a table of contents is language."""
    words = _URL.sub(lambda m: "] " if m.group(0).startswith("]") else " ", text).split()
    size = sum(len(word) for word in words)
    if size == 0:
        return bool(text.strip())  # only links: language
    payload = sum(len(run) for word in words for run in _PAYLOAD_RUN.findall(word))
    payload += sum(len(word) for word in words if _HEX.match(word))
    return payload / size <= MAX_PAYLOAD
