"""`make bench` (cluster): one replica against two behind HAProxy, the same model server,
in one run (deploy/cluster.py starts it all on loopback).

For each topology, for ``--seconds`` each: ``--chat`` clients ask one question after
another (answers per minute), while 10 search clients ask about once a second each
(search p50/p99). First straight to replica 1 alone, then through the balancer to both.
The model server is one llama-cpp-python process either way, so answers per minute show
what a second replica adds when generation is the bottleneck (little), and search shows
what it adds to everything else. Writes bench/results/cluster.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from bench import COURSE, results_file
from deploy.cluster import Cluster, stop_on_sigterm
from eval.datasets import default_dataset, load_questions
from eval.metrics import percentile

SEARCH_CLIENTS = 10
UNLIMITED = {"STUDYHALL_ACCESS__ANSWERS_RATE": "100000/minute",  # every client is one
             "STUDYHALL_ACCESS__SEARCH_RATE": "100000/minute",   # address behind the
             "STUDYHALL_ANSWER__CACHE": "0"}                     # balancer; no cache hits


def load(base: str, questions: list[str], chat: int, seconds: float) -> dict:
    """``chat`` answering clients and SEARCH_CLIENTS search clients against ``base``."""
    stop_at = time.monotonic() + seconds
    lock = threading.Lock()
    answers: list[float] = []
    searches: list[float] = []
    statuses: Counter = Counter()

    def asker(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=base, timeout=600) as http:
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                try:
                    response = http.post("/v1/ask", json={"question": rng.choice(questions),
                                                          "course": "genai-basics"})
                except httpx.HTTPError as exc:
                    with lock:
                        statuses[f"ask {type(exc).__name__}"] += 1
                    continue
                with lock:
                    statuses[f"ask {response.status_code}"] += 1
                    if response.status_code == 200 and time.monotonic() <= stop_at:
                        answers.append(time.perf_counter() - started)

    def searcher(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=base, timeout=60) as http:
            time.sleep(rng.random())
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                query = f"{rng.choice(questions)} ({rng.random():.6f})"  # no embedding cache
                try:
                    response = http.post("/v1/search", json={"query": query,
                                                             "course": "genai-basics"})
                except httpx.HTTPError as exc:
                    with lock:
                        statuses[f"search {type(exc).__name__}"] += 1
                    continue
                took = time.perf_counter() - started
                with lock:
                    statuses[f"search {response.status_code}"] += 1
                    if response.status_code == 200:
                        searches.append(took * 1000)
                time.sleep(max(0.0, 1.0 - took))

    threads = ([threading.Thread(target=asker, args=(n,)) for n in range(chat)]
               + [threading.Thread(target=searcher, args=(100 + n,))
                  for n in range(SEARCH_CLIENTS)])
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"answers_per_min": len(answers) * 60 / seconds,
            "answer_p50_s": percentile(answers, 0.5), "search_p50_ms": percentile(searches, 0.5),
            "search_p99_ms": percentile(searches, 0.99), "statuses": dict(statuses)}


def main(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--chat", type=int, default=4, help="answering clients at once")
    parser.add_argument("--model", default="default", help="the model server's profile")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    questions = [q.question for q in load_questions(default_dataset("genai-basics"))
                 if q.answerable]
    with tempfile.TemporaryDirectory(prefix="studyhall-cluster-bench-") as tmp:
        data = Path(tmp) / "data"
        subprocess.run([sys.executable, "-m", "studyhall.cli", "ingest", str(COURSE),
                        "--course", "genai-basics"], check=True, capture_output=True,
                       env={**os.environ, "STUDYHALL_DATA_DIR": str(data)})
        with Cluster(data, model=args.model, workers=0, settings=UNLIMITED) as cluster:
            cluster.studyhall("course", "visibility", "genai-basics", "public")
            report = {"model": args.model, "seconds": args.seconds, "chat_clients": args.chat,
                      "one replica": load(cluster.replica_url(0), questions, args.chat,
                                          args.seconds),
                      "two replicas behind HAProxy": load(cluster.url, questions, args.chat,
                                                          args.seconds)}
    results_file("cluster.json").write_text(json.dumps(report, indent=2))
    print(f"| topology ({args.model} model server, {args.chat} chat + {SEARCH_CLIENTS} search "
          f"clients, {args.seconds:.0f} s) | answers/min | answer p50 | search p50 | "
          "search p99 |\n|---|---|---|---|---|")
    for name in ("one replica", "two replicas behind HAProxy"):
        r = report[name]
        print(f"| {name} | {r['answers_per_min']:.1f} | {r['answer_p50_s']:.1f} s | "
              f"{r['search_p50_ms']:.0f} ms | {r['search_p99_ms']:.0f} ms |")
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
