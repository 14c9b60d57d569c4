"""Every command that answers or evaluates, run through the command line as a user runs
it (typer's runner), over the small test course with the hashing embedder and a scripted
model: what it prints, what it writes, and its exit status when something is wrong."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from demos.registry import DemoRunner
from generator.prompts import JUDGE, NOT_COVERED, REWRITE_SYSTEM
from ingest.pipeline import Ingestor
from retriever.service import SearchService
from studyhall.cli import app, common
from studyhall.core.settings import AnswerSettings, IngestSettings
from studyhall.services import build_services
from tests.conftest import ScriptedGenerator
from tests.demos.test_registry import PERCEPTRON

runner = CliRunner()

# A passage long enough to draft a question from (eval generate skips short ones).
LONG_LESSON = "# Attention\n\n## Scaled dot-product attention\n\n" + (
    "Attention compares every query with every key by a dot product, scales the scores and "
    "averages the values with the softmax weights. Every position attends to every other "
    "position in one step, which is why transformers train in parallel where recurrent "
    "networks walk through a sequence step by step.\n")
QUESTIONS = [
    {"id": "q1", "course": "tiny", "question": "what is mode collapse",
     "gold": [{"source": "gans.md"}], "key_facts": ["few outputs"]},
    {"id": "q2", "course": "tiny", "question": "what does the KL term do",
     "gold": [{"source": "vaes.md"}], "key_facts": ["standard normal prior"]},
    {"id": "u1", "course": "tiny", "question": "Quarterly tax filing deadline?",
     "answerable": False},
]


def reply(messages) -> str:
    system, user = messages[0].content, messages[-1].content
    if system == REWRITE_SYSTEM:
        return "What does the encoder of a variational autoencoder do?"
    if system.startswith("You write exam-style questions"):
        return ("Question: Why do transformers train in parallel?\n"
                "Key fact: every position attends to every other position in one step")
    if user.endswith(JUDGE):
        return "yes"
    if "encoder" in user and "Question: What does the encoder" in user:
        return "The encoder maps an input to a Gaussian in latent space [1]."
    return "Mode collapse happens when the generator produces only a few outputs [1]."


@pytest.fixture
def cli(settings, catalog, fake_embedder, ingestor, course_dir, tmp_path, monkeypatch):
    """The CLI's services over the test course, and the data directory it reads."""
    ingestor.ingest(course_dir, "tiny")
    questions = settings.data_dir / "evals" / "tiny" / "questions.jsonl"
    questions.parent.mkdir(parents=True)
    questions.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    settings = settings.model_copy(update={"answer": AnswerSettings(min_confidence=0.3)})
    generator = ScriptedGenerator(reply)
    services = build_services(
        settings, search=SearchService(settings, embedder=fake_embedder, catalog=catalog),
        demos=DemoRunner(tmp_path / "runs", tools={"perceptron": PERCEPTRON}),
        generator=generator)
    monkeypatch.setattr(common, "build_services", lambda _settings: services)
    monkeypatch.setenv("STUDYHALL_DATA_DIR", str(settings.data_dir))
    return generator


def test_ask_streams_the_answer_and_lists_the_cited_passage(cli):
    result = runner.invoke(app, ["ask", "what is mode collapse in GAN training", "-c", "tiny"])
    assert result.exit_code == 0, result.output
    assert "Mode collapse happens when the generator produces only a few outputs [1]." in result.output
    assert "[1] gans.md#section=why-training-is-unstable" in result.output


def test_ask_json_is_the_http_api_answer(cli):
    result = runner.invoke(app, ["ask", "what is mode collapse", "-c", "tiny", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["refused"] is False and body["citations"][0]["n"] == 1
    assert body["citations"][0]["anchor"]["kind"] == "section" and body["session_id"]
    assert set(body["timings"]) >= {"retrieve_ms", "first_token_ms", "total_ms"}


def test_ask_refuses_what_the_course_does_not_cover_and_names_the_closest_lessons(cli):
    result = runner.invoke(app, ["ask", "Quarterly tax filing deadline?", "-c", "tiny"])
    assert result.exit_code == 0
    assert NOT_COVERED in result.output and "  see: " in result.output
    assert cli.calls == []


@pytest.mark.parametrize(("args", "code", "message"), [
    (["ask", "what is a GAN", "-c", "nope"], 2, "unknown course 'nope'"),
    (["ask", "   ", "-c", "tiny"], 2, "question must not be empty"),
    (["ask", "x" * 3000, "-c", "tiny"], 2, "the limit is 2,000"),
])
def test_ask_with_bad_input_exits_2_naming_the_problem(cli, args, code, message):
    result = runner.invoke(app, args)
    assert result.exit_code == code and message in result.output
    assert "Traceback" not in result.output


def test_ask_without_the_model_exits_1_saying_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("STUDYHALL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STUDYHALL_GENERATOR__BACKEND", "openai")  # no base URL set
    result = runner.invoke(app, ["ask", "what is a GAN", "-c", "tiny"])
    assert result.exit_code == 1 and "needs STUDYHALL_GENERATOR__BASE_URL" in result.output


def test_chat_keeps_the_conversation_and_survives_a_bad_question(cli):
    script = "what is a variational autoencoder\n\n   \nand its encoder?\n" + "x" * 3000 + "\n"
    result = runner.invoke(app, ["chat", "-c", "tiny"], input=script)
    assert result.exit_code == 0, result.output
    assert result.output.count("you › ") == 6  # five lines, then the end of input
    assert "The encoder maps an input to a Gaussian in latent space [1]." in result.output
    assert "[1] vaes.md#section=the-encoder" in result.output
    assert "error: question is 3,000 characters" in result.output  # and the chat went on
    rewrites = [c for c in cli.calls if c[0].content == REWRITE_SYSTEM]
    assert len(rewrites) == 1 and "Student: what is a variational autoencoder" in rewrites[0][1].content


def test_chat_on_an_unknown_course_says_so_for_each_question(cli):
    result = runner.invoke(app, ["chat", "-c", "nope"], input="what is a GAN\n")
    assert result.exit_code == 0 and "error: unknown course 'nope'" in result.output


def test_eval_retrieval_prints_the_table_and_writes_the_report(cli, tmp_path):
    out = tmp_path / "report"
    result = runner.invoke(app, ["eval", "retrieval", "-c", "tiny", "--configs", "bm25,hybrid+mmr",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "| bm25 | 2 |" in result.output and "| hybrid+mmr | 2 |" in result.output
    report = json.loads((out / "report.json").read_text())
    assert [r["mode"] for r in report["results"]] == ["bm25", "hybrid+mmr"]


def test_eval_retrieval_json_and_the_chunk_size_sweep(cli, course_dir):
    result = runner.invoke(app, ["eval", "retrieval", "-c", "tiny", "--configs", "dense",
                                 "--chunks", "40/8", "--source", str(course_dir), "--json"])
    assert result.exit_code == 0, result.output
    assert [r["mode"] for r in json.loads(result.output)] == ["dense", "dense@40/8"]


@pytest.mark.parametrize(("args", "message"), [
    (["--configs", "hybrid+rerank"], "a configuration is MODE or MODE+mmr"),
    (["--configs", "vibes"], "a configuration is MODE or MODE+mmr"),
    (["--chunks", "40/8"], "--chunks needs --source"),
    (["--chunks", "big", "--source", "."], "SIZE/OVERLAP"),
    (["--dataset", "missing.jsonl"], "cannot read the question set missing.jsonl"),
])
def test_eval_retrieval_bad_options_exit_2_naming_the_problem(cli, args, message):
    result = runner.invoke(app, ["eval", "retrieval", "-c", "tiny", *args])
    assert result.exit_code == 2 and message in result.output, result.output


def test_eval_gate_reads_the_course_own_question_set(cli):
    result = runner.invoke(app, ["eval", "gate", "-c", "tiny"])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("| 0.")]
    assert len(rows) == 7  # one per threshold, over the course's 2 + 1 questions


def test_eval_gate_fit_needs_a_set_large_enough_and_clear_forgets_it(cli):
    result = runner.invoke(app, ["eval", "gate", "-c", "tiny", "--fit"])
    assert result.exit_code == 2
    assert "at least 20 answerable and 5 out-of-course" in result.output
    assert "this set has 2 and 1" in result.output
    cleared = runner.invoke(app, ["eval", "gate", "-c", "tiny", "--clear"])
    assert cleared.exit_code == 0 and "the settings' thresholds apply" in cleared.output


def test_eval_answers_scores_every_question_and_writes_the_report(cli, tmp_path):
    out = tmp_path / "answers"
    result = runner.invoke(app, ["eval", "answers", "-c", "tiny", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "| out-of-course questions refused (refusal recall) | 100.0% of 1 |" in result.output
    report = json.loads((out / "report.json").read_text())
    assert [r["id"] for r in report["records"]] == ["q1", "q2", "u1"]
    assert report["records"][0]["correct"] is True


def test_eval_answers_limit_and_an_unknown_course(cli, tmp_path):
    result = runner.invoke(app, ["eval", "answers", "-c", "tiny", "--limit", "1",
                                 "--out", str(tmp_path / "a")])
    assert result.exit_code == 0 and "of 1 |" in result.output
    assert runner.invoke(app, ["eval", "answers", "-c", "nope"]).exit_code == 2


def test_eval_generate_drafts_questions_for_review(cli, settings, catalog, fake_embedder,
                                                  tmp_path):
    long = tmp_path / "long"
    long.mkdir()
    (long / "attention.md").write_text(LONG_LESSON)
    wide = IngestSettings(chunk_tokens=60, overlap_tokens=8)  # one passage of 48 words
    Ingestor(catalog, fake_embedder, wide).ingest(long, "long")
    result = runner.invoke(app, ["eval", "generate", "-c", "long", "--count", "3"])
    assert result.exit_code == 0, result.output
    target = settings.data_dir / "evals" / "long" / "questions.draft.jsonl"
    drafts = [json.loads(line) for line in target.read_text().splitlines()]
    assert drafts and all(d["draft"] and d["source"].startswith("attention.md") for d in drafts)
    assert f"→ {target}" in result.output and "questions.jsonl" in result.output


def test_eval_routing_reports_both_bundled_sets(cli):
    result = runner.invoke(app, ["eval", "routing"])
    assert result.exit_code == 0
    [written, heldout] = result.output.splitlines()
    assert re.fullmatch(r"routing.jsonl: (\d+)/\1 demo requests routed right \(100.0%\); "
                        r"0/\d+ questions ran a demo", written)
    assert heldout.startswith("routing-heldout.jsonl: 22/22 demo requests routed right")


def test_eval_peer_refuses_a_source_that_is_not_a_folder(cli, tmp_path):
    result = runner.invoke(app, ["eval", "peer", str(tmp_path / "nope"), "-c", "tiny"])
    assert result.exit_code == 2 and "is not a folder" in result.output


def test_settings_lists_every_variable_with_its_value(monkeypatch, tmp_path):
    monkeypatch.setenv("STUDYHALL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("STUDYHALL_ANSWER__PROMPT", "best-passage-last")
    lines = runner.invoke(app, ["settings"]).output.splitlines()
    assert f"STUDYHALL_DATA_DIR={tmp_path}" in lines
    assert "STUDYHALL_ANSWER__PROMPT=best-passage-last" in lines
    assert "STUDYHALL_RETRIEVAL__MODE=hybrid" in lines



def test_keys_are_made_listed_and_revoked_from_the_command_line(cli):
    made = runner.invoke(app, ["keys", "create", "-c", "tiny", "--scope", "instruct",
                               "--name", "grader"])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert token.startswith("sh-") and "only time it is shown" in made.stderr
    key_id = token.split("-")[1]
    listed = runner.invoke(app, ["keys", "list"]).output
    assert key_id in listed and "instruct" in listed and "'grader'" in listed
    assert token.rsplit("-", 1)[1] not in listed
    assert "revoked" in runner.invoke(app, ["keys", "revoke", key_id]).output
    assert "revoked" in runner.invoke(app, ["keys", "list", "-c", "tiny"]).output
    assert runner.invoke(app, ["keys", "create", "-c", "nope"]).exit_code == 2
    assert runner.invoke(app, ["keys", "revoke", "nope"]).exit_code == 2


def test_a_course_visibility_is_printed_and_set(cli):
    assert runner.invoke(app, ["course", "visibility", "tiny"]).output.strip() == "tiny: lms"
    assert runner.invoke(app, ["course", "visibility", "tiny", "private"]).output.strip() == (
        "tiny: private")
    bad = runner.invoke(app, ["course", "visibility", "tiny", "secret"])
    assert bad.exit_code == 2 and "visibility must be one of" in bad.output
    assert runner.invoke(app, ["course", "visibility", "nope", "public"]).exit_code == 2
