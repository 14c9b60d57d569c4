from __future__ import annotations

from fastapi import APIRouter

from api.deps import SearchServiceDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(service: SearchServiceDep) -> dict:
    """Liveness plus what is being served."""
    return {
        "status": "ok",
        "courses": service.catalog.course_ids(),
        "embedder": service.embedder.name,
    }
