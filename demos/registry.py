"""The demos as tools: a name, a description, a parameter schema and limits for each, and a
runner that validates parameters, runs one demo at a time with a timeout and a cancel
switch, and keeps finished runs (JSON + PNG files) keyed by (tool, parameters).

Start at :func:`registry` for the tools and :class:`DemoRunner` to run them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from demos.base import CancelCheck, Cancelled, DemoResult, Figure, one_thread
from studyhall.core.errors import NotFound, TimedOut, UsageError
from studyhall.core.queue import ModelQueue
from studyhall.core.settings import Settings

log = logging.getLogger(__name__)

DEMO_NAMES = ("perceptron", "mlp", "cnn", "rnn", "lstm", "transformer", "gan", "vae", "ddpm")
_RUN_ID = re.compile(r"^[0-9a-f]{16}$")
_FIGURE = re.compile(r"^[a-z0-9_]{1,64}$")


class UnknownTool(NotFound):
    def __init__(self, name: str, known: list[str]) -> None:
        self.known = known
        super().__init__(f"no demo called {name!r}; the demos are: {', '.join(known)}")

    def extra(self) -> dict[str, object]:
        return {"known_tools": self.known}


class InvalidParameters(UsageError):
    """Parameters outside a tool's schema. ``errors`` holds one ``{field, message}`` each."""

    def __init__(self, tool: str, errors: list[dict[str, str]]) -> None:
        self.tool = tool
        self.errors = errors
        super().__init__(f"{tool}: " + "; ".join(e["message"] for e in errors))

    def fields(self) -> list[tuple[str, str]]:
        return [(e["field"], e["message"]) for e in self.errors]


class DemoTimeout(TimedOut):
    pass


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    lesson: str  # course-relative path of the lesson the demo illustrates
    config_type: type
    run_fn: Callable[..., DemoResult]

    def schema(self) -> dict[str, Any]:
        """The parameters as JSON Schema (from the pydantic dataclass), extra keys refused."""
        schema = TypeAdapter(self.config_type).json_schema()
        schema["additionalProperties"] = False
        schema["title"] = f"{self.name} parameters"
        return schema

    def parse(self, params: dict[str, Any] | None) -> Any:
        """Validate ``params`` into the demo's config, or raise :class:`InvalidParameters`
        whose messages name the field and its allowed range."""
        params = dict(params or {})
        properties = self.schema()["properties"]
        unknown = sorted(set(params) - set(properties))
        if unknown:
            errors = [{"field": k, "message": f"{k} is not a parameter of {self.name} "
                       f"(it takes {', '.join(properties)})"} for k in unknown]
            raise InvalidParameters(self.name, errors)
        try:
            return self.config_type(**params)
        except ValidationError as exc:
            raise InvalidParameters(self.name, [
                _describe(str(err["loc"][0]), err, properties) if err["loc"]
                else {"field": "parameters", "message": err["msg"].removeprefix("Value error, ")}
                for err in exc.errors()
            ]) from None


def _describe(field: str, err: dict[str, Any], properties: dict[str, Any]) -> dict[str, str]:
    spec = properties.get(field, {})
    low = spec.get("minimum", spec.get("exclusiveMinimum"))
    high = spec.get("maximum", spec.get("exclusiveMaximum"))
    got = err.get("input")
    if "enum" in spec:
        allowed = ", ".join(map(str, spec["enum"]))
        message = f"{field} must be one of {allowed}, got {got!r}"
    elif low is not None and high is not None:
        message = f"{field} must be between {low} and {high}, got {got!r}"
    else:
        message = f"{field}: {err['msg']}, got {got!r}"
    return {"field": field, "message": message}


@cache
def registry() -> dict[str, Tool]:
    """Every demo, by name, in the order the course teaches them."""
    tools = {}
    for name in DEMO_NAMES:
        module = importlib.import_module(f"demos.{name}")
        tools[name] = Tool(name=name, description=module.DESCRIPTION, lesson=module.LESSON,
                           config_type=module.Config, run_fn=module.run)
    return tools


def run_id(tool: str, config: Any) -> str:
    """The cache key: the same tool with the same (validated) parameters → the same id."""
    canonical = json.dumps([tool, dataclasses.asdict(config)], sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ToolRun:
    """One finished run: the demo's result plus where it is kept."""

    run_id: str
    tool: str
    params: dict[str, Any]
    seconds: float  # time the training took when it ran (not the cache lookup)
    cached: bool
    result: DemoResult

    def to_dict(self) -> dict[str, Any]:
        """The run as kept on disk (``run.json``): figures by name, their PNGs beside it."""
        r = self.result
        return {
            "run_id": self.run_id, "tool": self.tool, "params": self.params,
            "seconds": round(self.seconds, 3), "cached": self.cached,
            "metrics": r.metrics, "explanation": r.explanation, "lesson": r.lesson,
            "figures": [{"name": f.name, "title": f.title} for f in r.figures],
            "history": r.history,
        }

    def text(self, cited: bool = False) -> str:
        """The explanation, then the final numbers; " [1]" marks the lesson when the chat
        cites it."""
        numbers = ", ".join(f"{k.replace('_', ' ')} {_metric(v)}"
                            for k, v in self.result.metrics.items())
        marker = " [1]" if cited else ""
        return f"{self.result.explanation}{marker}\n\nFinal numbers: {numbers}."


def _metric(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"


class DemoRunner:
    """Runs demos one at a time (they seed torch's global state), with a timeout and a
    bounded wait, and keeps each finished run on disk under ``store/<run_id>/``."""

    def __init__(self, store: Path, *, timeout_s: float = 120.0, max_waiting: int = 2,
                 tools: dict[str, Tool] | None = None, keep_days: float = 7.0,
                 keep_mb: float = 500.0) -> None:
        self._tools = tools
        self.store = Path(store)
        self.timeout_s = timeout_s
        self.queue = ModelQueue(max_waiting)
        self.keep_days = keep_days
        self.keep_bytes = int(keep_mb * (1 << 20))

    @property
    def tools(self) -> dict[str, Tool]:
        """The tools, by name (the demo modules are imported on first use)."""
        return self._tools if self._tools is not None else registry()

    def tool(self, name: str) -> Tool:
        if name not in self.tools:
            raise UnknownTool(name, list(self.tools))
        return self.tools[name]

    def run(self, name: str, params: dict[str, Any] | None = None, *,
            cancel: CancelCheck | None = None) -> ToolRun:
        """Validate, then return the kept run for these parameters or train it now.

        Raises :class:`UnknownTool`, :class:`InvalidParameters`, :class:`DemoTimeout`,
        :class:`~studyhall.core.errors.Cancelled` or :class:`~studyhall.core.errors.Busy`.
        """
        tool = self.tool(name)
        config = tool.parse(params)
        rid = run_id(name, config)
        kept = self.load(rid)
        if kept is not None:
            return kept
        ticket = self.queue.enter()
        try:
            with ticket:
                kept = self.load(rid)  # someone may have run it while we waited
                if kept is not None:
                    return kept
                started = time.perf_counter()
                result = self._run_with_timeout(tool, config, cancel)
                run = ToolRun(run_id=rid, tool=name, params=dataclasses.asdict(config),
                              seconds=time.perf_counter() - started, cached=False,
                              result=result)
                self._save(run)
                return run
        finally:
            ticket.leave()

    def _run_with_timeout(self, tool: Tool, config: Any,
                          cancel: CancelCheck | None) -> DemoResult:
        deadline = time.monotonic() + self.timeout_s
        timed_out = threading.Event()

        def stop() -> bool:
            if time.monotonic() > deadline:
                timed_out.set()
                return True
            return cancel is not None and cancel()

        try:
            with one_thread():
                return tool.run_fn(config, cancel=stop)
        except Cancelled:
            if timed_out.is_set():
                raise DemoTimeout(f"{tool.name} ran past its {self.timeout_s:g} s limit "
                                  "and was stopped; choose fewer steps") from None
            raise

    # -- the kept runs -------------------------------------------------------------

    def _dir(self, rid: str) -> Path:
        if not _RUN_ID.match(rid):
            raise KeyError(rid)
        return self.store / rid

    def load(self, rid: str) -> ToolRun | None:
        try:
            folder = self._dir(rid)
            meta = json.loads((folder / "run.json").read_text())
        except (KeyError, FileNotFoundError, json.JSONDecodeError):
            return None
        figures = [Figure(f["name"], f["title"], (folder / f"{f['name']}.png").read_bytes())
                   for f in meta["figures"]]
        result = DemoResult(demo=meta["tool"], metrics=meta["metrics"], figures=figures,
                            explanation=meta["explanation"], lesson=meta["lesson"],
                            history=meta["history"])
        return ToolRun(run_id=rid, tool=meta["tool"], params=meta["params"],
                       seconds=meta["seconds"], cached=True, result=result)

    def figure_path(self, rid: str, name: str) -> Path | None:
        """The PNG of one figure of a kept run, or None (also for malformed names)."""
        if not _FIGURE.match(name):
            return None
        try:
            path = self._dir(rid) / f"{name}.png"
        except KeyError:
            return None
        return path if path.is_file() else None

    def _save(self, run: ToolRun) -> None:
        """Write into a temporary folder and rename it into place: a reader never sees a
        half-written run."""
        self.store.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=self.store, prefix=".tmp-"))
        try:
            for figure in run.result.figures:
                (tmp / f"{figure.name}.png").write_bytes(figure.png)
            meta = run.to_dict()
            (tmp / "run.json").write_text(json.dumps(meta, indent=1))
            os.replace(tmp, self.store / run.run_id)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            if not (self.store / run.run_id).is_dir():
                raise
        self.evict(keep=run.run_id)

    def evict(self, keep: str | None = None) -> list[str]:
        """Delete kept runs older than ``keep_days``, then the oldest until the rest fit in
        ``keep_mb``; the run ``keep`` stays. The ids deleted."""
        runs = []
        for folder in self.store.iterdir() if self.store.is_dir() else []:
            if _RUN_ID.match(folder.name) and folder.is_dir():
                size = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
                runs.append((folder.stat().st_mtime, size, folder))
        runs.sort()  # oldest first
        cutoff = time.time() - self.keep_days * 86400
        total = sum(size for _, size, _ in runs)
        deleted = []
        for mtime, size, folder in runs:
            if folder.name == keep or (mtime >= cutoff and total <= self.keep_bytes):
                continue
            shutil.rmtree(folder, ignore_errors=True)
            total -= size
            deleted.append(folder.name)
        return deleted


def build_runner(settings: Settings) -> DemoRunner:
    """The runner a service uses, from :class:`~studyhall.core.settings.Settings`."""
    return DemoRunner(settings.demo_runs, timeout_s=settings.demos.timeout_s,
                      max_waiting=settings.demos.max_waiting, keep_days=settings.demos.keep_days,
                      keep_mb=settings.demos.keep_mb)
