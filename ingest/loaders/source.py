"""Python source files: one section per top-level function, per class header and per
method, and one per run of module code between them, each anchored by its line range and
named by its symbol ("lines 12–30, def train", ``#line=12-30``).

The text of a section is the source as written; the chunker puts every chunk of it in
a ``python`` fence, so the model, the page and the prompt all read it as code. Comment
lines directly above a definition belong to it. A file that is not valid Python is refused
with the line that breaks it.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

from ingest.documents import Anchor, LoadedDocument, Section
from ingest.loaders.base import LoadError, read_text, title_from_filename

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True)
class Span:
    """Lines ``first``..``last`` (1-based, inclusive) and the symbols they belong to."""

    first: int
    last: int
    symbols: tuple[str, ...]  # ("class Net", "def forward(self, x)"); () for module code


def signature(node: ast.AST) -> str:
    """``def train(model, epochs=10)``, ``async def fetch(url)``, ``class Net(nn.Module)``."""
    if isinstance(node, ast.ClassDef):
        bases = ", ".join(ast.unparse(b) for b in node.bases)
        return f"class {node.name}({bases})" if bases else f"class {node.name}"
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    keyword = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    return f"{keyword} {node.name}({ast.unparse(node.args)})"


def _start(node: ast.stmt, lines: list[str]) -> int:
    """The definition's first line: its first decorator, or the comments right above."""
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    while first > 1 and lines[first - 2].lstrip().startswith("#"):
        first -= 1
    return first


def spans(body: list[ast.stmt], lines: list[str], first: int, last: int,
          symbols: tuple[str, ...] = ()) -> list[Span]:
    """Cut lines ``first``..``last`` into definitions and the code between them; a class
    is cut again into its header and its methods."""
    out: list[Span] = []
    cursor = first
    for node in body:
        if not isinstance(node, _DEFS):
            continue
        start, end = _start(node, lines), node.end_lineno or node.lineno
        if start > cursor:
            out.append(Span(cursor, start - 1, symbols))
        name = (*symbols, signature(node))
        methods = [n for n in node.body if isinstance(n, _DEFS)] if isinstance(
            node, ast.ClassDef) else []
        if methods:
            out += spans(node.body, lines, start, end, name)
        else:
            out.append(Span(start, end, name))
        cursor = end + 1
    if cursor <= last:
        out.append(Span(cursor, last, symbols))
    return out


class SourceLoader:
    name = "source"
    suffixes = (".py",)

    def load(self, path: Path) -> LoadedDocument:
        text = read_text(path)
        if not text.strip():
            raise LoadError("empty document")
        try:
            tree = ast.parse(text, filename=path.name)
        except SyntaxError as exc:
            raise LoadError(f"not valid Python: {exc.msg} at line {exc.lineno}") from None
        except (RecursionError, MemoryError, ValueError) as exc:  # crafted nesting, NULs
            raise LoadError(f"Python the parser cannot read ({type(exc).__name__})") from None
        docstring = ast.get_docstring(tree)
        title = docstring.strip().splitlines()[0].rstrip(".") if docstring else (
            title_from_filename(path))
        lines = text.splitlines()
        sections = []
        for span in spans(tree.body, lines, 1, len(lines)):
            first, last = span.first, span.last  # without the blank lines around it
            while first <= last and not lines[first - 1].strip():
                first += 1
            while last >= first and not lines[last - 1].strip():
                last -= 1
            if first > last:
                continue
            code = textwrap.dedent("\n".join(lines[first - 1 : last]))
            what = span.symbols[-1] if span.symbols else "module code"
            where = f"{first}" if first == last else f"{first}-{last}"
            label = f"line{'' if first == last else 's'} {where.replace('-', '–')}, {what}"
            sections.append(Section(code, (title, *span.symbols), Anchor("line", where, label),
                                    language="python"))
        if not sections:
            raise LoadError("empty document")
        return LoadedDocument(title, sections, self.name)
