"""Dependencies the routes declare with ``Annotated[X, Depends(...)]``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from generator.answer import AnswerService
from retriever.service import SearchService
from studyhall.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_search_service(request: Request) -> SearchService:
    return request.app.state.search


SettingsDep = Annotated[Settings, Depends(get_settings)]
SearchServiceDep = Annotated[SearchService, Depends(get_search_service)]


def get_answer_service(request: Request):
    """The answer service, built on first use (building resolves the model file)."""
    return request.app.state.answers()


AnswerServiceDep = Annotated[AnswerService, Depends(get_answer_service)]
