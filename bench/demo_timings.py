"""Demo timings: each demo's default configuration, trained from scratch through the
runner (as `studyhall demo NAME` and the API do), seconds per run. The issue's goal is
≤ 20 s each on 2 cores.

    .venv/bin/python bench/demo_timings.py     # writes bench/results/demos.json
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from bench import results_file
from demos.registry import DemoRunner, registry


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as store:
        runner = DemoRunner(Path(store), timeout_s=600)
        for name in registry():
            started = time.perf_counter()
            run = runner.run(name, {})
            rows.append({"demo": name, "seconds": round(time.perf_counter() - started, 2),
                         "train_seconds": round(run.seconds, 2),
                         "metrics": {k: round(v, 4) for k, v in run.result.metrics.items()}})
            print(f"{name:12s} {rows[-1]['seconds']:6.2f} s  {rows[-1]['metrics']}",
                  file=sys.stderr)
    report = {"demos": rows, "max_seconds": max(r["seconds"] for r in rows)}
    results_file("demos.json").write_text(json.dumps(report, indent=1))
    print("| demo | seconds (default config) |\n|---|---|")
    for row in rows:
        print(f"| {row['demo']} | {row['seconds']:.1f} |")


if __name__ == "__main__":
    main()
