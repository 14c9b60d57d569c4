"""Bad input against a real `studyhall serve`: each is a 4xx whose message names the
problem, the server keeps serving, and the course is as it was.

Questions empty, blank, huge, NUL-laden, with a lone surrogate or not UTF-8; bodies that are
not JSON or nested 100 000 deep; k out of range; an unknown course; another caller's
session; path traversal in every path parameter the OpenAPI names (and the static files);
uploads that are corrupt, disguised, encrypted, a zip bomb, oversized, or named ../x.md."""

from __future__ import annotations

import io
import re
import time
import urllib.parse
import zipfile

import httpx
import pytest

from tests.api.served import ADMIN, served

pytestmark = pytest.mark.slow

MAX_UPLOAD = 2_000_000


@pytest.fixture(scope="module")
def base(tmp_path_factory, models_dir):
    root = tmp_path_factory.mktemp("bad-input")
    with served(root, models_dir, SERVER__MAX_UPLOAD_BYTES=str(MAX_UPLOAD),
                ACCESS__ANSWERS_RATE="100000/minute",
                ACCESS__SEARCH_RATE="100000/minute") as url:
        yield url


@pytest.fixture(autouse=True)
def still_serving(base):
    """After each case: the server answers, and the course still finds its passage."""
    yield
    response = httpx.post(f"{base}/v1/search", json={"query": "mode collapse", "course": "tiny"})
    assert response.status_code == 200 and response.json()["hits"][0]["source"] == "gans.md"


def detail(response: httpx.Response) -> str:
    """The error message, whether plain or FastAPI's list of field errors."""
    body = response.json()["detail"]
    return body if isinstance(body, str) else " ".join(
        f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in body)


def ask(base: str, question, **extra) -> httpx.Response:
    return httpx.post(f"{base}/v1/ask", json={"question": question, "course": "tiny", **extra},
                      timeout=120)


@pytest.mark.parametrize(("question", "status", "named"), [
    ("", 422, r"question.*empty|empty.*question"),
    ("   \n\t ", 422, r"question.*empty|empty.*question"),
    ("what is\x00 a GAN?", 422, r"NUL"),
    ("x" * 20_000, 413, r"question.*(long|characters)|characters"),
    (None, 422, r"question"),
    (42, 422, r"question"),
])
def test_a_bad_question_is_refused_naming_the_problem(base, question, status, named):
    response = ask(base, question)
    assert response.status_code == status, response.text
    assert re.search(named, detail(response), re.IGNORECASE), detail(response)


def test_a_five_megabyte_question_is_refused_before_it_is_read(base):
    response = ask(base, "why? " * 1_000_000)
    assert response.status_code == 413
    assert re.search(r"limit|bytes|too large", detail(response), re.IGNORECASE)


def test_a_lone_surrogate_is_refused(base):
    body = b'{"question": "what is \\ud800 here?", "course": "tiny"}'
    response = httpx.post(f"{base}/v1/ask", content=body,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and "surrogate" in detail(response).lower()


@pytest.mark.parametrize(("body", "named"), [
    (b'{"question": "\xff\xfe what", "course": "tiny"}', r"UTF-8|JSON|decode"),
    (b'{"question": "unfinished', r"JSON"),
    (b"question=what+is+a+gan", r"JSON"),
    (b"[" * 100_000 + b"]" * 100_000, r"JSON|nest|deep|limit"),
    (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, r"JSON|nest|deep|limit"),
])
def test_a_body_that_is_not_usable_json_is_a_4xx(base, body, named):
    for route in ("/v1/ask", "/v1/search", "/v1/chat/completions"):
        response = httpx.post(f"{base}{route}", content=body, timeout=60,
                              headers={"Content-Type": "application/json"})
        assert 400 <= response.status_code < 500, (route, response.status_code, response.text)
        assert re.search(named, detail(response), re.IGNORECASE), (route, detail(response))


@pytest.mark.parametrize("k", [0, -1, 10_000, "many", 1.5])
def test_k_out_of_range_is_a_422_naming_k(base, k):
    response = httpx.post(f"{base}/v1/search", json={"query": "mode collapse", "course": "tiny",
                                                     "k": k})
    assert response.status_code == 422, response.text
    assert "k" in [e["loc"][-1] for e in response.json()["detail"]]


def test_an_unknown_course_is_a_404_listing_the_known_ones(base):
    response = httpx.post(f"{base}/v1/search", json={"query": "gan", "course": "no-such"},
                          headers=ADMIN)
    assert response.status_code == 404
    assert "no-such" in detail(response) and response.json()["known_courses"] == ["tiny"]


def test_a_bad_course_id_is_a_422_naming_it(base):
    response = httpx.post(f"{base}/v1/search", json={"query": "gan", "course": "../etc"},
                          headers=ADMIN)
    assert response.status_code in (404, 422) and "../etc" in detail(response)


def test_another_callers_session_cannot_be_continued(base):
    first = ask(base, "What does the discriminator do?", session_id=None)
    assert first.status_code == 200, first.text
    session = first.json()["session_id"]
    # a different caller (the admin) names that session: it is not theirs
    response = httpx.post(f"{base}/v1/ask", headers=ADMIN, timeout=120, json={
        "question": "And the generator?", "course": "tiny", "session_id": session})
    assert response.status_code in (403, 404), response.text
    assert "session" in detail(response).lower()
    assert "discriminator" not in response.text.lower()


TRAVERSALS = ["../../../../etc/passwd", "..%2F..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc",
              "..\\..\\windows\\win.ini", "%00", "a" * 5000]


def test_path_traversal_in_every_path_parameter_is_a_4xx(base):
    spec = httpx.get(f"{base}/openapi.json").json()
    tried = 0
    for path, operations in spec["paths"].items():
        names = re.findall(r"\{(\w+)\}", path)
        for method in operations:
            for name in names:
                for attack in TRAVERSALS:
                    value = attack if "%" in attack else urllib.parse.quote(attack, safe="")
                    url = path
                    for other in names:
                        url = url.replace(f"{{{other}}}", value if other == name else "tiny")
                    kwargs = {"json": {}} if method in ("post", "put") else {}
                    response = httpx.request(method.upper(), f"{base}{url}", headers=ADMIN,
                                             timeout=60, **kwargs)
                    tried += 1
                    assert 400 <= response.status_code < 500, (method, url, response.text)
                    assert "root:" not in response.text and "[fonts]" not in response.text
    assert tried >= 90  # 15 parameters × 6 attacks
    for attack in TRAVERSALS[:3]:
        response = httpx.get(f"{base}/static/{attack}")
        assert response.status_code == 404 and "root:" not in response.text


# -- uploads ---------------------------------------------------------------------------

def upload(base: str, name: str, data: bytes) -> httpx.Response:
    return httpx.post(f"{base}/v1/courses/tiny/files", headers=ADMIN, timeout=120,
                      files=[("files", (name, data))])


def finished(base: str, job_id: str) -> dict:
    deadline = time.monotonic() + 120
    while (job := httpx.get(f"{base}/v1/ingest-jobs/{job_id}", headers=ADMIN).json())[
            "status"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    return job


def encrypted_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt(user_password="s3cret", owner_password="owner", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("ppt/slides/slide1.xml", b"\0" * (300 << 20))  # 300 MB → ~300 KB
    return out.getvalue()


@pytest.mark.parametrize(("name", "data", "status", "named"), [
    ("corrupt.pdf", b"\x89PNG\r\n\x1a\n not a pdf at all", 422, r"not a PDF"),
    ("slides.pptx", b"PK\x03\x04 a truncated zip", 422, r"zip"),
    ("bomb.pptx", zip_bomb(), 413, r"zip bomb"),
    ("big.md", b"# Big\n\n" + b"word " * 500_000, 413, r"limit"),
    ("../x.md", b"# X\n\nA lesson.\n", 422, r"'\.\./x\.md'.*leaves its folder"),
    ("/etc/cron.d/x.md", b"# X\n\nA lesson.\n", 422, r"leaves its folder"),
    ("payload.exe", b"MZ\x90\x00", 415, r"unsupported file type"),
])
def test_a_bad_upload_is_refused_naming_the_problem(base, name, data, status, named):
    response = upload(base, name, data)
    assert response.status_code == status, response.text
    assert re.search(named, detail(response), re.IGNORECASE), detail(response)


def test_an_encrypted_pdf_is_skipped_with_the_reason_and_nothing_else_changes(base):
    before = httpx.get(f"{base}/v1/courses", headers=ADMIN).json()
    response = upload(base, "locked.pdf", encrypted_pdf())
    assert response.status_code == 202, response.text
    job = finished(base, response.json()["id"])
    assert job["status"] == "done" and job["report"]["added"] == []
    assert "password" in job["report"]["skipped"]["locked.pdf"]
    assert httpx.get(f"{base}/v1/courses", headers=ADMIN).json() == before
