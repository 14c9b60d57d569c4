"""Schemathesis (an implementation nobody here wrote) fuzzes every operation of
/openapi.json against a real ``studyhall serve`` process, without credentials and with
the admin token, per operation and statefully: no response is a 5xx, none breaks its
declared status, content type or schema, and the server is healthy, and the course
intact, afterwards."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.api.served import ADMIN_TOKEN, served

pytestmark = pytest.mark.slow

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance,response_headers_conformance")
FUZZ_SECONDS = 75  # per run; schemathesis stops by itself
# One worker: with two, CPython 3.11's ast.parse, which hypothesis calls while it describes
# a strategy, can fail in one thread while another recurses ("AST constructor recursion
# depth mismatch"), a crash of the fuzzer's own, not a finding.


@pytest.fixture(scope="module")
def server(tmp_path_factory, models_dir):
    # the fuzzer is one client asking thousands of times: limits would make the same request
    # answer 200 then 429 (or, with twenty uploads waiting to ingest, 503), which it reads as
    # flaky or a server error; tests/api/access and tests/ingest/test_jobs test them
    root = tmp_path_factory.mktemp("fuzz")
    with served(root, models_dir, ACCESS__ANSWERS_RATE="1000000/minute",
                ACCESS__SEARCH_RATE="1000000/minute", ACCESS__DEMOS_RATE="1000000/minute",
                SERVER__MAX_QUEUED_JOBS="100000", DEMOS__TIMEOUT_S="20") as base:
        yield base, root


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
