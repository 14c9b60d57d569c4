"""Subtitles (.srt, .vtt): cues grouped into windows of about a minute, anchored by
their start time (``#t=SECONDS``, the media-fragment convention)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ingest.documents import Anchor, LoadedDocument, Section, format_timestamp
from ingest.loaders.base import LoadError, read_text, title_from_filename

WINDOW_SECONDS = 60.0
_TAGS = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def _srt_cues(text: str) -> list[Cue]:
    import srt

    try:
        return [
            Cue(c.start.total_seconds(), c.end.total_seconds(), c.content)
            for c in srt.parse(text)
        ]
    except (srt.SRTParseError, ValueError) as exc:
        raise LoadError(f"not a valid SRT file: {exc}") from None


def _vtt_cues(text: str) -> list[Cue]:
    import webvtt

    try:
        captions = webvtt.from_string(text)
    except Exception as exc:  # webvtt raises its own hierarchy plus ValueError
        raise LoadError(f"not a valid WebVTT file: {exc}") from None
    return [Cue(c.start_in_seconds, c.end_in_seconds, c.text) for c in captions]


def group_cues(cues: list[Cue], title: str, window: float = WINDOW_SECONDS) -> list[Section]:
    """Merge consecutive cues into sections that each span at most ``window`` seconds."""
    sections: list[Section] = []
    batch: list[Cue] = []

    def flush() -> None:
        if not batch:
            return
        text = " ".join(_TAGS.sub("", c.text).replace("\n", " ").strip() for c in batch)
        start, end = batch[0].start, batch[-1].end
        label = f"{format_timestamp(start)}–{format_timestamp(end)}"
        sections.append(Section(text.strip(), (title,), Anchor("time", str(int(start)), label)))
        batch.clear()

    for cue in cues:
        if not _TAGS.sub("", cue.text).strip():
            continue
        if batch and cue.end - batch[0].start > window:
            flush()
        batch.append(cue)
    flush()
    return sections


class SubtitleLoader:
    name = "subtitles"
    suffixes = (".srt", ".vtt")

    def load(self, path: Path) -> LoadedDocument:
        text = read_text(path)
        cues = _vtt_cues(text) if path.suffix.lower() == ".vtt" else _srt_cues(text)
        title = title_from_filename(path)
        sections = group_cues(cues, title)
        if not sections:
            raise LoadError("no subtitle cues with text")
        return LoadedDocument(title, sections, self.name)
