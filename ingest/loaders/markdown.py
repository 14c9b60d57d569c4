"""Markdown: one section per heading, anchored by the heading's slug."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from markdown_it import MarkdownIt

from ingest.documents import Anchor, LoadedDocument, Section, slugify
from ingest.loaders.base import LoadError, read_text, title_from_filename

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)


def split_headings(text: str, fallback_title: str) -> tuple[str, list[Section]]:
    """Split Markdown into sections at its headings.

    Returns the document title (the first H1, else ``fallback_title``) and the sections.
    A section's heading path runs from the title down to its own heading; its text is the
    body under that heading, without the heading line itself.
    """
    lines = text.splitlines()
    tokens = MarkdownIt("commonmark").parse(text)
    # (level, heading text, first body line, heading line)
    headings: list[tuple[int, str, int, int]] = []
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.map is not None:
            inline = tokens[i + 1].content.strip()
            headings.append((int(token.tag[1]), inline, token.map[1], token.map[0]))

    title = fallback_title
    if headings and headings[0][0] == 1:
        title = headings[0][1]

    sections: list[Section] = []
    seen_slugs: dict[str, int] = {}

    def add(body_lines: list[str], path: tuple[str, ...], start_line: int) -> None:
        body = "\n".join(body_lines).strip()
        if not body:
            return
        slug = slugify(path[-1])
        n = seen_slugs.get(slug, 0)
        seen_slugs[slug] = n + 1
        ref = slug if n == 0 else f"{slug}-{n}"
        sections.append(
            Section(body, path, Anchor("section", ref, path[-1]), start_line=start_line)
        )

    first_heading_line = headings[0][3] if headings else len(lines)
    add(lines[:first_heading_line], (title,), 1)

    stack: list[tuple[int, str]] = []
    for n, (level, heading, body_start, _) in enumerate(headings):
        body_end = headings[n + 1][3] if n + 1 < len(headings) else len(lines)
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading))
        path = tuple(h for _, h in stack)
        if path[0] != title:
            path = (title, *path)
        add(lines[body_start:body_end], path, body_start + 1)
    return title, sections


class MarkdownLoader:
    name = "markdown"
    suffixes = (".md", ".markdown")

    def load(self, path: Path) -> LoadedDocument:
        text = read_text(path)
        fallback = title_from_filename(path)
        front = _FRONT_MATTER.match(text)
        if front:
            try:
                meta = yaml.safe_load(front.group(1)) or {}
            except yaml.YAMLError as exc:
                raise LoadError(f"invalid YAML front matter: {exc}") from None
            if isinstance(meta, dict) and meta.get("title"):
                fallback = str(meta["title"])
            text = text[front.end():]
        title, sections = split_headings(text, fallback)
        if not sections:
            raise LoadError("empty document: no text outside headings")
        return LoadedDocument(title, sections, self.name)
