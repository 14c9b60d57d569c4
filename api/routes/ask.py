from __future__ import annotations

import logging
from contextlib import aclosing

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import AnswerServiceDep
from api.streaming import bridge, sse
from generator.conversations import UnknownMessage, UnknownSession

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
    # Validate and take a place in the queue first: bad input is a 4xx and a full queue
    # a 503, before any 200 is sent.
    service.search.validate(body.question, body.course, k=1)
    ticket = service.queue.enter()

    def start(cancel):
        return service.stream(body.question, body.course, session_id=body.session_id,
                              ticket=ticket, cancel=cancel)

    if not body.stream:
        try:
            answer = await run_in_threadpool(
                lambda: service.ask(body.question, body.course, session_id=body.session_id,
                                    ticket=ticket)
            )
        except UnknownSession as exc:
            raise HTTPException(404, str(exc)) from None
        finally:
            ticket.leave()
        return answer.to_dict()

    async def events():
        try:
            async with aclosing(bridge(start, request.is_disconnected)) as stream:
                async for kind, payload in stream:
                    if kind == "token":
                        yield sse("token", {"text": payload})
                    else:
                        yield sse("done", payload.to_dict())
        except Exception as exc:  # the stream has started: report in-band
            log.exception("answer stream failed")
            yield sse("error", {"detail": str(exc)})
        finally:
            ticket.leave()

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
