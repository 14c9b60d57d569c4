"""OpenAI-compatible chat: any OpenAI client can talk to a course.

``model`` names the course: ``studyhall/genai-basics``. The last user message is the
question and earlier messages are the conversation (stateless, as in the OpenAI API).
Sources ride along in an extra top-level field ``studyhall`` (citations with anchors,
``refused``, suggestions, and ``demo`` when the message ran a demo), on the response or on
the final stream chunk.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.access import AccessDep, ClientCallerDep, readable_courses, require_reader
from api.deps import AnswerServiceDep, SearchServiceDep
from api.schemas import (
    AssistantMessage,
    ChatCompletion,
    Choice,
    ModelCard,
    ModelList,
    StudyhallExtra,
)
from api.streaming import turn_events
from studyhall.core.errors import InvalidRequest

router = APIRouter(prefix="/v1", tags=["openai-compatible"])
PREFIX = "studyhall/"


class OpenAIMessage(BaseModel):
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[dict] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return " ".join(p.get("text", "") for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatCompletionBody(BaseModel):
    model: str = Field(description="studyhall/<course id>")
    messages: list[OpenAIMessage]
    stream: bool = False
    # Accepted for compatibility; studyhall answers greedily with its own length cap.
    temperature: float | None = None
    max_tokens: int | None = None
    user: str | None = None


@router.get("/models", response_model=ModelList)
def models(search: SearchServiceDep, caller: ClientCallerDep, access: AccessDep) -> ModelList:
    """Each course the caller may read is a model: ``studyhall/<course id>``."""
    readable = readable_courses(caller, access, search.catalog.course_ids())
    return ModelList(data=[ModelCard(id=PREFIX + course) for course in readable])


def _parse(body: ChatCompletionBody) -> tuple[str, str, list[tuple[str, str]]]:
    if not body.model.startswith(PREFIX):
        raise InvalidRequest("model", f"model must be 'studyhall/<course id>', got {body.model!r}")
    turns = [(m.role, m.text()) for m in body.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1][0] != "user":
        raise InvalidRequest("messages", "messages must end with a user message")
    return body.model[len(PREFIX):], turns[-1][1], turns[:-1]


@router.post("/chat/completions", response_model=ChatCompletion, responses={200: {
    "content": {"text/event-stream": {}},
    "description": "The completion; with `stream: true`, `chat.completion.chunk` events "
                   "then `[DONE]`, the sources on the last chunk."}})
async def chat_completions(body: ChatCompletionBody, service: AnswerServiceDep,
                           request: Request, caller: ClientCallerDep, access: AccessDep):
    course, question, history = _parse(body)
    require_reader(caller, access, service.search.catalog, course)
    turn = service.prepare(question, course, history=history)
    completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    if not body.stream:
        answer = await run_in_threadpool(turn.run)
        return ChatCompletion(
            id=completion_id, created=created, model=body.model,
            choices=[Choice(message=AssistantMessage(content=answer.text))],
            studyhall=StudyhallExtra.from_answer(answer),
        )

    def chunk(delta: dict, finish: str | None = None,
              extra: StudyhallExtra | None = None) -> str:
        data = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                "model": body.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if extra is not None:
            data["studyhall"] = extra.model_dump(mode="json")
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    async def events():
        yield chunk({"role": "assistant", "content": ""})
        async for kind, payload in turn_events(turn, request.is_disconnected):
            if kind == "token":
                yield chunk({"content": payload})
            else:
                yield chunk({}, "stop", StudyhallExtra.from_answer(payload))
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})
