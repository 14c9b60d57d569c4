"""Crafted files fail alone: a parse that runs too long or too big is stopped in its own
process, a zip bomb is refused from its directory, and the next file parses as usual."""

from __future__ import annotations

import zipfile

import pytest

from ingest.loaders import LoadError
from ingest.sandbox import Limits, ParserSandbox, check_size
from tests.conftest import LESSONS


@pytest.fixture
def lesson(tmp_path):
    path = tmp_path / "gans.md"
    path.write_text(LESSONS["gans.md"])
    return path


def zip_bomb(path, inflated_bytes: int):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("ppt/slides/slide1.xml", "w") as member:
            block = b"\0" * (1 << 20)
            for _ in range(inflated_bytes >> 20):
                member.write(block)
    return path


def test_a_file_parses_in_the_worker_like_in_process(lesson):
    sandbox = ParserSandbox()
    try:
        document = sandbox.load(lesson)
        assert document.title == "Generative adversarial networks" and document.sections
    finally:
        sandbox.close()


def test_a_parse_past_the_time_limit_is_stopped_and_the_next_file_still_parses(lesson):
    slow = ParserSandbox(Limits(timeout_s=0.0001))
    with pytest.raises(LoadError, match="took longer than"):
        slow.load(lesson)
    slow.limits = Limits(timeout_s=30)
    try:
        assert slow.load(lesson).sections  # a fresh worker
    finally:
        slow.close()


def test_a_parse_that_exhausts_the_memory_fails_that_file_only(tmp_path, lesson):
    huge = tmp_path / "huge.md"
    huge.write_text(("# Heading\n\n" + "word " * 2000 + "\n\n") * 6000)  # ~60 MB
    sandbox = ParserSandbox(Limits(memory_mb=256, timeout_s=120))
    try:
        with pytest.raises(LoadError, match="memory|crashed"):
            sandbox.load(huge)
        assert sandbox.load(lesson).sections
    finally:
        sandbox.close()


def test_a_zip_bomb_is_refused_from_its_directory(tmp_path):
    bomb = zip_bomb(tmp_path / "deck.pptx", 64 << 20)
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(LoadError, match="zip bomb"):
        check_size(bomb, Limits(max_file_mb=32))
    with pytest.raises(LoadError, match="unpacks to"):
        check_size(bomb, Limits())


def test_a_file_over_the_size_limit_is_refused_before_it_is_opened(tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * (2 << 20))
    with pytest.raises(LoadError, match="the limit is 1,048,576"):
        check_size(big, Limits(max_file_mb=1))


def test_an_ingest_skips_the_crafted_file_and_keeps_the_rest(tmp_path, ingestor, course_dir):
    zip_bomb(course_dir / "deck.pptx", 64 << 20)
    report = ingestor.ingest(course_dir, "tiny")
    assert "zip bomb" in report.skipped["deck.pptx"] or "unpacks" in report.skipped["deck.pptx"]
    assert set(report.added) == {"gans.md", "vaes.md", "notes.txt"}
