"""The LTI routes: ``/lti/jwks``, ``/lti/login``, ``/lti/launch``. Who a later request
comes from (the session a launch handed over) is read by :mod:`api.access`."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.lti import claims as c
from api.lti.launch import STATE_COOKIE, LaunchRejected
from api.lti.platforms import origin_of
from api.lti.service import LtiService
from api.pages import launch_page, page_headers
from api.schemas import ErrorBody, Jwks

log = logging.getLogger(__name__)

router = APIRouter(prefix="/lti", tags=["lti"])


def get_lti_service(request: Request) -> LtiService:
    return request.app.state.lti


LtiServiceDep = Annotated[LtiService, Depends(get_lti_service)]


@router.get("/jwks", response_model=Jwks)
def jwks(service: LtiServiceDep) -> Jwks:
    """The tool's public keys, for platforms verifying its deep linking responses."""
    return Jwks(**service.tool_key.jwks())


_LOGIN = {"status_code": 302, "response_class": RedirectResponse, "responses": {
    302: {"description": "To the platform's OIDC authorisation endpoint."},
    400: {"model": ErrorBody, "description": "Not a login this tool knows."}}}


@router.get("/login", **_LOGIN)
@router.post("/login", **_LOGIN)
async def login(request: Request, service: LtiServiceDep) -> Response:
    """OIDC login initiation: remember a state and nonce, send the browser to the platform."""
    params = dict(request.query_params)
    if request.method == "POST":
        params |= {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    return await run_in_threadpool(_start_login, service, params, str(request.base_url))


def _start_login(service: LtiService, params: dict[str, str], base_url: str) -> Response:
    issuer, login_hint = params.get("iss"), params.get("login_hint")
    if not issuer or not login_hint:
        return _refuse(400, "login needs iss and login_hint")
    platform = service.find_platform(issuer, params.get("client_id"))
    if platform is None:
        return _refuse(400, "unknown platform (issuer and client_id)")
    deployment = params.get("lti_deployment_id")
    if deployment is not None and deployment not in platform.deployment_ids:
        return _refuse(400, "unknown deployment_id")
    target = params.get("target_link_uri")
    if target is not None and origin_of(target) != service.origin(base_url):
        return _refuse(400, f"target_link_uri is not this tool ({service.origin(base_url)})")
    started = service.logins.start(platform.issuer, platform.client_id)
    response = RedirectResponse(
        service.auth_redirect(platform, started, base_url=base_url, login_hint=login_hint,
                              lti_message_hint=params.get("lti_message_hint")),
        status_code=302)
    response.set_cookie(STATE_COOKIE + started.state, started.state,
                        max_age=int(service.logins.ttl_s), path="/lti/", secure=True,
                        httponly=True, samesite="none")
    # Partitioned (CHIPS): in the LMS's iframe a browser keeps a partitioned third-party
    # cookie where it drops a plain one. Python 3.11's http.cookies cannot write the
    # attribute, so it is appended to the header Starlette built.
    name, value = response.raw_headers[-1]
    assert name == b"set-cookie"
    response.raw_headers[-1] = (name, value + b"; Partitioned")
    return response


def _json_error(description: str) -> dict:
    """An error of a route whose success is a page: its body is still the JSON one."""
    return {"description": description, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/ErrorBody"}}}}


@router.post("/launch", response_class=HTMLResponse, responses={
    200: {"description": "A resource link: a page that opens the chat (students) or the "
          "instructor page, handing the session over in the tab's storage; a deep linking "
          "request: a page that posts the signed reply back to the platform."},
    401: _json_error("The launch failed a check; the reason."),
    413: _json_error("The form is over the size limit."),
    422: _json_error("The form is not one a platform posts.")})
def launch(request: Request, service: LtiServiceDep, id_token: Annotated[str, Form()] = "",
           state: Annotated[str, Form()] = "") -> Response:
    """The platform's form post with the id_token: validate, then open the course."""
    try:
        launched = service.launches.validate(id_token, state, request.cookies,
                                             tool_origin=service.origin(str(request.base_url)))
    except LaunchRejected as exc:
        return _refuse(401, f"LTI launch rejected: {exc}")
    frame_origins = launched.platform.page_origins  # the LMS frames this page, and only it
    if launched.message_type == c.DEEP_LINKING_REQUEST:
        return_url = launched.claims[c.DL_SETTINGS]["deep_link_return_url"]
        response: Response = HTMLResponse(
            service.deep_linking_page(launched, base_url=str(request.base_url)),
            headers=page_headers(frame_origins, referrer="no-referrer",
                                 form_action=origin_of(return_url)))
    else:
        landing, session = service.landing(launched)
        response = launch_page(session=session, landing=landing, frame_origins=frame_origins)
    response.delete_cookie(STATE_COOKIE + state, path="/lti/", secure=True, httponly=True,
                           samesite="none")
    log.info("LTI %s from %s: course %s, role %s", launched.message_type,
             launched.platform.issuer, launched.course, launched.role)
    return response


def _refuse(status: int, reason: str) -> JSONResponse:
    log.warning(reason)
    return JSONResponse({"detail": reason}, status_code=status)
