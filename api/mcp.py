"""studyhall as an MCP server (the official ``mcp`` SDK, major version 2).

Tools: ``search_course`` (passages with their citation locations), ``ask_course`` (a
grounded answer with citations, or "not covered") and one ``demo_<name>`` per demo,
whose arguments are the demo's parameters and whose result carries the numbers, the
explanation and the figures as PNG images. Served over stdio by ``studyhall mcp`` and
over streamable HTTP at ``/mcp`` by ``studyhall serve``.

The tools read the services from ``state`` (the FastAPI app's state, or a namespace the
CLI builds) when they are called, so nothing heavy loads before a tool is used.
"""

from __future__ import annotations

import base64
import inspect
import json
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, ImageContent, TextContent
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from demos.chat import demo_text, figure_url
from demos.registry import DemoRunner, InvalidParameters
from retriever.base import hit_to_dict

INSTRUCTIONS = (
    "Course assistant. Use search_course to find course passages (cite their location), "
    "ask_course for a grounded answer with citations, demo_* to train a small model from "
    "the course on the CPU and get its numbers and figures."
)


def build_mcp(state: Any) -> MCPServer:
    """An MCP server over ``state.search`` (SearchService), ``state.answers()`` (the
    AnswerService, built on first use) and ``state.demos`` (DemoRunner)."""
    server = MCPServer("studyhall", instructions=INSTRUCTIONS)

    @server.tool()
    async def search_course(
        query: Annotated[str, Field(description="What to look for, in plain words.")],
        course: Annotated[str, Field(description="Course id, e.g. genai-basics.")],
        k: Annotated[int, Field(ge=1, le=20, description="Passages to return.")] = 5,
    ) -> list[dict[str, Any]]:
        """Search a course; each passage comes with its location (lesson, section, page,
        slide or cell) to cite."""
        hits = await run_in_threadpool(state.search.search, query, course, k)
        return [hit_to_dict(hit) for hit in hits]

    @server.tool()
    async def ask_course(
        question: Annotated[str, Field(description="The student's question.")],
        course: Annotated[str, Field(description="Course id, e.g. genai-basics.")],
    ) -> dict[str, Any]:
        """Answer from the course with numbered citations, or say the course does not
        cover it (with the closest lessons)."""
        answer = await run_in_threadpool(lambda: state.answers().ask(question, course))
        return answer.to_dict()

    runner: DemoRunner = state.demos
    for name in runner.tools:
        server.add_tool(_demo_function(runner, name), name=f"demo_{name}",
                        description=runner.tool(name).description
                        + " Trains from scratch on the CPU; returns numbers and figures.")
    return server


def _demo_function(runner: DemoRunner, name: str):
    """A function whose signature is the demo's parameters, for the SDK to read."""
    tool = runner.tool(name)
    fields = tool.config_type.__pydantic_fields__

    async def run_demo(**params) -> CallToolResult:
        try:
            run = await run_in_threadpool(lambda: runner.run(name, params))
        except InvalidParameters as exc:
            raise ToolError(str(exc)) from None
        content: list = [TextContent(type="text", text=demo_text(run, cited=False))]
        content += [ImageContent(type="image", mime_type="image/png",
                                 data=base64.b64encode(f.png).decode())
                    for f in run.result.figures]
        data = json.loads(json.dumps(run.to_dict(figure_url)))
        return CallToolResult(content=content, structured_content=data)

    parameters = [
        inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=info.default,
                          annotation=Annotated[info.annotation, info])
        for key, info in fields.items()
    ]
    run_demo.__signature__ = inspect.Signature(parameters, return_annotation=CallToolResult)
    run_demo.__annotations__ = {p.name: p.annotation for p in parameters} | {
        "return": CallToolResult}
    run_demo.__name__ = f"demo_{name}"
    return run_demo
