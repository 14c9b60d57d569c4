"""Grounded answers over HTTP (JSON or server-sent events), and feedback on them."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.access import AccessDep, CallerDep, require_reader
from api.deps import AnswerServiceDep, SettingsDep
from api.schemas import AnswerOut, FeedbackCreated
from api.streaming import sse, turn_events

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["answers"])


class AskBody(BaseModel):
    question: str = Field(description="The student's question.")
    course: str = Field(description="Course id, see GET /v1/courses.")
    session_id: str | None = Field(None, description="Continue a conversation.")
    stream: bool = Field(False, description="Server-sent events instead of one JSON reply.")


class FeedbackBody(BaseModel):
    message_id: int = Field(description="The answer's message_id.")
    rating: int = Field(description="1 (thumbs up) or -1 (thumbs down).")
    comment: str = Field("", max_length=4000)


@router.post("/ask", response_model=AnswerOut, responses={200: {
    "content": {"text/event-stream": {}},
    "description": "The answer; with `stream: true`, server-sent events `token` ({text}), "
                   "then `done` (the answer) or `error` ({detail})."}})
async def ask(body: AskBody, service: AnswerServiceDep, settings: SettingsDep, request: Request,
              caller: CallerDep, access: AccessDep):
    """A grounded answer with numbered citations, or a refusal when the course does not
    cover the question. With ``stream: true``: SSE events ``token`` ({"text"}) as the
    answer is generated, then ``done`` (the whole answer) or ``error``."""
    # Bad input is a 4xx and a full queue a 503 here, before any 200 is sent.
    require_reader(caller, access, service.search.catalog, body.course)
    limit = settings.embed.max_session_messages
    if (body.session_id and service.store is not None
            and service.store.questions_asked(body.session_id) >= limit):
        raise HTTPException(429, f"this conversation has reached its limit of {limit} "
                                 "questions; start a new conversation")
    turn = service.prepare(body.question, body.course, session_id=body.session_id)
    if not body.stream:
        return AnswerOut.from_answer(await run_in_threadpool(turn.run))

    async def events():
        try:
            async for kind, payload in turn_events(turn, request.is_disconnected):
                if kind == "token":
                    yield sse("token", {"text": payload})
                else:
                    yield sse("done", AnswerOut.from_answer(payload).model_dump(mode="json"))
        except Exception as exc:  # the stream has started: report in-band
            log.exception("answer stream failed")
            yield sse("error", {"detail": str(exc)})

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.post("/feedback", status_code=201, response_model=FeedbackCreated)
def feedback(body: FeedbackBody, service: AnswerServiceDep) -> FeedbackCreated:
    """Thumbs up or down on an answer."""
    if service.store is None:
        raise HTTPException(503, "feedback storage is not configured")
    return FeedbackCreated(id=service.store.add_feedback(body.message_id, body.rating,
                                                         body.comment))
