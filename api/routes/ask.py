"""Grounded answers over HTTP (JSON or server-sent events), and feedback on them."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from api.access import AccessDep, CallerDep, LimitsDep, require_reader
from api.deps import AnswerServiceDep, SettingsDep
from api.schemas import AnswerOut, FeedbackCreated, SourcesOut, Text, errors
from api.streaming import run_turn, sse, stream_error, turn_events

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["answers"])


class AskBody(BaseModel):
    question: Text = Field(description="The student's question.")
    course: Text = Field(description="Course id, see GET /v1/courses.")
    session_id: Text | None = Field(None, max_length=64, description="Continue a conversation.")
    stream: bool = Field(False, description="Server-sent events instead of one JSON reply.")


class FeedbackBody(BaseModel):
    message_id: int = Field(ge=1, le=2**63 - 1, description="The answer's message_id.")
    rating: int = Field(description="1 (thumbs up) or -1 (thumbs down).")
    comment: Text = Field("", max_length=4000)


@router.post("/ask", response_model=AnswerOut, responses={200: {
    "content": {"text/event-stream": {}},
    "description": "The answer; with `stream: true`, server-sent events `sources` "
                   "({sources}: what the model reads, before it answers; not sent for a "
                   "refusal decided without the model), `token` ({text}), then `done` (the "
                   "answer) or `error` ({detail})."},
    **errors(400, 401, 403, 404, 409, 413, 422, 429, 499, 503)})
async def ask(body: AskBody, service: AnswerServiceDep, settings: SettingsDep, request: Request,
              caller: CallerDep, access: AccessDep, limits: LimitsDep):
    """A grounded answer with numbered citations, or a refusal when the course does not
    cover the question. With ``stream: true``: SSE events ``sources`` ({"sources"}: the
    numbered passages the model is about to read, as soon as retrieval has them), ``token``
    ({"text"}) as the answer is generated, then ``done`` (the whole answer) or ``error``."""
    # Bad input is a 4xx and a full queue a 503 here, before any 200 is sent.
    require_reader(caller, access, service.search.catalog, body.course)
    limits.hit("answers", caller)
    turn = service.prepare(body.question, body.course, session_id=body.session_id,
                           owner=caller.owner)  # a session of someone else's: 404
    limit = settings.embed.max_session_messages
    if (body.session_id and service.store is not None
            and service.store.questions_asked(body.session_id) >= limit):
        turn.abandon()
        raise HTTPException(429, f"this conversation has reached its limit of {limit} "
                                 "questions; start a new conversation")
    if not body.stream:
        answer = await run_turn(turn, request.is_disconnected)
        return AnswerOut.from_answer(answer) if answer else Response(status_code=499)

    async def events():
        try:
            async for kind, payload in turn_events(turn, request.is_disconnected):
                if kind == "sources":
                    yield sse("sources", SourcesOut.from_event(payload).model_dump(mode="json"))
                elif kind == "token":
                    yield sse("token", {"text": payload})
                else:
                    yield sse("done", AnswerOut.from_answer(payload).model_dump(mode="json"))
        except Exception as exc:  # the stream has started: report in-band
            error = stream_error(exc)
            yield sse("error", {"detail": error["message"], "type": error["type"]})

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.post("/feedback", status_code=201, response_model=FeedbackCreated,
             responses=errors(400, 401, 404, 413, 422, 503))
def feedback(body: FeedbackBody, service: AnswerServiceDep, caller: CallerDep) -> FeedbackCreated:
    """Thumbs up or down on one of the caller's own answers (anyone else's: 404)."""
    if service.store is None:
        raise HTTPException(503, "feedback storage is not configured")
    return FeedbackCreated(id=service.store.add_feedback(body.message_id, body.rating,
                                                         body.comment, owner=caller.owner))
