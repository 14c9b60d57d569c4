"""Which files of a folder are course material: the instructor's include and exclude
patterns (``course.yaml`` and ``studyhall ingest --include/--exclude``), over defaults that
leave out what a repository carries besides teaching material; and, for the run's report,
the files left out grouped by why ("312 images, 41 scripts, 2 PDFs without text").

Patterns are gitignore-style globs over the path relative to the course folder: ``*``
matches within one folder name, ``**`` across folders, a pattern without a ``/`` matches
a name in any folder (``LICENSE*``), one ending in ``/`` a folder and everything in it
(``assignments/``). With include patterns, only files matching one are read; an exclude
pattern always wins. Files and folders whose names start with ``.`` or ``_`` are never read
(``.git``, ``_build``, ``__pycache__``).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import PurePosixPath

# What a teaching repository holds besides its material, when a loader would read it.
DEFAULT_EXCLUDE = (
    # build output, dependencies and environments
    "build/", "dist/", "site/", "node_modules/", "vendor/", "venv/", "env/", "htmlcov/",
    # the repository's own paperwork
    "LICENSE*", "LICENCE*", "COPYING*", "NOTICE*", "CHANGELOG*", "CHANGES*", "HISTORY*",
    "CONTRIBUTING*", "CODE_OF_CONDUCT*", "SECURITY*", "AUTHORS*", "CITATION*",
    "PULL_REQUEST_TEMPLATE*", "ISSUE_TEMPLATE*",
    # dependency and build files
    "requirements*.txt", "constraints*.txt", "*.lock", "setup.py", "conftest.py",
    "noxfile.py", "fabfile.py", "conf.py", "ci/", "*.min.js", "*.min.css",
)
_BY_DEFAULT = "not course material by default"


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    """A gitignore-style glob as a regex over a relative POSIX path."""
    folder = pattern.endswith("/")
    body = pattern.strip("/")
    anywhere = "/" not in body  # a bare name matches in any folder
    out = []
    i = 0
    while i < len(body):
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("**", i):
            out.append(".*")
            i += 2
        elif body[i] == "*":
            out.append("[^/]*")
            i += 1
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(body[i]))
            i += 1
    core = "".join(out)
    prefix = "(?:.*/)?" if anywhere else ""
    suffix = "/.*" if folder else "(?:/.*)?"  # a folder's name also covers what it holds
    return re.compile(prefix + core + suffix, re.IGNORECASE if anywhere else 0)


def matches(pattern: str, path: str) -> bool:
    """Whether ``pattern`` covers ``path`` (relative, POSIX)."""
    return _regex(pattern).fullmatch(path) is not None


@dataclass(frozen=True)
class Selection:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    defaults: bool = True  # DEFAULT_EXCLUDE applies (course.yaml: ``default_exclude: false``)

    def left_out(self, path: str) -> str | None:
        """Why ``path`` is not course material, or None if it is."""
        parts = PurePosixPath(path).parts
        if any(part.startswith((".", "_")) for part in parts):
            return "hidden (a name starting with . or _)"
        for pattern in self.exclude:
            if matches(pattern, path):
                return f"excluded by {pattern!r}"
        if self.include and not any(matches(pattern, path) for pattern in self.include):
            return "not matched by the include patterns"
        if self.defaults:
            for pattern in DEFAULT_EXCLUDE:
                if matches(pattern, path):
                    return f"{_BY_DEFAULT} ({pattern!r})"
        return None

    def merged(self, include: tuple[str, ...] = (), exclude: tuple[str, ...] = ()) -> Selection:
        """This selection with more patterns (the command line's, after course.yaml's)."""
        return Selection(include=self.include + tuple(include),
                         exclude=self.exclude + tuple(exclude), defaults=self.defaults)


# -- the report's grouping ---------------------------------------------------------------

KINDS = {
    "images": (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".bmp", ".ico", ".tif",
               ".tiff", ".eps"),
    "scripts and code": (".sh", ".bash", ".js", ".ts", ".r", ".jl", ".c", ".h", ".cpp",
                         ".cc", ".java", ".m", ".rb", ".go", ".rs", ".lua", ".pl", ".bat",
                         ".ps1", ".tex", ".sty", ".cls", ".bib"),
    "styles and templates": (".css", ".scss", ".sass", ".less", ".liquid", ".j2", ".jinja"),
    "data and configuration": (".csv", ".tsv", ".json", ".jsonl", ".xml", ".yml", ".yaml",
                               ".toml", ".ini", ".cfg", ".conf", ".lock", ".npy", ".npz",
                               ".pkl", ".h5", ".pt", ".pth", ".onnx", ".parquet"),
    "archives": (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".whl"),
    "media": (".mp4", ".mov", ".avi", ".webm", ".mkv", ".mp3", ".wav", ".ogg", ".flac"),
    "fonts": (".ttf", ".otf", ".woff", ".woff2", ".eot"),
    "office documents": (".doc", ".docx", ".xls", ".xlsx", ".ppt", ".odt", ".odp", ".key"),
}
_KIND_OF = {suffix: kind for kind, suffixes in KINDS.items() for suffix in suffixes}
# a loader's reason → what the group is called (first match wins)
_FAILURES = (
    ("no text", "without text"), ("no extractable text", "without text"),
    ("no language", "all payload (base64, hex)"),
    ("encrypted", "encrypted"), ("empty", "empty"),
    ("limit", "over a size limit"), ("too large", "over a size limit"),
    ("zip bomb", "over a size limit"), ("timed out", "too slow to parse"),
    ("took longer", "too slow to parse"), ("memory", "over the memory limit"),
)


def suffix_of(path: str) -> str:
    """``.png``; ``no suffix`` for a name without one (Makefile)."""
    return PurePosixPath(path).suffix.lower() or "no suffix"


@dataclass
class Group:
    """Files left out for one reason: how many, of which suffixes, a few names."""

    label: str
    files: list[str] = field(default_factory=list)
    by_suffix: bool = True  # name the suffixes (a kind of file), or not (a failure's group)

    @property
    def suffixes(self) -> list[str]:
        return [s for s, _ in Counter(suffix_of(f) for f in self.files).most_common()]

    def line(self, names: int = 0) -> str:
        text = f"{len(self.files)} {self.label if len(self.files) != 1 else singular(self.label)}"
        if self.by_suffix:
            text += f" ({', '.join(self.suffixes)})"
        if names:
            shown = ", ".join(self.files[:names])
            text += f": {shown}" + (", …" if len(self.files) > names else "")
        return text


_SINGULAR = {"images": "image", "scripts and code": "script or code file",
             "styles and templates": "style or template", "archives": "archive",
             "data and configuration": "data or configuration file", "media": "media file",
             "fonts": "font", "office documents": "office document",
             "files of other types": "file of another type"}


def singular(label: str) -> str:
    """A group's label for one file: "image", "PDF file without text"."""
    if label in _SINGULAR:
        return _SINGULAR[label]
    return label.replace(" files ", " file ", 1) if " files " in label else label


def files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def group_skipped(skipped: dict[str, str]) -> list[Group]:
    """``{source: reason}`` grouped: unsupported files by kind (images, scripts, …), files a
    loader could not read by what went wrong ("PDFs without text"); largest group first."""
    groups: dict[str, Group] = defaultdict(lambda: Group(""))
    for source, reason in skipped.items():
        if reason.startswith("unsupported file type"):
            label = _KIND_OF.get(suffix_of(source), "files of other types")
        else:
            what = next((name for key, name in _FAILURES if key in reason.lower()),
                        "unreadable")
            suffix = PurePosixPath(source).suffix.lstrip(".").upper()
            label = f"{suffix} files {what}" if suffix else f"files {what}"
        group = groups[label]
        group.label, group.by_suffix = label, reason.startswith("unsupported file type")
        group.files.append(source)
    return sorted(groups.values(), key=lambda g: (-len(g.files), g.label))


def group_left_out(left_out: dict[str, str]) -> list[Group]:
    """Files the patterns left out, grouped by the instructor's pattern that did it, or
    together as "not course material by default"."""
    groups: dict[str, Group] = {}
    for source, reason in left_out.items():
        label = reason.split(" (")[0] if reason.startswith(_BY_DEFAULT) else reason
        groups.setdefault(label, Group(label, by_suffix=False)).files.append(source)
    return sorted(groups.values(), key=lambda g: (-len(g.files), g.label))

