"""Ranked passages of a course for a question."""

from __future__ import annotations

import time

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.access import AccessDep, CallerDep, LimitsDep, require_reader
from api.deps import SearchServiceDep
from api.schemas import HitOut, SearchResponse, Text, errors
from studyhall.core.settings import RetrievalMode

router = APIRouter(prefix="/v1", tags=["search"])


class SearchBody(BaseModel):
    query: Text = Field(description="The question, in plain words.")
    course: Text = Field(description="Course id, see GET /v1/courses.")
    k: int | None = Field(None, description="Passages to return (1 … the server's max_k).")
    mode: RetrievalMode | None = Field(
        None, description="Retrieval mode; the server's default when omitted."
    )
    mmr: bool = Field(False, description="Re-rank for diversity (maximal marginal relevance).")
    documents: list[Text] = Field(default_factory=list, max_length=100,
                                  description="Only these source files.")
    lessons: list[Text] = Field(default_factory=list, max_length=100,
                                description="Only these lessons.")


@router.post("/search", response_model=SearchResponse,
             responses=errors(400, 401, 403, 404, 409, 413, 422, 429, 503))
def search(body: SearchBody, service: SearchServiceDep, caller: CallerDep, access: AccessDep,
           limits: LimitsDep) -> SearchResponse:
    """Passages of a course ranked for a question, each with its citation anchor."""
    started = time.perf_counter()
    require_reader(caller, access, service.catalog, body.course)
    limits.hit("search", caller)
    request = service.validate(
        body.query, body.course, body.k, body.mode, body.mmr, body.documents, body.lessons
    )
    hits = service.run(request)
    return SearchResponse(
        course=request.course, query=request.query, mode=request.mode, mmr=request.mmr,
        k=request.k, hits=[HitOut.from_hit(hit) for hit in hits],
        took_ms=round((time.perf_counter() - started) * 1000, 2),
    )
