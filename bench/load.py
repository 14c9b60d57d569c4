"""`make bench` (load): a real ``studyhall serve`` of the bundled course on loopback, with
50 chat clients and 10 search clients at once, each with its own API key, for a bounded
time; the server is stopped at the end.

- Chat clients ask ``/v1/chat/completions`` (half streaming, half not) one question after
  another and, when told to wait (429 or 503), wait what ``Retry-After`` says (at most 5 s).
- Search clients ask ``/v1/search`` about once a second each.
- The baseline, in the same run: the same search clients with the model idle, before the
  load starts.

Goals (issue 14): only 200, 429, or 503 with Retry-After, no 5xx else; no stream cut
without its ``[DONE]``; search p99 under 100 ms while the model is saturated; RSS bounded
(peak under load against the RSS after warm-up); healthy afterwards.

Runs twice, the previous path first (the model thread at the server's own priority,
``generator.nice=0``) and then the default, so the search latency has its baseline in the
same run. Writes bench/results/load.json and prints a Markdown table. ``--seconds N`` sets
the length of the load (default 60).
"""

from __future__ import annotations

import argparse
import asyncio
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
from eval.datasets import default_dataset, load_questions
from eval.metrics import percentile

CHAT_CLIENTS, SEARCH_CLIENTS = 50, 10
CLI = [sys.executable, "-m", "studyhall.cli"]
COURSE_ID = "genai-basics"
MAX_WAIT_S = 5.0  # a client honours Retry-After up to this


def prepare(root: Path) -> tuple[dict, list[str]]:
    """Ingest the bundled course into a fresh data dir; make one API key per client."""
    from api.access.store import AccessStore
    from studyhall.core.settings import Settings

    # the model's queue under load, not the answer cache (the clients repeat questions)
    env = os.environ | {"STUDYHALL_DATA_DIR": str(root / "data"), "STUDYHALL_ANSWER__CACHE": "0"}
    subprocess.run([*CLI, "ingest", str(COURSE), "--course", COURSE_ID], env=env, check=True,
                   capture_output=True)
    access = AccessStore(Settings(data_dir=root / "data").database)
    tokens = [access.create_key(name=f"load-{n}", courses=[COURSE_ID], scope="read",
                                created_by="bench").token
              for n in range(CHAT_CLIENTS + SEARCH_CLIENTS)]
    return env, tokens


def start_server(root: Path, env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(root / "serve.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen([*CLI, "serve", "--port", str(port)], env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError((root / "serve.log").read_text()[-3000:])
        time.sleep(0.5)
    process.kill()
    raise RuntimeError("the server did not become healthy in 300 s")


def free_port() -> int:
    """A free loopback port (closed again before the server binds it)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Sampler(threading.Thread):
    """The server's RSS every half second until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.samples, self.stop = pid, [], threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            self.samples.append(rss_mb(self.pid))


def search_clients(base: str, tokens: list[str], queries: list[str], seconds: float) -> dict:
    """SEARCH_CLIENTS threads asking about once a second each; latencies and statuses."""
    latencies: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(token: str, seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                          timeout=30) as http:
            time.sleep(rng.random())  # spread the clients over the second
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                # a query of its own each time: the query-embedding cache must not answer
                query = f"{rng.choice(queries)} ({os.urandom(4).hex()})"
                response = http.post("/v1/search", json={"query": query, "course": COURSE_ID})
                took = time.perf_counter() - started
                with lock:
                    statuses[response.status_code] += 1
                    if response.status_code == 200:
                        latencies.append(took * 1000)
                time.sleep(max(0.0, 1.0 - took))

    threads = [threading.Thread(target=client, args=(token, n)) for n, token in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"requests": sum(statuses.values()), "statuses": dict(statuses),
            "p50_ms": percentile(latencies, 0.50), "p99_ms": percentile(latencies, 0.99)}


async def chat_client(http: httpx.AsyncClient, token: str, questions: list[str], stream: bool,
                      stop_at: float, tally: dict, seed: int) -> None:
    """Ask one question after another until ``stop_at``; count every outcome."""
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}"}
    await asyncio.sleep(rng.random() * 2)
    while time.monotonic() < stop_at:
        body = {"model": f"studyhall/{COURSE_ID}", "stream": stream,
                "messages": [{"role": "user", "content": rng.choice(questions)}]}
        wait = 0.0
        async with http.stream("POST", "/v1/chat/completions", json=body,
                               headers=headers) as response:
            status = response.status_code
            tally["statuses"][status] += 1
            if status in (429, 503):
                retry_after = response.headers.get("retry-after")
                if retry_after is None:
                    tally["busy_without_retry_after"] += 1
                wait = min(MAX_WAIT_S, float(retry_after or 1))
            elif status == 200 and stream:
                lines = [line async for line in response.aiter_lines() if line]
                if lines[-1:] != ["data: [DONE]"]:
                    tally["streams_cut"] += 1
                elif any('"error"' in line for line in lines):
                    tally["stream_errors"] += 1
                else:
                    tally["answered"] += 1
            elif status == 200:
                await response.aread()
                tally["answered"] += 1
            else:  # a status the goal does not allow: counted, a few kept, and a pause
                tally["other"] += 1
                if len(tally["examples"]) < 5:
                    tally["examples"].append([status, (await response.aread())[:300].decode()])
                wait = 1.0
        await asyncio.sleep(wait * (0.5 + rng.random() / 2))


async def chat_load(base: str, tokens: list[str], questions: list[str], seconds: float) -> dict:
    tally = {"statuses": Counter(), "busy_without_retry_after": 0, "streams_cut": 0,
             "stream_errors": 0, "answered": 0, "other": 0, "examples": []}
    stop_at = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=CHAT_CLIENTS + 10)
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(180), limits=limits) as http:
        clients = [chat_client(http, token, questions, n % 2 == 0, stop_at, tally, n)
                   for n, token in enumerate(tokens)]
        try:
            await asyncio.wait_for(asyncio.gather(*clients), timeout=seconds + 200)
        except TimeoutError:
            tally["still_waiting_at_the_end"] = True
    tally["statuses"] = dict(tally["statuses"])
    return tally


def measure(root: Path, env: dict, tokens: list[str], questions: list[str],
            seconds: float) -> dict:
    """One server, warmed up; search alone; then the whole load; then health."""
    process, base = start_server(root, env)
    chat_tokens, search_tokens = tokens[:CHAT_CLIENTS], tokens[CHAT_CLIENTS:]
    try:
        # warm up: one answer, so the model is loaded and the RSS is the serving RSS
        httpx.post(f"{base}/v1/chat/completions", timeout=300,
                   headers={"Authorization": f"Bearer {chat_tokens[0]}"},
                   json={"model": f"studyhall/{COURSE_ID}", "messages": [
                       {"role": "user", "content": questions[0]}]})
        warm_rss = rss_mb(process.pid)
        idle = search_clients(base, search_tokens, questions, min(20.0, seconds))
        sampler = Sampler(process.pid)
        sampler.start()
        searching: dict = {}
        searcher = threading.Thread(target=lambda: searching.update(
            search_clients(base, search_tokens, questions, seconds)))
        searcher.start()
        chat = asyncio.run(chat_load(base, chat_tokens, questions, seconds))
        searcher.join()
        sampler.stop.set()
        health = httpx.get(f"{base}/healthz", timeout=30)
        after = search_clients(base, search_tokens, questions, 5.0)
    finally:
        process.terminate()
        process.wait(timeout=60)
    log = (root / "serve.log").read_text()
    return {
        "chat": chat, "search_idle": idle, "search_under_load": searching,
        "search_after": after,
        "search_p99_ratio": (searching["p99_ms"] or 0) / (idle["p99_ms"] or 1),
        "rss_after_warm_up_mb": round(warm_rss), "rss_peak_mb": round(max(sampler.samples)),
        "rss_end_mb": round(sampler.samples[-1]),
        "healthy_after": health.status_code == 200 and after["statuses"].keys() == {200},
        "tracebacks_in_log": log.count("Traceback"),
    }


def main(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    questions = [q.question for q in load_questions(default_dataset(COURSE_ID))]
    root = Path(tempfile.mkdtemp(prefix="studyhall-load-"))
    env, tokens = prepare(root)
    report = {"seconds": args.seconds, "chat_clients": CHAT_CLIENTS,
              "search_clients": SEARCH_CLIENTS, "runs": {}}
    # the previous path first (the model at the server's own priority), then the default
    for name, nice in (("model at the same priority", "0"), ("default (model niced)", None)):
        run_env = env | ({"STUDYHALL_GENERATOR__NICE": nice} if nice is not None else {})
        report["runs"][name] = measure(root, run_env, tokens, questions, args.seconds)
    results_file("load.json").write_text(json.dumps(report, indent=1) + "\n")
    print_table(report)
    return report


def print_table(report: dict) -> None:
    runs = report["runs"]
    print(f"\nload: {report['chat_clients']} chat + {report['search_clients']} search clients, "
          f"{report['seconds']:.0f} s, loopback\n")
    print("| measure | " + " | ".join(runs) + " |\n|---|" + "---:|" * len(runs))

    def row(label, cell):
        print(f"| {label} | " + " | ".join(cell(r) for r in runs.values()) + " |")

    row("chat statuses", lambda r: str(r["chat"]["statuses"]))
    row("answered / streams cut / in-band errors", lambda r: (
        f"{r['chat']['answered']} / {r['chat']['streams_cut']} / {r['chat']['stream_errors']}"))
    row("429/503 without Retry-After", lambda r: str(r["chat"]["busy_without_retry_after"]))
    row("other statuses", lambda r: str(r["chat"]["other"]))
    row("search statuses under load", lambda r: str(r["search_under_load"]["statuses"]))
    row("search p50 / p99, model idle", lambda r: (
        f"{r['search_idle']['p50_ms']:.0f} / {r['search_idle']['p99_ms']:.0f} ms"))
    row("search p50 / p99, model saturated", lambda r: (
        f"{r['search_under_load']['p50_ms']:.0f} / {r['search_under_load']['p99_ms']:.0f} ms "
        f"(×{r['search_p99_ratio']:.2f})"))
    row("RSS after warm-up / peak / end", lambda r: (
        f"{r['rss_after_warm_up_mb']} / {r['rss_peak_mb']} / {r['rss_end_mb']} MB"))
    row("healthy after / tracebacks in log", lambda r: (
        f"{r['healthy_after']} / {r['tracebacks_in_log']}"))


if __name__ == "__main__":
    main(sys.argv[1:])
