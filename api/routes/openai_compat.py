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
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from api.access import (
    AccessDep,
    ClientCallerDep,
    LimitsDep,
    readable_courses,
    require_reader,
)
from api.deps import AnswerServiceDep, SearchServiceDep, SettingsDep
from api.schemas import (
    AssistantMessage,
    ChatCompletion,
    Choice,
    ModelCard,
    ModelList,
    SourcesOut,
    StudyhallExtra,
    Text,
    errors,
)
from api.streaming import run_turn, stream_error, turn_events
from studyhall.core.errors import InvalidRequest, TooLarge
from studyhall.core.settings import AnswerSettings

router = APIRouter(prefix="/v1", tags=["openai-compatible"])
PREFIX = "studyhall/"


class TextPart(BaseModel):
    """A content part; a course assistant reads text only (an image part is a 422)."""

    type: Literal["text"]
    text: Text


class OpenAIMessage(BaseModel):
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: Text | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(part.text for part in self.content)
        return self.content or ""


class ChatCompletionBody(BaseModel):
    model: Text = Field(description="studyhall/<course id>")
    messages: list[OpenAIMessage] = Field(min_length=1, max_length=200)
    stream: bool = False
    # Accepted for compatibility; studyhall answers greedily with its own length cap.
    temperature: float | None = None
    max_tokens: int | None = None
    user: Text | None = None


@router.get("/models", response_model=ModelList, responses=errors(401))
def models(search: SearchServiceDep, caller: ClientCallerDep, access: AccessDep) -> ModelList:
    """Each course the caller may read is a model: ``studyhall/<course id>``."""
    readable = readable_courses(caller, access, search.catalog.course_ids())
    return ModelList(data=[ModelCard(id=PREFIX + course) for course in readable])


def _parse(body: ChatCompletionBody, limits: AnswerSettings
           ) -> tuple[str, str, list[tuple[str, str]]]:
    """The course, the question and the conversation before it; every message, and the
    whole history, within their limits (413 naming the message otherwise)."""
    if not body.model.startswith(PREFIX):
        raise InvalidRequest("model", f"model must be 'studyhall/<course id>', got {body.model!r}")
    total = 0
    for n, message in enumerate(body.messages):
        size = len(message.text())
        total += size
        if size > limits.max_message_chars:
            raise TooLarge(f"messages[{n}] is {size:,} characters; the limit is "
                           f"{limits.max_message_chars:,} a message")
    if total > limits.max_history_chars:
        raise TooLarge(f"the messages are {total:,} characters together; the limit is "
                       f"{limits.max_history_chars:,}")
    turns = [(m.role, m.text()) for m in body.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1][0] != "user":
        raise InvalidRequest("messages", "messages must end with a user message")
    return body.model[len(PREFIX):], turns[-1][1], turns[:-1]


@router.post("/chat/completions", response_model=ChatCompletion, responses={200: {
    "content": {"text/event-stream": {}},
    "description": "The completion; with `stream: true`, `chat.completion.chunk` events "
                   "then `[DONE]`, the sources on the last chunk."},
    **errors(400, 401, 403, 404, 409, 413, 422, 429, 499, 503)})
async def chat_completions(body: ChatCompletionBody, service: AnswerServiceDep,
                           request: Request, caller: ClientCallerDep, access: AccessDep,
                           settings: SettingsDep, limits: LimitsDep):
    course, question, history = _parse(body, settings.answer)
    require_reader(caller, access, service.search.catalog, course)
    limits.hit("answers", caller)
    turn = service.prepare(question, course, history=history)
    completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    if not body.stream:
        answer = await run_turn(turn, request.is_disconnected)
        if answer is None:  # the client went away: its generation was stopped
            return Response(status_code=499)
        return ChatCompletion(
            id=completion_id, created=created, model=body.model,
            choices=[Choice(message=AssistantMessage(content=answer.text))],
            studyhall=StudyhallExtra.from_answer(answer),
        )

    def chunk(delta: dict, finish: str | None = None,
              extra: StudyhallExtra | SourcesOut | None = None) -> str:
        data = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                "model": body.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if extra is not None:
            data["studyhall"] = extra.model_dump(mode="json")
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    async def events():
        yield chunk({"role": "assistant", "content": ""})
        try:
            async for kind, payload in turn_events(turn, request.is_disconnected):
                if kind == "sources":  # before the model's first token
                    yield chunk({"content": ""}, extra=SourcesOut.from_event(payload))
                elif kind == "token":
                    yield chunk({"content": payload})
                else:
                    yield chunk({}, "stop", StudyhallExtra.from_answer(payload))
        except Exception as exc:  # the 200 is sent: report in-band, as OpenAI's API does
            yield f"data: {json.dumps({'error': stream_error(exc)}, ensure_ascii=False)}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})
