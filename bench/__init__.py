"""``make bench`` and the probes behind the measured results (``docs/measurements.md``).

Run each as a module from the repository root, e.g. ``.venv/bin/python -m bench.run``:

- :mod:`bench.run`: ingest and search speed against the bare library calls;
- :mod:`bench.scale`: a 3 MB textbook's ingest against a bare encode, a one-chapter
  re-ingest, and search at 15k and 100k chunks, flat against HNSW;
- :mod:`bench.memory`: what a course of 20k, 100k and 200k chunks costs a replica in
  memory and on disk, and per million chunks;
- :mod:`bench.answers`: answering speed against a bare llama-cpp-python call and the
  LangChain tutorial recipe;
- :mod:`bench.kv_reuse`: first token with each source's KV reused, against a whole
  prefill and the bare library call; answers per minute with several clients at once;
- :mod:`bench.demo_timings`: each demo's default run;
- :mod:`bench.injections`: planted instructions in each document format, against the real
  model, on the set the guard was tuned on and on a held-out set;
- :mod:`bench.load`: 50 chat and 10 search clients against a real server, with the model
  at the server's priority and niced;
- :mod:`bench.cluster`: one replica against two behind HAProxy, the same model server
  (answers per minute, search p50/p99), on the topology of `make cluster`;
- :mod:`bench.audit`: a blind grading packet of two answer reports, and its score;
- :mod:`bench.prompt_coverage`, :mod:`bench.glossary_probe`, :mod:`bench.prefix_probe`:
  probes that size a change before a whole answer eval (or before building it);
- :mod:`bench.ingest_probe`: what a folder as published would index (files, chunks, code,
  markup and payloads left), with and without the selection, cleaning and markup reduction.

Results go to ``bench/results/`` (not committed).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from corpus import course_dir

ROOT = Path(__file__).resolve().parents[1]  # the repository
RESULTS = ROOT / "bench" / "results"
COURSE = course_dir("genai-basics")


def results_file(name: str) -> Path:
    """A file in ``bench/results/`` (the folder is made on first use)."""
    RESULTS.mkdir(exist_ok=True)
    return RESULTS / name


def memory_mb(field: str = "VmRSS") -> float:
    """This process's resident set now (``VmRSS``) or at its peak (``VmHWM``), in MB, from
    /proc. (``getrusage``'s peak is no use in a child: Linux carries the parent's across the
    fork and exec.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def in_own_process(module: str, *arguments: str, **env: str) -> dict:
    """Run ``python -m module arguments`` in a fresh process (``env`` added to this one's)
    and read the JSON object it prints last: a measurement no other part of a bench
    process can disturb (its peak memory, say)."""
    run = subprocess.run([sys.executable, "-m", module, *arguments],
                         env={**os.environ, "PYTHONPATH": str(ROOT), **env}, cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])
