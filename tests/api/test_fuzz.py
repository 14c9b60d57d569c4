"""Schemathesis (an implementation nobody here wrote) fuzzes every operation of
/openapi.json against a real ``studyhall serve`` process, without credentials and with
the admin token, per operation and statefully: no response is a 5xx, none breaks its
declared status, content type or schema, and the server is healthy, and the course
intact, afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.api.test_serve_http import free_port, wait_until_healthy
from tests.conftest import LESSONS

pytestmark = pytest.mark.slow

ADMIN_TOKEN = "admin-token-for-the-fuzzer-0123"
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance,response_headers_conformance")
FUZZ_SECONDS = 75  # per run; schemathesis stops by itself
# One worker: with two, CPython 3.11's ast.parse, which hypothesis calls while it describes
# a strategy, can fail in one thread while another recurses ("AST constructor recursion
# depth mismatch"), a crash of the fuzzer's own, not a finding.


@pytest.fixture(scope="module")
def server(tmp_path_factory, models_dir):
    root = tmp_path_factory.mktemp("fuzz")
    course = root / "course"
    course.mkdir()
    (course / "course.yaml").write_text("id: tiny\ntitle: Tiny Course\n")
    for name, text in LESSONS.items():
        (course / name).write_text(text)
    env = os.environ | {
        "STUDYHALL_DATA_DIR": str(root / "data"), "STUDYHALL_MODELS_DIR": str(models_dir),
        "STUDYHALL_GENERATOR__MODEL": "tiny", "STUDYHALL_GENERATOR__MAX_TOKENS": "16",
        "STUDYHALL_SERVER__ADMIN_TOKEN": ADMIN_TOKEN,
        # the fuzzer is one client asking thousands of times: limits would make the same
        # request answer 200 then 429, which it reads as flaky; tests/api/access test them
        "STUDYHALL_ACCESS__ANSWERS_RATE": "1000000/minute",
        "STUDYHALL_ACCESS__SEARCH_RATE": "1000000/minute",
        "STUDYHALL_ACCESS__DEMOS_RATE": "1000000/minute",
        "STUDYHALL_DEMOS__TIMEOUT_S": "20"}
    cli = [sys.executable, "-m", "studyhall.cli"]
    subprocess.run([*cli, "ingest", str(course), "--course", "tiny"], env=env, check=True,
                   capture_output=True)
    subprocess.run([*cli, "course", "visibility", "tiny", "public"], env=env, check=True,
                   capture_output=True)
    port = free_port()
    log = root / "serve.log"  # a file: a pipe nobody reads fills, and blocks the server
    with open(log, "w") as out:
        process = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, stdout=out,
                                   stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    wait_until_healthy(process, base, log)
    yield base, root
    process.terminate()
    process.wait(timeout=30)
    output = log.read_text()
    assert "Traceback" not in output, output[-4000:]


@pytest.mark.parametrize("credentials", [[], ["-H", f"Authorization: Bearer {ADMIN_TOKEN}"]],
                         ids=["anonymous", "admin"])
def test_the_fuzzer_finds_no_server_error_and_no_broken_schema(server, credentials, tmp_path):
    base, _ = server
    before = httpx.post(f"{base}/v1/search", json={"query": "mode collapse", "course": "tiny"},
                        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()
    schemathesis = Path(sys.executable).with_name("schemathesis")
    result = subprocess.run(
        [str(schemathesis), "run", f"{base}/openapi.json", "--checks", CHECKS,
         "--max-time", str(FUZZ_SECONDS), "--workers", "1", "--request-timeout", "60",
         "--seed", "20261201", "--generation-database", "none", *credentials],
        capture_output=True, text=True, cwd=tmp_path, timeout=FUZZ_SECONDS + 240)
    summary = result.stdout[-6000:]
    assert result.returncode == 0, summary
    assert "Tested: 2" in summary  # every operation (26 and more) was exercised

    health = httpx.get(f"{base}/healthz", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert health.status_code == 200 and "tiny" in health.json()["courses"]
    after = httpx.post(f"{base}/v1/search", json={"query": "mode collapse", "course": "tiny"},
                       headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()
    assert [h["chunk_id"] for h in after["hits"]] == [h["chunk_id"] for h in before["hits"]]
