"""Uploading course files over HTTP: kept under the data directory, ingested in the
background, searchable when the job is done; bad names, types and sizes refused."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from reportlab.pdfgen import canvas

from api.app import create_app
from ingest.store import read_chunks
from retriever.service import SearchService
from studyhall.core.settings import ServerSettings
from studyhall.services import build_services
from tests.api.instructor.conftest import (
    ADMIN,
    ADMIN_TOKEN,
    MAX_UPLOAD,
    lti_headers,
    top_source,
    upload,
    wait_for_job,
)
from tests.conftest import ScriptedGenerator

ATTENTION = """# Attention

Self-attention lets every token look at every other token of the sequence.

## The zebracorn rule

The zebracorn rule scales the scores by the square root of the key dimension.
""" + "\nPadding sentence about queries, keys and values.\n" * 60  # past the JSON body limit


def make_pdf(path: Path, text: str) -> bytes:
    pdf = canvas.Canvas(str(path))
    pdf.drawString(72, 720, text)
    pdf.showPage()
    pdf.save()
    return path.read_bytes()


def test_uploaded_files_are_ingested_and_searchable_and_the_other_files_stay(client, settings):
    assert len(ATTENTION.encode()) > 2048  # bigger than a JSON body may be
    response = upload(client, "tiny", {"attention.md": ATTENTION})
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] in ("queued", "running") and job["total"] == 1
    assert job["files"] == ["attention.md"]

    done = wait_for_job(client, job["id"])
    assert done["status"] == "done" and done["done"] == done["total"] == 1
    assert done["report"]["added"] == ["attention.md"] and done["report"]["skipped"] == {}
    assert "published version" in done["report"]["summary"]
    assert top_source(client, "what does the zebracorn rule scale") == "attention.md"
    assert top_source(client, "mode collapse generator few outputs") == "gans.md"
    kept = settings.data_dir / "sources" / "tiny" / "attention.md"
    assert kept.read_text() == ATTENTION
    assert not any((kept.parent / ".incoming").iterdir())


def test_a_new_course_id_creates_the_course(client):
    job = upload(client, "fresh", {"a.md": "# Alpha\n\nThe alpha particle is a helium nucleus.\n",
                                   "b.txt": "Beta decay turns a neutron into a proton.\n"}).json()
    done = wait_for_job(client, job["id"])
    assert done["status"] == "done" and sorted(done["report"]["added"]) == ["a.md", "b.txt"]
    courses = {c["id"] for c in client.get("/v1/courses").json()["courses"]}
    assert "fresh" in courses
    assert top_source(client, "neutron into a proton", course="fresh") == "b.txt"


def test_an_unsupported_type_is_refused_with_415_naming_the_allowed_ones(client, settings):
    response = upload(client, "tiny", {"notes.md": "# Fine\n\ntext\n", "setup.exe": b"MZ\x90"})
    assert response.status_code == 415
    detail = response.json()["detail"]
    assert "'.exe'" in detail and ".md" in detail and ".pdf" in detail
    assert not (settings.data_dir / "sources" / "tiny" / "notes.md").exists()


def test_an_upload_over_the_limit_is_refused_with_413_and_nothing_is_kept(client, settings):
    response = upload(client, "tiny", {"big.txt": "x" * (MAX_UPLOAD + 100)})
    assert response.status_code == 413
    assert "big.txt" in response.json()["detail"]
    incoming = settings.data_dir / "sources" / "tiny" / ".incoming"
    assert not incoming.exists() or not any(incoming.iterdir())


def test_a_body_far_over_the_limit_is_refused_before_it_is_read(client):
    response = upload(client, "tiny", {"huge.txt": b"x" * (MAX_UPLOAD * 4)})
    assert response.status_code == 413
    assert "request body is" in response.json()["detail"]


def test_json_bodies_keep_their_own_smaller_limit(client):
    response = client.post("/v1/search", json={"query": "x " * 2000, "course": "tiny"})
    assert response.status_code == 413


def test_path_traversal_in_a_file_name_is_refused_and_nothing_is_kept(client, settings):
    response = upload(client, "tiny", {"notes.md": "# Notes\n\nA fine lesson.\n",
                                       "../../../evil.md": "# Evil\n\nOnly a lesson, really.\n"})
    assert response.status_code == 422
    assert "'../../../evil.md'" in response.json()["detail"]
    assert "leaves its folder" in response.json()["detail"]
    assert not list(settings.data_dir.rglob("evil.md"))
    assert not list(settings.data_dir.rglob("notes.md"))  # none of the upload is kept
    assert not (settings.data_dir.parent / "evil.md").exists()


def test_a_folder_prefix_in_a_file_name_is_dropped(client, settings):
    response = upload(client, "tiny", {"week1/intro.md": "# Intro\n\nWelcome.\n",
                                       "week1\\win.txt": "Backslashes too.\n"})
    assert response.status_code == 202, response.text
    assert sorted(response.json()["files"]) == ["intro.md", "win.txt"]
    done = wait_for_job(client, response.json()["id"])
    assert sorted(done["report"]["added"]) == ["intro.md", "win.txt"]
    folder = settings.data_dir / "sources" / "tiny"
    assert (folder / "intro.md").is_file() and (folder / "win.txt").is_file()


@pytest.mark.parametrize(("name", "data", "problem"), [
    ("x.pdf", b"not a pdf", "not a PDF"),
    ("deck.pptx", b"%PDF-1.4 a pdf in disguise", "not a zip package"),
    ("nb.ipynb", b"print('hello')", "a notebook is a JSON object"),
    ("notes.md", b"\x7fELF\x02\x01\x01\x00\x00\x00", "NUL bytes"),
    ("empty.txt", b"   \n", "is empty"),
])
def test_a_file_that_is_not_its_type_is_refused_at_upload(client, settings, name, data,
                                                          problem):
    response = upload(client, "tiny", {name: data})
    assert response.status_code == 422, response.text
    assert problem in response.json()["detail"] and repr(name) in response.json()["detail"]
    assert not list((settings.data_dir / "sources").rglob(name))


def test_a_broken_pdf_is_skipped_with_its_reason_and_the_previous_version_keeps_serving(
        client, settings, tmp_path):
    good = make_pdf(tmp_path / "handout.pdf", "The quokkaphant theorem bounds the gradient.")
    first = wait_for_job(client, upload(client, "tiny", {"handout.pdf": good}).json()["id"])
    assert first["report"]["added"] == ["handout.pdf"]
    assert top_source(client, "quokkaphant theorem") == "handout.pdf"

    broken = upload(client, "tiny", {"handout.pdf": b"%PDF-1.4 garbage"}).json()
    done = wait_for_job(client, broken["id"])
    assert done["status"] == "done"
    assert "PDF" in done["report"]["skipped"]["handout.pdf"]
    assert done["report"]["kept_previous"] == ["handout.pdf"]
    assert top_source(client, "quokkaphant theorem") == "handout.pdf"
    kept = settings.data_dir / "sources" / "tiny" / "handout.pdf"
    assert "quokkaphant" in PdfReader(kept).pages[0].extract_text()


def test_a_new_course_whose_only_file_is_unreadable_reports_why(client):
    done = wait_for_job(client, upload(client, "empty", {"x.pdf": b"%PDF-1.4\ncut short"}).json()[
        "id"])
    assert done["status"] == "done" and done["report"]["added"] == []
    assert "PDF" in done["report"]["skipped"]["x.pdf"]
    assert "empty" not in {c["id"] for c in client.get("/v1/courses").json()["courses"]}


def test_a_bad_course_id_is_a_422(client):
    response = upload(client, "Not A Course", {"a.md": "# A\n\ntext\n"})
    assert response.status_code == 422 and "course id" in response.json()["detail"]


def test_an_unknown_job_is_a_404(client):
    assert client.get("/v1/ingest-jobs/000000000000", headers=ADMIN).status_code == 404


def test_an_upload_that_grows_a_course_by_more_than_a_quarter_refits_its_gate(
        client, settings, catalog):
    from generator.gate import GateFit, save_fit

    fitted_at = catalog.current_version("tiny")  # the fit remembers the course's size
    chunks = len(read_chunks(fitted_at, "tiny"))
    save_fit(catalog.course_dir("tiny"), GateFit(
        min_confidence=0.3, judge_below=0.5, rescue_above=None, answerable=30, out_of_course=6,
        answerable_refused=0, out_of_course_refused=0, out_of_course_checked=0,
        chunks=chunks, dataset=str(settings.data_dir / "gone.jsonl")))
    job = wait_for_job(client, upload(client, "tiny", {"attention.md": ATTENTION}).json()["id"])
    assert job["status"] == "done" and job["report"]["added"] == ["attention.md"]
    # the set it was fitted on is gone: the job says so, and how to refit
    assert f"fitted at {chunks} chunks and could not be refitted" in job["report"]["after"]
    assert "studyhall eval gate --course tiny --fit" in job["report"]["after"]


def test_where_kv_reuse_is_on_an_upload_queues_the_new_version_s_warm_up(
        settings, catalog, fake_embedder, ingestor, course_dir):
    ingestor.ingest(course_dir, "tiny")
    reusing = settings.model_copy(update={
        "server": ServerSettings(warm_up=False, admin_token=ADMIN_TOKEN),
        "generator": settings.generator.model_copy(update={"kv_reuse": True})})
    services = build_services(reusing, search=SearchService(reusing, embedder=fake_embedder,
                                                            catalog=catalog),
                              generator=ScriptedGenerator(lambda m: ""))
    client = TestClient(create_app(services=services))
    job = wait_for_job(client, upload(client, "tiny", {"attention.md": ATTENTION}).json()["id"])
    assert job["status"] == "done" and "no KV warm-up" in job["report"]["after"]  # no set yet
    own = reusing.data_dir / "evals" / "tiny" / "questions.jsonl"
    own.parent.mkdir(parents=True, exist_ok=True)
    own.write_text('{"id": "q1", "course": "tiny", "question": "what is attention", '
                   '"answerable": false}\n')
    again = wait_for_job(client, upload(client, "tiny", {"more.md": ATTENTION + "\nMore.\n"})
                         .json()["id"])
    assert "KV warm-up queued as eval job" in again["report"]["after"]
    warm_id = again["report"]["after"].rsplit(" ", 1)[-1]
    warm = services.evals.wait(warm_id)
    # the scripted model cannot warm: the job says so (the real one is tests/eval/test_jobs)
    assert warm["kind"] == "warm" and warm["course"] == "tiny"
    assert warm["status"] == "failed" and "llama_cpp backend" in warm["error"]


def test_the_answer_cache_s_hit_rate_is_shown_to_instructors_of_the_course(client, app):
    route = "/v1/courses/tiny/answer-cache"
    assert client.get(route).status_code == 401
    assert client.get(route, headers=lti_headers(app, role="learner")).status_code == 403
    assert client.get("/v1/courses/nope/answer-cache", headers=ADMIN).status_code == 404
    answers = app.state.services.answers
    index = answers.search.index("tiny")
    for _ in range(3):  # asked three times, found none: the model answers (not stored here)
        answers.cache.get(index, "g", "what is a VAE")
    body = client.get(route, headers=lti_headers(app)).json()
    assert body == {"course": "tiny", "enabled": True, "hits": 0, "misses": 3,
                    "hit_rate": 0.0, "entries": 0}
