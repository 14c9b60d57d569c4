from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import AnswerServiceDep
from api.streaming import sse, turn_events
from generator.conversations import UnknownMessage

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


@router.post("/ask")
async def ask(body: AskBody, service: AnswerServiceDep, request: Request):
    """A grounded answer with numbered citations, or a refusal when the course does not
    cover the question. With ``stream: true``: SSE events ``token`` ({"text"}) as the
    answer is generated, then ``done`` (the whole answer) or ``error``."""
    # Bad input is a 4xx and a full queue a 503 here, before any 200 is sent.
    limit = request.app.state.settings.embed.max_session_messages
    if (body.session_id and service.store is not None
            and service.store.questions_asked(body.session_id) >= limit):
        raise HTTPException(429, f"this conversation has reached its limit of {limit} "
                                 "questions; start a new conversation")
    turn = service.prepare(body.question, body.course, session_id=body.session_id)
    if not body.stream:
        return (await run_in_threadpool(turn.run)).to_dict()

    async def events():
        try:
            async for kind, payload in turn_events(turn, request.is_disconnected):
                if kind == "token":
                    yield sse("token", {"text": payload})
                else:
                    yield sse("done", payload.to_dict())
        except Exception as exc:  # the stream has started: report in-band
            log.exception("answer stream failed")
            yield sse("error", {"detail": str(exc)})

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.post("/feedback", status_code=201)
def feedback(body: FeedbackBody, service: AnswerServiceDep):
    """Thumbs up or down on an answer."""
    if service.store is None:
        raise HTTPException(503, "feedback storage is not configured")
    try:
        feedback_id = service.store.add_feedback(body.message_id, body.rating, body.comment)
    except UnknownMessage as exc:
        raise HTTPException(404, str(exc)) from None
    except ValueError as exc:
        return JSONResponse(
            {"detail": [{"loc": ["body", "rating"], "msg": str(exc), "type": "value_error"}]},
            status_code=422,
        )
    return {"id": feedback_id}
