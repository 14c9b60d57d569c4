"""The multi-machine topology as it is used, over real HTTP: two replicas behind HAProxy,
PostgreSQL, Redis, a worker and a model server (llama-cpp-python's, the tiny model), all
started here by :class:`deploy.cluster.Cluster`; and the same questions asked of the
single-process default (one `studyhall serve`, SQLite, jobs in its own thread)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
import sqlalchemy as sa

from deploy.cluster import Cluster, _stop
from deploy.local import free_port, wait_http
from ingest.catalog import Catalog
from ingest.pipeline import Ingestor
from studyhall.core.settings import IngestSettings
from tests.api.lti.conftest import CLIENT_ID, DEPLOYMENT, ISSUER, FakePlatform, new_key
from tests.conftest import ROOT, serving, write_small_course

pytestmark = pytest.mark.slow

ADMIN = "cluster-admin-token-local"
LESSON = b"# Diffusion\n\nA diffusion model learns to undo noise added step by step.\n"


@dataclass
class Topology:
    name: str
    balancer: str  # where students go
    a: str  # one replica
    b: str  # another (the same server in the single-process default)
    database: str  # what the rows are in
    studyhall: object  # runs a studyhall command against the topology's state
    cluster: Cluster | None = None


def shared_data(root: Path, real_embedder) -> Path:
    data = root / "data"
    course = write_small_course(root / "tiny-course", "tiny", "Tiny course")
    Ingestor(Catalog(data / "courses"), real_embedder, IngestSettings()).ingest(course, "tiny")
    return data


@pytest.fixture(scope="module", params=["cluster", "single"])
def topology(request, tmp_path_factory, real_embedder, models_dir):
    root = tmp_path_factory.mktemp(request.param)
    data = shared_data(root, real_embedder)
    if request.param == "cluster":
        with Cluster(data, model="tiny", models_dir=models_dir, admin_token=ADMIN) as cluster:
            cluster.studyhall("course", "visibility", "tiny", "public")
            yield Topology("cluster", cluster.url, cluster.replica_url(0),
                           cluster.replica_url(1), cluster.database_url, cluster.studyhall,
                           cluster)
        return
    # the default: one process, a SQLite file, its own job thread, the model in-process
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STUDYHALL_DATA_DIR": str(data),
           "STUDYHALL_MODELS_DIR": str(models_dir), "STUDYHALL_GENERATOR__MODEL": "tiny",
           "STUDYHALL_SERVER__ADMIN_TOKEN": ADMIN}

    def studyhall(*arguments: str) -> str:
        return subprocess.run([sys.executable, "-m", "studyhall.cli", *arguments], env=env,
                              cwd=ROOT, check=True, capture_output=True, text=True).stdout

    studyhall("course", "visibility", "tiny", "public")
    server = subprocess.Popen([sys.executable, "-m", "studyhall.cli", "serve", "--port",
                               str(port)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/healthz", 180, server)
        yield Topology("single", url, url, url, f"sqlite:///{data / 'studyhall.sqlite'}",
                       studyhall)
    finally:
        _stop(server)


def rows(topology: Topology, session: str) -> list[tuple[str, str]]:
    from studyhall.core.database import normalize_url

    engine = sa.create_engine(normalize_url(topology.database))
    try:
        with engine.connect() as db:
            return [tuple(r) for r in db.execute(sa.text(
                "SELECT role, content FROM messages WHERE session_id = :s ORDER BY id"),
                {"s": session})]
    finally:
        engine.dispose()


def ask(base: str, question: str, session: str | None = None) -> dict:
    response = httpx.post(f"{base}/v1/ask", json={"question": question, "course": "tiny",
                                                  "session_id": session}, timeout=300)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_conversation_started_on_one_replica_continues_on_the_other(topology):
    first = ask(topology.a, "What does the discriminator do?")
    second = ask(topology.b, "And the generator?", first["session_id"])
    assert second["session_id"] == first["session_id"]
    asked = [content for role, content in rows(topology, first["session_id"]) if role == "user"]
    assert asked == ["What does the discriminator do?", "And the generator?"]
    health = httpx.get(f"{topology.a}/healthz", headers={"Authorization": f"Bearer {ADMIN}"})
    servers = health.json()["model_servers"]
    if topology.cluster is None:
        assert servers is None  # the model is in the process
    else:  # replica A sent the first question to the one model server, which is up
        [server] = servers
        assert server["up"] and server["served"] >= 1 and server["in_flight"] == 0


def test_an_upload_is_ingested_and_served_by_every_replica(topology):
    admin = {"Authorization": f"Bearer {ADMIN}"}
    response = httpx.post(f"{topology.balancer}/v1/courses/tiny/files", headers=admin,
                          files={"files": ("diffusion.md", LESSON, "text/markdown")})
    assert response.status_code == 202, response.text
    job = response.json()
    deadline = time.monotonic() + 300
    while job["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
        job = httpx.get(f"{topology.b}/v1/ingest-jobs/{job['id']}", headers=admin).json()
    assert job["status"] == "done", job
    for base in (topology.a, topology.b):
        found = httpx.post(f"{base}/v1/search", json={"query": "how does diffusion undo noise",
                                                      "course": "tiny", "k": 3}).json()
        assert "diffusion.md" in json.dumps(found)


@pytest.fixture(scope="module")
def lms():
    """An LMS nobody's replica is: its keys, its JWKS over real HTTP on loopback."""
    from fastapi import FastAPI

    app, holder = FastAPI(), {}
    app.get("/jwks")(lambda: holder["platform"].jwks())
    with serving(app) as base:
        holder["platform"] = FakePlatform(base, new_key())
        yield holder["platform"]


def test_an_lti_login_on_one_replica_is_launched_on_the_other_and_replayed_on_neither(
        topology, lms):
    topology.studyhall("lti", "add-platform", "--issuer", ISSUER, "--client-id", CLIENT_ID,
                       "--deployment-id", DEPLOYMENT, "--auth-login-url", lms.auth_login_url,
                       "--jwks-url", lms.jwks_url, "--default-course", "tiny")
    login = httpx.get(f"{topology.a}/lti/login", params={
        "iss": ISSUER, "login_hint": "user-7", "client_id": CLIENT_ID,
        "lti_deployment_id": DEPLOYMENT,
        "target_link_uri": f"{topology.balancer}/lti/launch"})
    assert login.status_code == 302, login.text
    auth = dict(httpx.URL(login.headers["location"]).params)
    launch = {"id_token": lms.id_token(auth["nonce"]), "state": auth["state"]}
    launched = httpx.post(f"{topology.b}/lti/launch", data=launch)
    assert launched.status_code == 200, launched.text
    assert 'name="studyhall-lti"' in launched.text  # a session for the tab
    for replica in (topology.a, topology.b):  # the same launch again, on either
        replayed = httpx.post(f"{replica}/lti/launch", data=launch)
        assert replayed.status_code == 401 and "already used" in replayed.text


def serving_replica(cluster: Cluster) -> int | None:
    """The replica holding a client connection open now (the streamed answer's)."""
    for n, process in enumerate(cluster.replicas):
        if process is None:
            continue
        port = cluster.replica_ports[n]
        connections = psutil.Process(process.pid).net_connections(kind="tcp")
        if any(c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port
               for c in connections):
            return n
    return None


@pytest.mark.parametrize("topology", ["cluster"], indirect=True)  # one process has no other
def test_a_replica_killed_mid_answer_leaves_the_other_serving_and_no_row_twice(topology):
    cluster = topology.cluster
    assert cluster is not None
    session = ask(topology.balancer, "What is a GAN?")["session_id"]
    events: list[str] = []

    def stream() -> None:
        try:
            with httpx.stream("POST", f"{topology.balancer}/v1/ask", timeout=300,
                              json={"question": "Explain the generator in detail.",
                                    "course": "tiny", "session_id": session,
                                    "stream": True}) as response:
                for line in response.iter_lines():
                    events.append(line)
        except httpx.HTTPError as exc:
            events.append(f"broken: {type(exc).__name__}")

    reader = threading.Thread(target=stream)
    reader.start()
    deadline = time.monotonic() + 60
    victim = None
    while victim is None and time.monotonic() < deadline and reader.is_alive():
        victim = serving_replica(cluster)
        time.sleep(0.02)
    if victim is None:
        pytest.fail("the streamed answer ended before a replica could be caught serving it")
    cluster.kill_replica(victim)
    reader.join(timeout=120)
    # the balancer's next request goes to the other replica, and the session goes on
    after = ask(topology.balancer, "And the discriminator?", session)
    assert after["session_id"] == session
    asked = [content for role, content in rows(topology, session) if role == "user"]
    assert asked.count("What is a GAN?") == 1 and asked.count("And the discriminator?") == 1
    assert asked.count("Explain the generator in detail.") <= 1  # never twice
    cluster.start_replica(victim)
