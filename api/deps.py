"""Dependencies the routes declare with ``Annotated[X, Depends(...)]``; each reads the
app's :class:`~studyhall.services.Services` (tests swap one with
``app.dependency_overrides``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from demos.registry import DemoRunner
from eval.jobs import EvalJobs
from generator.answer import AnswerService
from ingest.jobs import IngestJobs
from retriever.service import SearchService
from studyhall.core.settings import Settings
from studyhall.services import Services


def get_services(request: Request) -> Services:
    return request.app.state.services


def get_settings(request: Request) -> Settings:
    return request.app.state.services.settings


def get_search_service(request: Request) -> SearchService:
    return get_services(request).search


def get_answer_service(request: Request) -> AnswerService:
    """The answer service, built on first use (building resolves the model file)."""
    return get_services(request).answers


def get_demo_runner(request: Request) -> DemoRunner:
    return get_services(request).demos


def get_eval_jobs(request: Request) -> EvalJobs:
    return get_services(request).evals


def get_ingest_jobs(request: Request) -> IngestJobs:
    return get_services(request).ingest_jobs


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SearchServiceDep = Annotated[SearchService, Depends(get_search_service)]
AnswerServiceDep = Annotated[AnswerService, Depends(get_answer_service)]
DemoRunnerDep = Annotated[DemoRunner, Depends(get_demo_runner)]
EvalJobsDep = Annotated[EvalJobs, Depends(get_eval_jobs)]
IngestJobsDep = Annotated[IngestJobs, Depends(get_ingest_jobs)]
