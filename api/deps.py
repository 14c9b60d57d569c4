"""Dependencies the routes declare with ``Annotated[X, Depends(...)]``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from demos.registry import DemoRunner
from eval.jobs import EvalJobs
from generator.answer import AnswerService
from retriever.service import SearchService


def get_search_service(request: Request) -> SearchService:
    return request.app.state.search


SearchServiceDep = Annotated[SearchService, Depends(get_search_service)]


def get_answer_service(request: Request) -> AnswerService:
    """The answer service, built on first use (building resolves the model file)."""
    return request.app.state.answers()


AnswerServiceDep = Annotated[AnswerService, Depends(get_answer_service)]


def get_demo_runner(request: Request) -> DemoRunner:
    return request.app.state.demos


DemoRunnerDep = Annotated[DemoRunner, Depends(get_demo_runner)]


def get_eval_jobs(request: Request) -> EvalJobs:
    return request.app.state.evals


EvalJobsDep = Annotated[EvalJobs, Depends(get_eval_jobs)]
