"""HTML: page chrome (scripts, styles, navigation) dropped, then one section per heading."""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup

from ingest.documents import LoadedDocument
from ingest.loaders.base import LoadError, read_text, title_from_filename
from ingest.loaders.markdown import split_headings

_CHROME = ["script", "style", "noscript", "nav", "header", "footer", "template", "svg", "form"]
_BLOCKS = [
    "p", "div", "li", "tr", "pre", "blockquote", "section", "article", "main", "aside",
    "dd", "dt", "table", "ul", "ol", "figure", "figcaption",
]


class HtmlLoader:
    name = "html"
    suffixes = (".html", ".htm")

    def load(self, path: Path) -> LoadedDocument:
        soup = BeautifulSoup(read_text(path), "html.parser")
        for tag in soup(_CHROME):
            tag.decompose()
        page_title = soup.title.get_text(" ", strip=True) if soup.title else ""
        if soup.title:
            soup.title.decompose()
        # Headings become Markdown heading lines so one heading splitter serves both
        # formats; block elements end their line; inline elements run on.
        for level in range(1, 7):
            for heading in soup.find_all(f"h{level}"):
                text = heading.get_text(" ", strip=True)
                heading.replace_with(f"\n\n{'#' * level} {text}\n\n" if text else "")
        for br in soup.find_all("br"):
            br.replace_with("\n")
        for block in soup.find_all(_BLOCKS):
            block.insert_after("\n")
        lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in soup.get_text().split("\n")]
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
        title, sections = split_headings(text, page_title or title_from_filename(path))
        if not sections:
            raise LoadError("empty document: no text in the page body")
        return LoadedDocument(title, sections, self.name)
