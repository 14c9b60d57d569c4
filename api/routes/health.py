"""Liveness."""

from __future__ import annotations

from fastapi import APIRouter

from api.access import AccessDep, CallerDep, readable_courses
from api.deps import SearchServiceDep, ServicesDep
from api.schemas import Health, ModelServer, errors

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, responses=errors(401))
def healthz(search: SearchServiceDep, services: ServicesDep, caller: CallerDep,
            access: AccessDep) -> Health:
    """Liveness, and the courses served that the caller may read; for the admin, with the
    openai backend, each model server's load and health as this replica sees them."""
    servers = None
    if caller.admin and services.settings.generator.backend == "openai":
        servers = [ModelServer(**s) for s in services.answers.generator.servers()]
    return Health(status="ok", embedder=search.embedder.name, model_servers=servers,
                  courses=readable_courses(caller, access, search.catalog.course_ids()))
