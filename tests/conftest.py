"""Shared fixtures.

Fast tests use :class:`FakeEmbedder`, a deterministic hashing bag-of-words embedder: the
same words give similar vectors, so ranking tests still mean something, and nothing
heavy loads. Tests marked ``slow`` use the real MiniLM model and the bundled course.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from generator.base import ChatMessage, GenerationParams
from ingest.catalog import Catalog
from ingest.pipeline import Ingestor
from studyhall.core.settings import AccessSettings, IngestSettings, Settings

ROOT = Path(__file__).resolve().parents[1]
BUNDLED_COURSE = ROOT / "corpus" / "genai-basics"


class FakeEmbedder:
    """Hashing-trick embedder: each lower-cased word adds to one of ``dim`` buckets."""

    max_tokens = 64

    def __init__(self, dim: int = 128, name: str = "fake/hashing") -> None:
        self.name = name
        self._dim = dim
        self.embedded: list[str] = []  # every text ever embedded, to count re-embedding

    @property
    def dimension(self) -> int:
        return self._dim

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        self.embedded.extend(texts)
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                bucket = int(hashlib.md5(word.encode()).hexdigest(), 16) % self._dim
                out[row, bucket] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
            if not norm:
                out[row, 0] = 1.0
        return out


class ScriptedGenerator:
    """Replies with a fixed script (a function of the messages), token by token."""

    name = "scripted"

    def __init__(self, reply, context_window: int = 4096, delay: float = 0.0) -> None:
        self.reply = reply
        self.delay = delay
        self.context_window = context_window
        self.calls: list[list[ChatMessage]] = []
        self.stopped_early = False

    def load(self) -> None:
        pass

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, messages, params: GenerationParams, cancel: threading.Event | None = None):
        self.calls.append(messages)
        finished = False
        try:
            for word in self.reply(messages).split(" "):
                if cancel is not None and cancel.is_set():
                    return
                time.sleep(self.delay)
                yield word + " "
            finished = True
        finally:  # cancelled, or closed by the caller before the end
            self.stopped_early = self.stopped_early or not finished


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Small chunks, and courses public unless a test sets one's visibility (the product's
    default is lms; tests/api/access/ test each visibility)."""
    return Settings(
        data_dir=tmp_path / "data",
        ingest=IngestSettings(chunk_tokens=40, overlap_tokens=8),
        access=AccessSettings(default_visibility="public"),
    )


@pytest.fixture
def catalog(settings: Settings) -> Catalog:
    return Catalog(settings.courses_dir, keep_versions=settings.ingest.keep_versions)


@pytest.fixture
def ingestor(catalog: Catalog, fake_embedder: FakeEmbedder, settings: Settings) -> Ingestor:
    return Ingestor(catalog, fake_embedder, settings.ingest)


LESSONS = {
    "gans.md": """# Generative adversarial networks

A GAN pits two networks against each other.

## The generator

The generator turns random noise into fake samples that look like the training data.

## The discriminator

The discriminator is a classifier that tells real samples from generated ones.

## Why training is unstable

Training is a game: mode collapse happens when the generator produces only a few outputs.
""",
    "vaes.md": """# Variational autoencoders

A VAE compresses data into a latent space and rebuilds it.

## The encoder

The encoder maps an input to the mean and variance of a Gaussian in latent space.

## The KL term

The KL divergence keeps the latent codes close to a standard normal prior.
""",
    "notes.txt": """Diffusion models add noise step by step.

They learn to remove the noise again, one step at a time, to generate images.
""",
}


@pytest.fixture
def course_dir(tmp_path: Path) -> Path:
    """A small course folder with two Markdown lessons and a text file."""
    folder = tmp_path / "course"
    folder.mkdir()
    (folder / "course.yaml").write_text(
        "id: tiny\ntitle: Tiny Course\ndescription: A test course.\nlicence: CC0\n"
        "lessons: [vaes.md, gans.md]\n"
    )
    for name, text in LESSONS.items():
        (folder / name).write_text(text)
    return folder


# --- the real model and the bundled course, shared by the slow tests -----------------

@pytest.fixture(scope="session")
def real_embedder():
    from ingest.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder("sentence-transformers/all-MiniLM-L6-v2").load()


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    """One place for the assembled language model, shared by every slow test."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def bundled_settings(tmp_path_factory, models_dir) -> Settings:
    """Default settings over a data directory holding the bundled course, ingested once."""
    data_dir = tmp_path_factory.mktemp("bundled")
    return Settings(data_dir=data_dir, models_dir=models_dir)


@pytest.fixture(scope="session")
def bundled_service(bundled_settings: Settings, real_embedder):
    from retriever.service import SearchService

    catalog = Catalog(bundled_settings.courses_dir)
    Ingestor(catalog, real_embedder, bundled_settings.ingest).ingest(
        BUNDLED_COURSE, "genai-basics"
    )
    return SearchService(bundled_settings, embedder=real_embedder, catalog=catalog)


@pytest.fixture(scope="session")
def bundled_answers(bundled_service, bundled_settings):
    """The answer service over the bundled course with the default model, warmed up once
    for every slow test that asks it."""
    from studyhall.services import build_services

    service = build_services(bundled_settings, search=bundled_service).answers
    service.warm_up()
    return service


def write_small_course(folder: Path, course_id: str, title: str) -> Path:
    """The small test course (LESSONS) as a folder with its course.yaml, for a real CLI."""
    folder.mkdir(parents=True)
    (folder / "course.yaml").write_text(f"id: {course_id}\ntitle: {title}\n")
    for name, text in LESSONS.items():
        (folder / name).write_text(text)
    return folder


def copy_course(tmp_path: Path) -> Path:
    target = tmp_path / "genai-basics"
    shutil.copytree(BUNDLED_COURSE, target)
    return target


@contextmanager
def serving(app) -> Iterator[str]:
    """Run ``app`` under a real uvicorn server on a free local port; yield its base URL."""
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# --- the service's database: SQLite by default, PostgreSQL for several replicas ---------

@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """One real PostgreSQL server for the session (Debian's package); its URL."""
    from tests.servers import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def database(request, tmp_path: Path):
    """The same store tests on both engines: a SQLite file, and a fresh database on the
    real PostgreSQL server (slow tier)."""
    from studyhall.core.database import Database

    if request.param == "sqlite":
        return Database.of(tmp_path / "studyhall.sqlite")
    from tests.servers import new_database

    return Database(new_database(request.getfixturevalue("postgres")))
