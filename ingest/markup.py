"""Book-tool markup is read, not indexed: what course books write around their text,
reduced to the text a reader sees.

Handled, in Markdown files and notebooks' Markdown and code cells (one generic rule per
construct, not one per book):

- MyST and Sphinx roles, ``{role}`text``` and ``:role:`text```: cross-references
  (``numref``, ``ref``, ``eqref``, ``eq``, ``doc``) become their target's title when the
  course defines it (a heading, a figure's caption), else the label made readable
  (``sec_linear-regression`` → "linear regression"); citations (``cite``, ``citet``,
  ``citep``) are dropped; any other role keeps its text (``{math}`x^2``` → ``x^2``).
- Label lines (``:label:`x```, ``:eqlabel:`x```, ``:width:`400px```, MyST ``(x)=``).
- MyST directives in backtick or colon fences (```` ```{note} ````, ``:::{figure}``): their
  body stays, their options (``:name: x``) go; a code directive becomes a code block.
- Tabs for several frameworks (d2lbook's ``:begin_tab:`pytorch``` … ``:end_tab:``, and a
  code block whose first line is ``%%tab pytorch``): kept when the course keeps that
  framework (``frameworks`` in ``course.yaml``; none named: all are kept), the markers go.
  d2lbook's setup cell (``%load_ext d2lbook.tab``) goes. The same for MyST's and
  sphinx-tabs' tabs titled by a framework ("PyTorch", "TensorFlow"), and, where no marker
  names one, for a code block or cell that imports another framework and none of those
  kept (:data:`FRAMEWORKS` lists the names and modules).
- Highlight brackets (d2l's ``[**text**]`` and ``(**text**)``), HTML comments, anchors
  (``<a name=…></a>``) and tags (their text stays, an image keeps its alt text), Liquid
  (``{% … %}``, ``{{ … }}``) and kramdown attribute lists (``{: .class}``).
- Code-fence info strings (```` ```{.python .input n=2} ````) become the language.

All pure functions over text; ``tests/ingest/test_markup.py`` holds them to a table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from ingest.documents import LoadedDocument

REF_ROLES = ("numref", "ref", "eqref", "eq", "doc", "numref:", "any")
CITE_ROLES = ("cite", "citet", "citep", "cite:p", "cite:t", "footcite", "bibliography")

_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,}|:{3,})(.*)$")
_ROLE = re.compile(r"(?<![\w`\\])(?:\{(?P<myst>[A-Za-z][\w:+-]*)\}|:(?P<sphinx>[A-Za-z][\w:+-]*):)"
                   r"`(?P<body>[^`]*)`")
_CITE = re.compile(r"[ \t]*(?<![\w`\\])(?:\{(?:" + "|".join(CITE_ROLES) + r")\}|:(?:"
                   + "|".join(CITE_ROLES) + r"):)`[^`]*`")
_EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
_LABEL_LINE = re.compile(r"^\s*(?::(?:label|eqlabel|width|height|name|align|alt|class):`[^`]*`"
                         r"\s*)+$|^\s*\([\w:.-]+\)=\s*$")
_BEGIN_TAB = re.compile(r"^\s*:begin_tab:`([^`]*)`\s*$")
_END_TAB = re.compile(r"^\s*:end_tab:\s*$")
_TAB_MAGIC = re.compile(r"^\s*%%tab\s+(.+?)\s*$")
_HIGHLIGHT = re.compile(r"\[\*\*(.+?)\*\*\](?!\()|\(\*\*(.+?)\*\*\)", re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_ANCHOR = re.compile(r"<a\s+(?:name|id)\s*=\s*[\"'][^\"']*[\"']\s*>\s*</a>", re.I)
_IMG = re.compile(r"<img\b[^>]*>", re.I)
_ALT = re.compile(r"\balt\s*=\s*([\"'])(.*?)\1", re.I | re.S)
_BREAK = re.compile(r"<br\s*/?>", re.I)
_HTML_TAGS = ("a|abbr|b|big|blockquote|br|caption|center|cite|dd|del|details|div|dl|dt|em|"
              "figcaption|figure|font|footer|h[1-6]|header|hr|i|iframe|img|ins|kbd|li|mark|ol|p|"
              "q|s|section|small|source|span|strong|sub|summary|sup|table|tbody|td|tfoot|th|"
              "thead|tr|u|ul|video|svg|path|line|g|defs|marker|circle|rect|text|polygon")
_TAG = re.compile(rf"</?(?:{_HTML_TAGS})\b(?:\s+[^<>]*?)?\s*/?>", re.I)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.I | re.S)
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
_LIQUID = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.S)
_IAL = re.compile(r"\{:\s*[^}]*\}")
_DIRECTIVE = re.compile(r"^\{(?P<name>[\w:-]+)\}\s*(?P<argument>.*)$")
_OPTION = re.compile(r"^\s*:[\w-]+:(?:\s.*)?$")
_INFO_LANGUAGE = re.compile(r"\{?\s*\.?(?P<lang>[A-Za-z][\w+-]*)")
_HEADING_LABEL = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*\n\s*:label:`(?P<label>[^`]+)`", re.M)
_FIGURE_LABEL = re.compile(r"^!\[(?P<title>(?:[^\[\]]|\[[^\]]*\])*)\]\([^)]*\)\s*\n\s*"
                           r":label:`(?P<label>[^`]+)`", re.M)
_MYST_TARGET = re.compile(r"^\((?P<label>[\w:.-]+)\)=\s*\n#{1,6}\s+(?P<title>.+?)\s*$", re.M)
_LABEL_PREFIX = re.compile(r"^(?:sec|subsec|chap|chapter|fig|tab|table|eq|equation|lst|app)"
                           r"[_:-]", re.I)
D2L_SETUP = ("%load_ext d2lbook", "tab.interact_select")

# The frameworks a course may keep, by the names books give their tabs and the modules
# their code imports: how a variant is recognised where no tab marker names it.
FRAMEWORKS = {
    "pytorch": (("pytorch", "torch", "py-torch"), ("torch", "torchvision", "torchaudio")),
    "tensorflow": (("tensorflow", "tf", "keras", "tensorflow 2"), ("tensorflow", "keras")),
    "jax": (("jax", "flax"), ("jax", "flax", "optax", "haiku")),
    "mxnet": (("mxnet", "gluon"), ("mxnet",)),
    "paddle": (("paddle", "paddlepaddle"), ("paddle",)),
}
_FRAMEWORK_OF_NAME = {n: f for f, (names, _) in FRAMEWORKS.items() for n in (f, *names)}
_FRAMEWORK_OF_MODULE = {m: f for f, (_, modules) in FRAMEWORKS.items() for m in modules}
_IMPORT = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_]\w*)", re.M)
TAB_DIRECTIVES = ("tab-item", "tab", "group-tab", "code-tab")  # MyST, sphinx-tabs


def collect_labels(text: str) -> dict[str, str]:
    """The labels a Markdown text defines, with what a reference to them should read:
    a heading's title, or a figure's caption."""
    labels: dict[str, str] = {}
    for pattern in (_HEADING_LABEL, _FIGURE_LABEL, _MYST_TARGET):
        for match in pattern.finditer(text):
            title = reduce_inline(match.group("title"), {}).strip()
            if title:
                labels.setdefault(match.group("label").strip(), title)
    return labels


def readable_label(label: str) -> str:
    """``sec_linear-regression`` → "linear regression": a label nobody defined, as words."""
    return re.sub(r"[_:.-]+", " ", _LABEL_PREFIX.sub("", label)).strip() or label


def _role(match: re.Match, labels: dict[str, str]) -> str:
    role = (match.group("myst") or match.group("sphinx")).lower()
    body = match.group("body")
    explicit = _EXPLICIT.match(body)
    if role in CITE_ROLES:
        return ""
    if role in REF_ROLES:
        if explicit and explicit.group("text"):
            return explicit.group("text")
        targets = [t.strip() for t in body.split(",") if t.strip()]
        return ", ".join(labels.get(t, readable_label(t)) for t in targets)
    return explicit.group("text") if explicit and explicit.group("text") else body


def reduce_inline(text: str, labels: dict[str, str]) -> str:
    """Roles, highlight brackets, HTML, Liquid and attribute lists of prose; inline code
    spans are left as they are."""
    text = _COMMENT.sub("", text)
    text = _CITE.sub("", text)  # with the space before it: "as shown :cite:`x`." → "as shown."
    text = _ROLE.sub(lambda m: _role(m, labels), text)
    text = _HIGHLIGHT.sub(lambda m: m.group(1) or m.group(2), text)
    out, last = [], 0
    for span in _CODE_SPAN.finditer(text):
        out.append(_reduce_prose(text[last:span.start()]))
        out.append(span.group(0))
        last = span.end()
    out.append(_reduce_prose(text[last:]))
    return "".join(out)


def _reduce_prose(text: str) -> str:
    text = _SCRIPT.sub("", text)
    text = _ANCHOR.sub("", text)

    def img(match: re.Match) -> str:
        alt = _ALT.search(match.group(0))
        return alt.group(2) if alt else ""

    text = _IMG.sub(img, text)
    text = _BREAK.sub("\n", text)
    text = _TAG.sub("", text)
    text = _LIQUID.sub("", text)
    return _IAL.sub("", text)


def _keep_tab(names: str, frameworks: tuple[str, ...]) -> bool:
    chosen = {n.strip().lower() for n in names.split(",") if n.strip()}
    chosen |= {_FRAMEWORK_OF_NAME[n] for n in chosen if n in _FRAMEWORK_OF_NAME}
    return not frameworks or "all" in chosen or bool(chosen & set(frameworks))


def framework_of_title(title: str) -> str | None:
    """The framework a tab's title names ("PyTorch", "TensorFlow 2", "JAX"), or None."""
    return _FRAMEWORK_OF_NAME.get(title.strip().lower())


def frameworks_imported(code: str) -> set[str]:
    """The frameworks a piece of code imports (``import torch``, ``from jax import numpy``)."""
    return {_FRAMEWORK_OF_MODULE[m] for m in _IMPORT.findall(code) if m in _FRAMEWORK_OF_MODULE}


def other_framework(code: str, frameworks: tuple[str, ...]) -> bool:
    """Code without a marker that is another framework's variant: it imports a framework,
    and none of those the course keeps."""
    imported = frameworks_imported(code)
    return bool(frameworks and imported and not imported & set(frameworks))


def _code_block(info: str, body: list[str], fence: str, indent: str,
                frameworks: tuple[str, ...]) -> list[str]:
    """A fenced code block, as kept: its language, without tab magic; [] when it is
    another framework's variant or the book tool's own setup."""
    if body:
        tab = _TAB_MAGIC.match(body[0])
        if tab:
            if not _keep_tab(tab.group(1), frameworks):
                return []
            body = body[1:]
        elif other_framework("\n".join(body), frameworks):
            return []
    if any(line.strip().startswith(D2L_SETUP) for line in body):
        return []
    lang = _INFO_LANGUAGE.match(info.strip())
    name = lang.group("lang") if lang else ""
    if name in ("input", "output"):
        name = ""
    return [f"{indent}{fence}{name}", *body, f"{indent}{fence}"]


def reduce_markup(text: str, labels: dict[str, str] | None = None,
                  frameworks: Iterable[str] = ()) -> str:
    """``text`` (Markdown, as a course book writes it) with its book-tool markup reduced
    to the text a reader sees; see the module's list."""
    labels = labels or {}
    frameworks = tuple(f.strip().lower() for f in frameworks if f.strip())
    lines = text.splitlines()
    out: list[str] = []
    prose: list[str] = []
    skipping_tab = False

    def flush() -> None:
        if prose:
            out.append(reduce_inline("\n".join(prose), labels))
            prose.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            indent, marks, info = fence.groups()
            end = next((j for j in range(i + 1, len(lines))
                        if lines[j].strip().startswith(marks[0] * len(marks))
                        and not lines[j].strip().strip(marks[0])), len(lines))
            body = lines[i + 1:end]
            i = end + 1
            if skipping_tab:
                continue
            directive = _DIRECTIVE.match(info.strip())
            name = directive.group("name") if directive else ""
            if name in TAB_DIRECTIVES:
                # one framework's tab (MyST tab-item, sphinx-tabs): kept or dropped whole
                title = directive.group("argument").strip()
                framework = framework_of_title(title.split()[-1] if name == "code-tab"
                                              and title else title)
                if framework and frameworks and framework not in frameworks:
                    continue
            if directive and not name.startswith("code"):
                # a MyST directive: its argument (a title) and body, without options; a
                # directive inside it (tabs in a tab set) is read the same way
                kept = [b for b in body if not _OPTION.match(b)]
                argument = directive.group("argument").strip()
                if name in ("figure", "image") or name in TAB_DIRECTIVES:
                    argument = ""  # the image's path; the tab's framework name
                flush()
                out.append(reduce_markup("\n".join(([argument, ""] if argument else []) + kept),
                                         labels, frameworks))
                continue
            if directive:  # {code-cell} python, {code-block} python
                info = directive.group("argument")
            if marks[0] == ":":  # a colon fence that is not a directive: its text
                prose.extend(body)
                continue
            flush()
            out.append("\n".join(_code_block(info, body, marks, indent, frameworks)))
            continue
        begin = _BEGIN_TAB.match(line)
        if begin:
            skipping_tab = not _keep_tab(begin.group(1), frameworks)
        elif _END_TAB.match(line):
            skipping_tab = False
        elif not skipping_tab and not _LABEL_LINE.match(line):
            prose.append(line)
        i += 1
    flush()
    return re.sub(r"\n{3,}", "\n\n", "\n".join(part for part in out if part)).strip()


def reduce_code_cell(source: str, frameworks: Iterable[str] = ()) -> str | None:
    """A notebook code cell as kept: without ``%%tab`` magic; None when it is another
    framework's variant or the book tool's setup."""
    frameworks = tuple(f.strip().lower() for f in frameworks if f.strip())
    kept = _code_block("", source.splitlines(), "```", "", frameworks)
    return "\n".join(kept[1:-1]) if kept else None


def reduce_document(document: LoadedDocument, labels: dict[str, str],
                    frameworks: Iterable[str] = ()) -> LoadedDocument:
    """A Markdown file or notebook as loaded, with its sections' markup reduced; sections
    left empty (a setup cell, another framework's variant) are dropped."""
    sections = []
    for section in document.sections:
        if section.cell_type == "code":
            text = reduce_code_cell(section.text, frameworks)
        else:
            text = reduce_markup(section.text, labels, frameworks)
        if not text or not text.strip():
            continue
        path = tuple(reduce_inline(h, labels).strip() or h for h in section.heading_path)
        sections.append(replace(section, text=text, heading_path=path))
    title = reduce_inline(document.title, labels).strip() or document.title
    return replace(document, title=title, sections=sections)


def labels_of_files(paths: Iterable[Path], max_bytes: int) -> dict[str, str]:
    """The labels the course's Markdown files and notebooks define (see
    :func:`collect_labels`), so a reference in one file reads as a title from another."""
    labels: dict[str, str] = {}
    for path in paths:
        suffix = path.suffix.lower()
        if suffix not in (".md", ".markdown", ".ipynb"):
            continue
        try:
            if path.stat().st_size > max_bytes:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            if suffix == ".ipynb":
                cells = json.loads(text).get("cells", [])
                text = "\n\n".join("".join(c.get("source", "")) for c in cells
                                   if c.get("cell_type") == "markdown")
        except (OSError, ValueError, AttributeError, TypeError):
            continue  # the loader will say what is wrong with it
        for label, title in collect_labels(text).items():
            labels.setdefault(label, title)
    return labels
