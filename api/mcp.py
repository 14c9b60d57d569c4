"""studyhall as an MCP server (the official ``mcp`` SDK, major version 2).

Tools: ``search_course`` (passages with their citation locations), ``ask_course`` (a
grounded answer with citations, or "not covered") and one ``demo_<name>`` per demo,
whose arguments are the demo's parameters and whose result carries the numbers, the
explanation and the figures as PNG images. Served over stdio by ``studyhall mcp`` and
over streamable HTTP at ``/mcp`` by ``studyhall serve``.

The tools use the :class:`~studyhall.services.Services` they are given (the app's, or the
ones ``studyhall mcp`` builds); nothing heavy loads before a tool is used.
"""

from __future__ import annotations

import base64
import inspect
from typing import Annotated, Any
from urllib.parse import urlparse

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import CallToolResult, ImageContent, TextContent
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from api.access import AccessStore, require_reader
from api.access.callers import resolve_caller
from api.access.ratelimit import Family, RateLimits
from api.lti import LtiService
from api.schemas import AnswerOut, DemoRunOut, HitOut
from demos.registry import DemoRunner, InvalidParameters
from studyhall.core.errors import StudyhallError
from studyhall.services import Services

INSTRUCTIONS = (
    "Course assistant. Use search_course to find course passages (cite their location), "
    "ask_course for a grounded answer with citations, demo_* to train a small model from "
    "the course on the CPU and get its numbers and figures."
)


_LOCAL = ("127.0.0.1", "localhost", "[::1]")


def transport_security(bind_host: str, public_url: str | None) -> TransportSecuritySettings:
    """DNS-rebinding protection for MCP over HTTP: the Host (and Origin) a request may carry
    are this machine's loopback names, the address the server binds (unless it binds every
    interface), and the host of ``public_url``, the address the world reaches it at."""
    hosts = list(_LOCAL)
    if bind_host not in ("0.0.0.0", "::", ""):
        hosts.append(f"[{bind_host}]" if ":" in bind_host else bind_host)
    origins = [f"http://{host}" for host in hosts]
    if public_url:
        public = urlparse(public_url)
        if public.hostname and public.netloc not in hosts:
            hosts.append(public.netloc)
            origins.append(f"{public.scheme}://{public.netloc}")
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[*hosts, *(f"{host}:*" for host in hosts)],
        allowed_origins=[*origins, *(f"{origin}:*" for origin in origins)])


def build_mcp(services: Services, access: AccessStore | None = None,
              lti: LtiService | None = None, limits: RateLimits | None = None) -> MCPServer:
    """An MCP server over the services' search, answers (built on first use) and demos.

    Over HTTP (``access`` and ``lti`` given) each call is made as the caller its headers
    name, like any route: an API key or the admin token as ``Authorization: Bearer``, or an
    LTI session. Over stdio the caller is the local operator, who owns the data directory.
    """
    server = MCPServer("studyhall", instructions=INSTRUCTIONS)

    def reader(ctx: Context, course: str, family: Family) -> None:
        """Return if the caller may read ``course`` and is within its rate, else fail the
        tool with the reason."""
        if access is None or lti is None or ctx.headers is None:
            return  # stdio: the local operator
        try:
            caller = resolve_caller(ctx.headers, "", access=access, lti=lti,
                                    admin_token=services.settings.server.admin_token,
                                    foreign="ignore")
            require_reader(caller, access, services.search.catalog, course)
            if limits is not None:
                limits.hit(family, caller)
        except StudyhallError as exc:
            raise ToolError(str(exc)) from None

    @server.tool()
    async def search_course(
        query: Annotated[str, Field(description="What to look for, in plain words.")],
        course: Annotated[str, Field(description="Course id, e.g. genai-basics.")],
        ctx: Context,
        k: Annotated[int, Field(ge=1, le=20, description="Passages to return.")] = 5,
    ) -> list[dict[str, Any]]:
        """Search a course; each passage comes with its location (lesson, section, page,
        slide or cell) to cite."""
        reader(ctx, course, "search")
        hits = await run_in_threadpool(services.search.search, query, course, k)
        return [HitOut.from_hit(hit).model_dump(mode="json") for hit in hits]

    @server.tool()
    async def ask_course(
        question: Annotated[str, Field(description="The student's question.")],
        course: Annotated[str, Field(description="Course id, e.g. genai-basics.")],
        ctx: Context,
    ) -> dict[str, Any]:
        """Answer from the course with numbered citations, or say the course does not
        cover it (with the closest lessons)."""
        reader(ctx, course, "answers")
        answer = await run_in_threadpool(lambda: services.answers.ask(question, course,
                                                                      history=[]))
        return AnswerOut.from_answer(answer).model_dump(mode="json")

    runner: DemoRunner = services.demos
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
        content: list = [TextContent(type="text", text=run.text(cited=False))]
        content += [ImageContent(type="image", mime_type="image/png",
                                 data=base64.b64encode(f.png).decode())
                    for f in run.result.figures]
        data = DemoRunOut.from_run(run).model_dump(mode="json")
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
