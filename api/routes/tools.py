"""The demos as tools over HTTP: list them with their parameter schemas, run one, fetch a
kept run and its figures (PNG)."""

from __future__ import annotations

import asyncio
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from api.access import ClientCallerDep, LimitsDep
from api.deps import DemoRunnerDep
from api.schemas import DemoRunOut, ToolList, ToolOut, errors
from demos.registry import run_id

router = APIRouter(prefix="/v1/tools", tags=["tools"])


@router.get("", response_model=ToolList)
def list_tools(runner: DemoRunnerDep) -> ToolList:
    """Every demo: name, description, the lesson it illustrates, parameters as JSON Schema."""
    return ToolList(tools=[
        ToolOut(name=t.name, description=t.description, lesson=t.lesson,
                parameters=t.schema(), timeout_s=runner.timeout_s)
        for t in runner.tools.values()
    ])


@router.post("/{name}", response_model=DemoRunOut,
             responses=errors(400, 401, 404, 413, 422, 429, 499, 503, 504))
async def run_tool(name: str, runner: DemoRunnerDep, request: Request, caller: ClientCallerDep,
                   limits: LimitsDep,
                   params: Annotated[dict[str, Any] | None, Body()] = None) -> DemoRunOut:
    """Run a demo (or return the kept run for the same parameters): metrics, explanation,
    lesson and figure URLs. A client that disconnects cancels the run."""
    runner.tool(name).parse(params)  # 404 / 422 before any work
    if runner.load(run_id(name, runner.tool(name).parse(params))) is None:
        limits.hit("demos", caller)  # a kept run costs nothing
    stop = threading.Event()
    task = asyncio.ensure_future(
        run_in_threadpool(lambda: runner.run(name, params, cancel=stop.is_set)))
    while not task.done():
        await asyncio.wait({task}, timeout=0.25)
        if not task.done() and await request.is_disconnected():
            stop.set()
    return DemoRunOut.from_run(task.result())


@router.get("/runs/{run_id}", response_model=DemoRunOut, responses=errors(404, 422))
def get_run(run_id: str, runner: DemoRunnerDep) -> DemoRunOut:
    run = runner.load(run_id)
    if run is None:
        raise HTTPException(404, f"no kept run {run_id!r}")
    return DemoRunOut.from_run(run)


@router.get("/runs/{run_id}/figures/{name}.png", response_class=FileResponse,
            responses={200: {"content": {"image/png": {}}}, **errors(404)})
def get_figure(run_id: str, name: str, runner: DemoRunnerDep) -> FileResponse:
    path = runner.figure_path(run_id, name)
    if path is None:
        raise HTTPException(404, f"no figure {name!r} in run {run_id!r}")
    return FileResponse(path, media_type="image/png",
                        headers={"Cache-Control": "public, max-age=86400, immutable"})
