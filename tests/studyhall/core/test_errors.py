"""Every kind of error has one HTTP status and one exit status, and the HTTP body names the
problem in the shape a client expects."""

import json
from typing import get_args

from api.errors import STATUS, error_response
from demos.registry import InvalidParameters, UnknownTool
from ingest.catalog import UnknownCourse
from studyhall.cli.common import EXIT, FAILURE, USAGE
from studyhall.core.errors import Busy, InvalidRequest, Kind, QueryTooLong, StudyhallError


def body(exc: StudyhallError) -> tuple[int, dict, dict]:
    response = error_response(exc)
    return response.status_code, json.loads(response.body), dict(response.headers)


def test_each_kind_maps_to_one_http_status_and_one_exit_status():
    kinds = set(get_args(Kind))
    assert set(STATUS) == kinds and set(EXIT) == kinds
    # what the caller can fix: the 4xx kinds, less a conflict with what is on disk (409), a
    # rate limit (429: wait, do not change anything) and a caller that went away (499), which
    # the command line counts as failures
    assert {k for k, code in EXIT.items() if code == USAGE} == {
        k for k, status in STATUS.items()
        if 400 <= status < 500 and status not in (409, 429, 499)}
    assert EXIT["unavailable"] == FAILURE and STATUS["unavailable"] == 503


def test_a_field_error_answers_in_fastapis_422_shape():
    status, detail, _ = body(InvalidRequest("k", "k must be between 1 and 50, got 0"))
    assert status == 422
    assert detail == {"detail": [{"loc": ["body", "k"], "msg": "k must be between 1 and 50, got 0",
                                  "type": "value_error"}]}


def test_other_errors_answer_with_their_message_extra_keys_and_headers():
    status, detail, _ = body(UnknownCourse("nope", ["genai-basics"]))
    assert (status, detail) == (404, {"detail": "unknown course 'nope'; known courses: "
                                                "genai-basics", "known_courses": ["genai-basics"]})
    assert body(QueryTooLong("query", "too long"))[:2] == (413, {"detail": "too long"})
    status, _, headers = body(Busy(7))
    assert status == 503 and headers["retry-after"] == "7"
    assert body(UnknownTool("resnet", ["gan"]))[1]["known_tools"] == ["gan"]


def test_every_bad_parameter_of_a_demo_is_listed():
    exc = InvalidParameters("gan", [{"field": "steps", "message": "steps must be ≥ 1"},
                                    {"field": "seed", "message": "seed must be ≥ 0"}])
    status, detail, _ = body(exc)
    assert status == 422 and [d["loc"] for d in detail["detail"]] == [["body", "steps"],
                                                                      ["body", "seed"]]
