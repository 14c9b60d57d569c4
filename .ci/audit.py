"""Audit the locked dependency set (requirements.lock) against PyPI's advisory feed.

PyPI attaches the advisories (OSV: PYSEC and GHSA ids) that affect a release to that
release's JSON. pip-audit asks for it per version (/pypi/<name>/<version>/json); the
registry proxy these machines reach serves only the project document, whose advisories
are those of the newest release. So the audit asks per version first, falls back to the
project document when the locked version is the newest, and otherwise cannot audit the
pin: such a pin must be held back on purpose (HELD_BACK, with the reason) or the audit
fails. A package the registry does not know (the model-weight packages on local indexes)
has no public advisories to look up and is listed as such.

    python .ci/audit.py   # exit 1: an advisory, an unexplained stale pin, or a failed lookup
    python .ci/audit.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
INDEX = "https://pypi.org/pypi"

# Pins that are deliberately older than the newest release, and why. The registry cannot
# say which advisories affect them, so each is a decision someone wrote down.
HELD_BACK = {
    "torch": "the CPU build on the machines' disk; the registry's newer builds are CUDA "
             "(multi-GB) and the machine caps torch at 2.14.1",
    "langchain-core": "langchain-classic and langchain-community (the peer baseline) cap it",
    "uuid-utils": "langsmith (through langchain-core) caps it below 1.0",
    "mpmath": "sympy (through torch) requires mpmath<1.4",
    "jsonschema-rs": "schemathesis 4.32 requires jsonschema-rs<0.61",
}

# Advisories read and judged not to reach studyhall, and why. tests/test_dependencies.py
# keeps each reason true (nothing of ours imports what the advisory is about).
ACCEPTED = {
    "CVE-2025-69872": "diskcache unpickles what its cache directory holds; only "
                           "llama-cpp-python's LlamaDiskCache uses it, and studyhall never "
                           "creates one (no fixed release exists)",
}
PYTHON = (3, 11)  # pyproject's requires-python: a release for 3.12+ only is out of reach


@dataclass
class Pin:
    name: str
    version: str
    status: str = "unchecked"  # clean | accepted | vulnerable | held-back | stale | local | error
    newest: str | None = None
    advisories: list[dict] = field(default_factory=list)
    note: str = ""


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path = LOCK) -> list[Pin]:
    pins = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if not match:
            raise SystemExit(f"requirements.lock: not an exact pin: {line!r}")
        pins.append(Pin(name=normalise(match[1]), version=match[2]))
    return pins


def fetch(url: str, attempts: int = 3) -> dict | None:
    """The JSON at url, None on 404; raises after `attempts` failures of any other kind."""
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            if attempt == attempts - 1:
                raise
        except (urllib.error.URLError, TimeoutError):
            if attempt == attempts - 1:
                raise
    return None


def live(advisories: list[dict]) -> list[dict]:
    return [{"id": a["id"], "aliases": a.get("aliases", []), "fixed_in": a.get("fixed_in", [])}
            for a in advisories if not a.get("withdrawn")]


def accepted(advisory: dict) -> str | None:
    """Why an advisory (known by any of its ids) was accepted, or None."""
    for key in (advisory["id"], *advisory["aliases"]):
        if key in ACCEPTED:
            return ACCEPTED[key]
    return None


def admits(requires_python: str | None) -> bool:
    """Whether a release's requires-python admits PYTHON (the common >=, !=, < forms)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return not requires_python or SpecifierSet(requires_python).contains(
            ".".join(map(str, PYTHON)))
    except InvalidSpecifier:
        return True


def newest_for_python(project: dict) -> str | None:
    """The newest non-yanked release with a file for PYTHON."""
    from packaging.version import InvalidVersion, Version

    candidates = []
    for version, files in project.get("releases", {}).items():
        usable = [f for f in files if not f.get("yanked") and admits(f.get("requires_python"))]
        try:
            parsed = Version(version)
        except InvalidVersion:
            continue
        if usable and not parsed.is_prerelease:
            candidates.append(parsed)
    return str(max(candidates)) if candidates else None


def audit(pin: Pin) -> Pin:
    public = pin.version.split("+", 1)[0]  # torch's local "+cpu" build tag
    try:
        release = fetch(f"{INDEX}/{pin.name}/{public}/json")
        project = release or fetch(f"{INDEX}/{pin.name}/json")
    except Exception as error:  # noqa: BLE001 - reported per pin, the run fails
        pin.status, pin.note = "error", f"{type(error).__name__}: {error}"
        return pin
    if project is None:
        pin.status, pin.note = "local", "not on the public registry: no public advisories"
        return pin
    pin.newest = project["info"]["version"]
    if release is not None or pin.newest == public:
        pin.advisories = live(project.get("vulnerabilities", []))
        judged = {a["id"]: accepted(a) for a in pin.advisories}
        open_ = [i for i, reason in judged.items() if reason is None]
        pin.status = "vulnerable" if open_ else "accepted" if pin.advisories else "clean"
        pin.note = "; ".join(sorted({r for r in judged.values() if r}))
    elif pin.name in HELD_BACK:
        pin.status, pin.note = "held-back", HELD_BACK[pin.name]
    elif newest_for_python(project) == public:
        pin.status = "held-back"
        pin.note = (f"the newest release for Python {'.'.join(map(str, PYTHON))}; newer ones "
                    f"need {project['info']['requires_python']}")
    else:
        pin.status = "stale"
        pin.note = ("older than the newest release, and this registry only tells the "
                    "newest's advisories")
    return pin


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write every pin's result here")
    parser.add_argument("--lock", type=Path, default=LOCK)
    args = parser.parse_args(argv)

    with ThreadPoolExecutor(max_workers=16) as pool:
        pins = list(pool.map(audit, read_lock(args.lock)))
    counts: dict[str, int] = {}
    for pin in pins:
        counts[pin.status] = counts.get(pin.status, 0) + 1
    for pin in pins:
        if pin.status in ("vulnerable", "accepted", "stale", "error", "held-back"):
            ids = ", ".join(f"{a['id']} (fixed in {', '.join(a['fixed_in']) or 'no release'})"
                            for a in pin.advisories)
            newest = f" (newest {pin.newest})" if pin.newest and pin.newest != pin.version else ""
            print(f"{pin.status:>10}  {pin.name}=={pin.version}{newest}  {ids}"
                  + (f"  [{pin.note}]" if pin.note else ""))
    print("audited", len(pins), "locked packages against", INDEX + ":",
          ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    if args.json:
        args.json.write_text(json.dumps([asdict(p) for p in pins], indent=1) + "\n")
    failed = [p for p in pins if p.status in ("vulnerable", "stale", "error")]
    if failed:
        print(f"audit failed: {len(failed)} pin(s) vulnerable, unexplained or not looked up",
              file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
