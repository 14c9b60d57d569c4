"""Liveness."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SearchServiceDep
from api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz(service: SearchServiceDep) -> Health:
    """Liveness plus what is being served."""
    return Health(status="ok", courses=service.catalog.course_ids(),
                  embedder=service.embedder.name)
