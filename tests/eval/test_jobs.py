"""Eval jobs: run in the background, survive a restart as 'interrupted', and serve their
reports over HTTP."""

import json
import sqlite3
import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from eval import generate
from eval.jobs import EvalJobs
from generator.answer import AnswerService
from generator.conversations import ConversationStore
from retriever.service import SearchService
from studyhall.core.errors import InvalidRequest
from studyhall.core.settings import AnswerSettings, ServerSettings
from studyhall.services import build_services
from tests.conftest import ScriptedGenerator

ADMIN_TOKEN = "admin-token-for-tests-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

QUESTIONS = [
    {"id": "q1", "course": "tiny", "question": "what is mode collapse",
     "gold": [{"source": "gans.md"}], "key_facts": ["few outputs"], "tags": ["factual"]},
    {"id": "q2", "course": "tiny", "question": "what does the KL term do",
     "gold": [{"source": "vaes.md"}], "key_facts": ["KL divergence"], "tags": ["why"]},
    {"id": "u1", "course": "tiny", "question": "Quarterly tax filing deadline?",
     "answerable": False, "tags": ["out-of-course"]},
]


@pytest.fixture
def parts(settings, catalog, fake_embedder, ingestor, course_dir, tmp_path):
    ingestor.ingest(course_dir, "tiny")
    own = settings.data_dir / "evals" / "tiny" / "questions.jsonl"
    own.parent.mkdir(parents=True)
    own.write_text("\n".join(json.dumps(q) for q in QUESTIONS) + "\n")
    search = SearchService(settings, embedder=fake_embedder, catalog=catalog)
    settings = settings.model_copy(update={
        "answer": AnswerSettings(min_confidence=0.3, judge=False),
        "server": ServerSettings(warm_up=False, admin_token=ADMIN_TOKEN)})
    generator = ScriptedGenerator(lambda m: "Mode collapse means few outputs [1].")
    answers = AnswerService(settings, search, generator, ConversationStore(settings.database))
    return settings, search, answers


def make_jobs(settings, search, answers) -> EvalJobs:
    return EvalJobs(settings.database, settings.data_dir / "evals" / "jobs", search=search,
                    answers=lambda: answers, data_dir=settings.data_dir,
                    kv_reuse=answers.settings.generator.kv_reuse)


def test_a_retrieval_job_runs_in_the_background_and_writes_its_report(parts):
    jobs = make_jobs(*parts)
    job = jobs.start("tiny", "retrieval", configs=["bm25", "hybrid"])
    assert job["status"] in ("queued", "running") and job["total"] == 2
    done = jobs.wait(job["id"])
    assert done["status"] == "done" and done["done"] == 2
    assert set(done["summary"]) == {"bm25", "hybrid"}
    assert jobs.report_file(job["id"], "report.html").read_text().startswith("<!doctype html>")


def test_an_answer_job_scores_every_question_without_storing_chats(parts):
    settings, search, answers = parts
    jobs = make_jobs(settings, search, answers)
    done = jobs.wait(jobs.start("tiny", "answers")["id"])
    assert done["status"] == "done" and done["done"] == done["total"] == 3
    assert done["summary"]["answerable"] == 2 and done["summary"]["refusal_rate"] == 1.0
    with sqlite3.connect(settings.database) as db:
        assert db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0


def test_a_job_the_service_stopped_in_is_reported_interrupted_not_lost(parts):
    settings, search, answers = parts
    jobs = make_jobs(settings, search, answers)
    jobs._ensure_worker = lambda: None  # the process "dies" before the worker picks it up
    job = jobs.start("tiny", "retrieval")
    restarted = make_jobs(settings, search, answers)
    again = restarted.get(job["id"])
    assert again["status"] == "interrupted" and "start it again" in again["error"]


def test_a_failing_job_is_reported_failed_with_its_reason(parts):
    settings, search, _ = parts

    def broken():
        raise RuntimeError("model file missing")

    jobs = EvalJobs(settings.database, settings.data_dir / "r", search=search, answers=broken,
                    data_dir=settings.data_dir)
    done = jobs.wait(jobs.start("tiny", "answers")["id"])
    assert done["status"] == "failed" and "model file missing" in done["error"]


def test_eval_jobs_over_http(parts, ingestor, tmp_path):
    settings, search, answers = parts
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "notes.md").write_text("# Notes\n\nNo question set for this one.\n")
    ingestor.ingest(tmp_path / "bare", "bare")
    app = create_app(services=build_services(settings, search=search, answers=answers))
    with TestClient(app) as client:
        refused = client.post("/v1/evals", json={"course": "tiny", "kind": "retrieval"})
        assert refused.status_code == 401  # neither an instructor's LTI session nor the token
        client.headers.update(ADMIN)
        response = client.post("/v1/evals", json={"course": "tiny", "kind": "retrieval",
                                                  "configs": ["hybrid"]})
        assert response.status_code == 202
        job_id = response.json()["id"]
        deadline = time.monotonic() + 30
        while (job := client.get(f"/v1/evals/{job_id}").json())["status"] != "done":
            assert time.monotonic() < deadline and job["status"] in ("queued", "running")
            time.sleep(0.05)
        page = client.get(job["report"]["html"])
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert client.get(f"/v1/evals/{job_id}/report.json").json()["kind"] == "retrieval"
        assert [j["id"] for j in client.get("/v1/evals?course=tiny").json()["jobs"]] == [job_id]
        stranger = TestClient(app)  # no LTI session, no admin token: reads are refused too
        for path in (f"/v1/evals/{job_id}", job["report"]["html"], "/v1/evals?course=tiny",
                     "/v1/evals"):
            assert stranger.get(path).status_code == 401, path
        assert client.post("/v1/evals", json={"course": "nope", "kind": "retrieval"}).status_code == 404
        assert client.post("/v1/evals", json={"course": "tiny", "kind": "vibes"}).status_code == 422
        assert client.get("/v1/evals/000000000000").status_code == 404
        no_set = client.post("/v1/evals", json={"course": "bare", "kind": "answers"})
        assert no_set.status_code == 422 and "eval generate" in no_set.json()["detail"]
        cold = client.post("/v1/evals", json={"course": "tiny", "kind": "warm"})
        assert cold.status_code == 422 and "kv_reuse is off" in cold.json()["detail"][0]["msg"]
        many = client.post("/v1/evals", json={"course": "tiny", "kind": "draft", "limit": 501})
        assert many.status_code == 422 and "500 passages" in many.json()["detail"][0]["msg"]


LONG_LESSON = """# Mode collapse

""" + " ".join(["A generator trained against a discriminator can settle on a handful of "
                "outputs that fool it, and that failure is called mode collapse."] * 3) + "\n"


@pytest.fixture
def long_course(ingestor, tmp_path):
    folder = tmp_path / "long"
    folder.mkdir()
    (folder / "course.yaml").write_text("id: long\ntitle: Long lessons\n")
    (folder / "collapse.md").write_text(LONG_LESSON)
    ingestor.ingest(folder, "long")
    return "long"


def drafting_answers(settings, search) -> AnswerService:
    reply = ("Question: What is mode collapse?\nKey fact: settle on a handful of outputs")
    return AnswerService(settings, search, ScriptedGenerator(lambda m: reply),
                         ConversationStore(settings.database))


def test_a_draft_job_takes_turns_in_the_model_queue_and_saves_the_set_for_review(
        parts, long_course, monkeypatch):
    monkeypatch.setattr(generate, "MIN_WORDS", 10)  # the test settings' chunks are short
    settings, search, _ = parts
    answers = drafting_answers(settings, search)
    entered = []
    enter = answers.queue.enter
    answers.queue.enter = lambda: entered.append(1) or enter()
    jobs = make_jobs(settings, search, answers)
    job = jobs.start(long_course, "draft", limit=3)  # no question set needed
    assert job["total"] == 3
    done = jobs.wait(job["id"])
    assert done["status"] == "done", done
    passages = len(answers.generator.calls)
    assert passages >= 1 and len(entered) == passages  # each passage a turn, like a student's
    assert done["summary"] == {"drafts": passages, "passages": 3,
                               "saved_as": "evals/long/questions.draft.jsonl"}
    saved = [json.loads(line) for line in
             (settings.data_dir / "evals" / "long" / "questions.draft.jsonl").open()]
    assert saved and all(d["draft"] and d["question"] == "What is mode collapse?" for d in saved)
    report = json.loads(jobs.report_file(job["id"], "report.json").read_text())
    assert report == {"kind": "draft", "questions": saved}
    assert "What is mode collapse?" in jobs.report_file(job["id"], "report.md").read_text()


class Warming(ScriptedGenerator):
    """A generator that can warm: keeps one file per prompt, as the real one keeps KV."""

    def warm(self, messages, folder):
        from generator.backends.kv_reuse import ReuseStats

        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{len(list(folder.glob('*.kv')))}.kv").write_bytes(b"\0" * 1024)
        return ReuseStats(blocks_encoded=2, bytes_encoded=1024)


def test_a_warm_job_is_refused_where_kv_reuse_is_off_and_runs_where_it_is_on(parts):
    settings, search, answers = parts
    jobs = make_jobs(settings, search, answers)
    with pytest.raises(InvalidRequest, match="kv_reuse is off"):
        jobs.start("tiny", "warm")
    reusing = settings.model_copy(update={"generator": settings.generator.model_copy(
        update={"kv_reuse": True})})
    # a backend that cannot warm fails the job with the reason
    plain = AnswerService(reusing, search, answers.generator, ConversationStore(settings.database))
    failed = make_jobs(settings, search, plain)
    job = failed.wait(failed.start("tiny", "warm")["id"])
    assert job["status"] == "failed" and "llama_cpp backend" in job["error"]
    warming = AnswerService(reusing, search, Warming(lambda m: ""),
                            ConversationStore(settings.database))
    jobs = make_jobs(settings, search, warming)
    done = jobs.wait(jobs.start("tiny", "warm")["id"])
    assert done["status"] == "done" and done["done"] == done["total"] == len(QUESTIONS)
    assert done["summary"]["questions"] == len(QUESTIONS)
    assert done["summary"]["encoded"] == 2 * len(QUESTIONS)
    assert done["summary"]["files"] == len(QUESTIONS)
    assert jobs.report_file(done["id"], "report.json") is None  # its summary says it all
