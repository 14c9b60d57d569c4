"""The command line end to end with the real embedder."""

import json

import pytest
from typer.testing import CliRunner

from studyhall.cli import app
from tests.conftest import BUNDLED_COURSE

pytestmark = pytest.mark.slow
runner = CliRunner()


def test_ingest_search_reingest_and_list(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDYHALL_DATA_DIR", str(tmp_path / "data"))
    course = tmp_path / "mini"
    course.mkdir()
    for name in ("16-generative-adversarial-networks.md", "17-variational-autoencoders.md"):
        (course / name).write_text((BUNDLED_COURSE / "lessons" / name).read_text())
    (course / "broken.pdf").write_bytes(b"not a pdf")
    (course / "drafts").mkdir()
    (course / "drafts" / "next-week.md").write_text("# Next week\n\nNot ready.\n")
    for n in range(3):
        (course / f"figure-{n}.png").write_bytes(b"\x89PNG\r\n\x1a\n")

    first = runner.invoke(app, ["ingest", str(course), "--course", "mini",
                                "--exclude", "drafts/"])
    assert first.exit_code == 0, first.output
    assert "2 added" in first.output and "4 skipped" in first.output
    assert "skipped 4 files: 3 images (.png); 1 PDF file unreadable: broken.pdf" in first.output
    assert "left out 1 file: 1 excluded by 'drafts/': drafts/next-week.md" in first.output
    assert first.output.count("figure-") == 0  # grouped, not one line a file
    listed = runner.invoke(app, ["ingest", str(course), "--course", "mini", "--exclude",
                                 "drafts/", "--verbose"])
    assert "skipped figure-2.png: unsupported file type '.png'" in listed.output
    assert "left out drafts/next-week.md: excluded by 'drafts/'" in listed.output

    result = runner.invoke(app, ["search", "what does the KL term do", "--course", "mini",
                                 "-k", "3", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)
    assert len(hits) == 3
    assert hits[0]["source"] == "17-variational-autoencoders.md"
    assert hits[0]["anchor"]["kind"] == "section"

    assert "already up to date" in listed.output and "0 embedded" in listed.output
    again = runner.invoke(app, ["ingest", str(course), "--course", "mini"])  # drafts too now
    assert "1 added, 0 changed, 2 unchanged" in again.output and "1 embedded" in again.output

    listing = json.loads(runner.invoke(app, ["courses", "--json"]).output)
    assert [c["id"] for c in listing] == ["mini"] and listing[0]["files"] == 3


def test_ingest_of_only_bad_files_fails_with_the_reasons(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDYHALL_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.pdf").write_bytes(b"junk")
    result = runner.invoke(app, ["ingest", str(tmp_path / "bad"), "--course", "bad"])
    assert result.exit_code == 1
    assert "nothing could be ingested" in result.output and "x.pdf" in result.output


def test_ask_and_eval_answers_with_the_real_embedder_and_a_real_model(tmp_path, monkeypatch,
                                                                       course_dir, models_dir):
    monkeypatch.setenv("STUDYHALL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STUDYHALL_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("STUDYHALL_GENERATOR__MODEL", "tiny")  # SmolLM2-135M: seconds, not minutes
    monkeypatch.setenv("STUDYHALL_GENERATOR__MAX_TOKENS", "32")
    assert runner.invoke(app, ["ingest", str(course_dir), "--course", "tiny"]).exit_code == 0

    asked = runner.invoke(app, ["ask", "What does the discriminator do?", "-c", "tiny", "--json"])
    assert asked.exit_code == 0, asked.output
    body = json.loads(asked.output)
    assert body["answer"] and (body["refused"] or body["citations"])

    dataset = tmp_path / "questions.jsonl"
    dataset.write_text(json.dumps({
        "id": "q1", "course": "tiny", "question": "What does the discriminator do?",
        "gold": [{"source": "gans.md"}], "key_facts": ["tells real samples from generated ones"],
    }) + "\n")
    for command in (["eval", "answers", "-c", "tiny"],
                    ["eval", "peer", str(course_dir), "-c", "tiny"]):
        out = tmp_path / command[1]
        result = runner.invoke(app, [*command, "--dataset", str(dataset), "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert "| answerable questions wrongly refused |" in result.output
        [record] = json.loads((out / "report.json").read_text())["records"]
        assert record["id"] == "q1" and record["answer"]
