"""Liveness."""

from __future__ import annotations

from fastapi import APIRouter

from api.access import AccessDep, CallerDep, readable_courses
from api.deps import SearchServiceDep
from api.schemas import Health, errors

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, responses=errors(401))
def healthz(service: SearchServiceDep, caller: CallerDep, access: AccessDep) -> Health:
    """Liveness, and the courses served that the caller may read."""
    return Health(status="ok", embedder=service.embedder.name,
                  courses=readable_courses(caller, access, service.catalog.course_ids()))
