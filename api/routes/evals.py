"""Eval jobs over HTTP: start one, follow its progress, read its report."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from api.access import CallerDep
from api.access.callers import HOW_TO_SIGN_IN
from api.deps import EvalJobsDep
from api.schemas import EvalJobList, EvalJobOut, Text, errors
from eval.jobs import Kind
from retriever.service import CONFIGS
from studyhall.core.errors import InvalidRequest, Unauthorized

router = APIRouter(prefix="/v1/evals", tags=["evals"])

MEDIA = {"html": "text/html; charset=utf-8", "md": "text/markdown; charset=utf-8",
         "json": "application/json"}


class EvalBody(BaseModel):
    course: Text = Field(description="Course id, see GET /v1/courses.")
    kind: Kind = Field(
        description="retrieval: seconds, no model; answers: every question through the model; "
                    "draft: a question set drafted from the course's passages, for review "
                    "(its report lists them); warm: the KV cache of the sources the questions "
                    "retrieve, for generator.kv_reuse.")
    limit: int | None = Field(None, ge=1, le=10000, description=(
        "Only the first N questions; for draft, the passages to draft from (default 20, at "
        "most 500)."))
    configs: list[Literal[CONFIGS]] | None = Field(  # type: ignore[valid-type]
        None, min_length=1, description="Retrieval configurations to compare.")


@router.post("", status_code=202, response_model=EvalJobOut,
             responses=errors(400, 401, 403, 404, 413, 422, 503))
def start_eval(body: EvalBody, jobs: EvalJobsDep, caller: CallerDep) -> EvalJobOut:
    """Queue an eval of a course on its question set, a question set's draft or a KV
    warm-up; poll ``GET /v1/evals/{id}``. Needs an LTI instructor session of the course or
    the admin token."""
    caller.require_instructor(body.course)
    return EvalJobOut.from_job(
        jobs.start(body.course, body.kind, limit=body.limit, configs=body.configs))


@router.get("", response_model=EvalJobList, responses=errors(401, 403, 422))
def list_evals(jobs: EvalJobsDep, caller: CallerDep, course: str | None = None) -> EvalJobList:
    """The eval jobs of a course, newest first. An instructor sees their course's (the
    course parameter may be left out); the admin token sees every course's."""
    if course is None and not caller.admin:
        course = caller.home_course
        if course is None and caller.grants.anonymous:
            raise Unauthorized(f"eval jobs are for instructors: {HOW_TO_SIGN_IN}")
        if course is None:
            raise InvalidRequest("course", "name the course: GET /v1/evals?course=ID")
    if course is not None:
        caller.require_instructor(course)
    return EvalJobList(jobs=[EvalJobOut.from_job(job) for job in jobs.list(course)])


@router.get("/{job_id}", response_model=EvalJobOut, responses=errors(401, 403, 404))
def get_eval(job_id: str, jobs: EvalJobsDep, caller: CallerDep) -> EvalJobOut:
    """Status (queued, running, done, failed, interrupted), progress, headline numbers and,
    when done, the report's URLs. For the course's instructors and the admin."""
    job = jobs.get(job_id)
    caller.require_instructor(job["course"])
    return EvalJobOut.from_job(job)


@router.get("/{job_id}/report.{kind}", response_class=FileResponse, responses={200: {
    "content": {media: {} for media in MEDIA.values()}}, **errors(401, 403, 404, 422)})
def get_report(job_id: str, kind: Literal["html", "md", "json"], jobs: EvalJobsDep,
               caller: CallerDep):
    """The report (it lists questions and the answers given): for the course's
    instructors and the admin; a browser link carries the LTI session as ``?lti=``."""
    caller.require_instructor(jobs.get(job_id)["course"])
    path = jobs.report_file(job_id, f"report.{kind}")
    if path is None:
        raise HTTPException(404, f"eval job {job_id!r} has no report yet")
    return FileResponse(path, media_type=MEDIA[kind])
