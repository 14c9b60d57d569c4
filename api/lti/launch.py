"""Validating a launch (``POST /lti/launch``): every check, in this order.

1. state: issued here, unused, unexpired; when the browser sends state cookies, one of
   them is this state's
2. id_token format: three parts, header ``alg`` RS256, a ``kid``
3. nonce: the one issued with this state
4. issuer and audience: ``iss`` is the platform the login started with; ``aud`` holds our
   client_id, and with several audiences ``azp`` must be our client_id
5. ``exp`` and ``iat``, with :data:`LEEWAY_S` of clock skew
6. signature, against the platform's JWKS by ``kid`` (refetched once for an unknown kid),
   which must be an RSA key
7. only now are the state and the nonce used up, each once (a replay fails): a token that
   does not verify burns nobody's login
8. ``deployment_id`` among the platform's deployments
9. message type (resource link or deep linking), version 1.3.0, and ``target_link_uri``
   pointing at this tool
10. the course and the role: the context's mapped course; the role from the membership
   (context) roles when there are any, else from institution or system roles; a context
   the platform did not map opens its default course as a student, never an instructor;
   a deep linking request only for an instructor

Steps 2-5 read the token before its signature is checked, to give the precise reason;
step 6 then decodes it again with PyJWT, verifying signature, iss, aud, exp and iat
together, so nothing is trusted unverified.

Browsers that block third-party cookies. ``/lti/login`` sets the state in a cookie
(``SameSite=None; Secure; HttpOnly``) and also stores it server-side. Inside an LMS iframe
a browser may drop that cookie, so a launch whose browser sends *no* state cookie at all
is accepted on the server-side record alone (the LTI platform-storage idea without the
postMessage round trip); a browser that does send state cookies must send this state's.
The trade-off: without the cookie nothing ties the launch to the browser that started the
login, so someone holding a fresh state and a valid id_token of their own could land a
victim's cookie-less browser in their session (login CSRF). What limits it: the state and
its nonce work once, within ``login_ttl_s`` (10 minutes), and the id_token is signed by
the platform for that nonce. After the launch nothing needs cookies: the session token
travels in the URL or the ``X-LTI-Session`` header.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlparse

import jwt

from api.lti import claims as c
from api.lti.keys import KeyUnavailable, PlatformKeys
from api.lti.logins import Login, LoginError, LoginStore
from api.lti.platforms import Platform, PlatformRegistry
from studyhall.core.errors import StudyhallError

LEEWAY_S = 60
STATE_COOKIE = "lti1p3-state-"  # + the state: one cookie per login, so parallel launches
                                # (several tool links on one LMS page) do not collide


def _short(value: object) -> str:
    """``repr`` cut to 40 characters: values read from an unverified token go into logs."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class LaunchRejected(StudyhallError):
    """The launch failed a check; the message is a short reason, safe to show and log."""

    kind = "unauthorized"


@dataclass(frozen=True)
class Launch:
    platform: Platform
    claims: dict  # the verified id_token payload
    message_type: str
    course: str
    role: c.Role
    user: str
    context_id: str | None


class LaunchValidator:
    def __init__(self, logins: LoginStore, platforms: PlatformRegistry,
                 keys: PlatformKeys) -> None:
        self.logins = logins
        self.platforms = platforms
        self.keys = keys

    def validate(self, id_token: str, state: str, cookies: dict[str, str], *,
                 tool_origin: str) -> Launch:
        """The launch, checked; ``tool_origin`` is where this tool is reached
        (``https://studyhall.example.edu``), which ``target_link_uri`` must point at."""
        login = self._state(state, cookies)
        header, unverified = self._format(id_token)
        if unverified.get("nonce") != login.nonce:
            raise LaunchRejected("nonce does not belong to this state")
        platform = self._issuer_and_audience(unverified, login.issuer, login.client_id)
        self._times(unverified)
        verified = self._signature(id_token, header["kid"], platform)
        self._use(login)
        self._deployment(verified, platform)
        message_type = self._message(verified)
        self._target(verified, tool_origin)

        context = verified.get(c.CONTEXT)
        context_id = context.get("id") if isinstance(context, dict) else None
        course = platform.course_for(context_id)
        if course is None:
            raise LaunchRejected(f"no studyhall course is set for context {_short(context_id)}")
        roles = verified.get(c.ROLES, [])
        if not isinstance(roles, list):
            raise LaunchRejected("roles claim is not a list")
        role = c.role_for(roles) if platform.maps(context_id) else "student"
        if message_type == c.DEEP_LINKING_REQUEST and role != "instructor":
            raise LaunchRejected("deep linking is for instructors of the course"
                                 + ("" if platform.maps(context_id) else
                                    " (this LMS course is not mapped to a studyhall course)"))
        return Launch(platform=platform, claims=verified, message_type=message_type,
                      course=course, role=role, user=verified.get("sub", ""),
                      context_id=context_id)

    def _use(self, login: Login) -> None:
        """Use up the state and its nonce (each works once), now that the token verified."""
        try:
            self.logins.use_state(login.state)
            self.logins.use_nonce(login.nonce)
        except LoginError as exc:
            raise LaunchRejected(str(exc)) from exc

    @staticmethod
    def _target(payload: dict, tool_origin: str) -> None:
        target = payload.get(c.TARGET_LINK_URI)
        if target is None:
            return  # optional in a deep linking request
        parsed = urlparse(target) if isinstance(target, str) else None
        if parsed is None or f"{parsed.scheme}://{parsed.netloc}" != tool_origin:
            raise LaunchRejected(f"target_link_uri {_short(target)} is not this tool "
                                 f"({tool_origin})")

    def _state(self, state: str, cookies: dict[str, str]) -> Login:
        try:
            login = self.logins.find_state(state)
        except LoginError as exc:
            raise LaunchRejected(str(exc)) from exc
        ours = {name: value for name, value in cookies.items() if name.startswith(STATE_COOKIE)}
        # A browser that kept state cookies must hold this one; one that kept none (third-
        # party cookies blocked) is let through on the server-side record alone.
        if ours and ours.get(STATE_COOKIE + state) != state:
            raise LaunchRejected("state does not match the browser's state cookie")
        return login

    @staticmethod
    def _format(id_token: str) -> tuple[dict, dict]:
        if not id_token or id_token.count(".") != 2:
            raise LaunchRejected("id_token is not a JWT (three dot-separated parts)")
        try:
            header = jwt.get_unverified_header(id_token)
            payload = jwt.decode(id_token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise LaunchRejected("id_token is malformed") from exc
        if header.get("alg") != "RS256":
            raise LaunchRejected(f"id_token alg must be RS256, got {_short(header.get('alg'))}")
        if not isinstance(header.get("kid"), str) or not header["kid"]:
            raise LaunchRejected("id_token header has no kid")
        return header, payload

    def _issuer_and_audience(self, payload: dict, issuer: str, client_id: str) -> Platform:
        if payload.get("iss") != issuer:
            raise LaunchRejected("issuer is not the platform the login started with")
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if client_id not in audiences:
            raise LaunchRejected("audience does not include this tool's client_id")
        azp = payload.get("azp")
        if (len(audiences) > 1 or azp is not None) and azp != client_id:
            raise LaunchRejected("azp must be this tool's client_id")
        platform = self.platforms.get(issuer, client_id)
        if platform is None:
            raise LaunchRejected("platform is no longer registered")
        return platform

    @staticmethod
    def _times(payload: dict) -> None:
        now = time.time()
        exp, iat = payload.get("exp"), payload.get("iat")
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            raise LaunchRejected("id_token needs numeric exp and iat")
        if exp < now - LEEWAY_S:
            raise LaunchRejected("id_token expired")
        if iat > now + LEEWAY_S:
            raise LaunchRejected("id_token issued in the future")

    def _signature(self, id_token: str, kid: str, platform: Platform) -> dict:
        try:
            key = self.keys.signing_key(platform.jwks_url, kid)
        except KeyUnavailable as exc:
            raise LaunchRejected(str(exc)) from exc
        try:
            return jwt.decode(
                id_token, key, algorithms=["RS256"], audience=platform.client_id,
                issuer=platform.issuer, leeway=LEEWAY_S,
                options={"require": ["iss", "aud", "exp", "iat", "nonce"]})
        except jwt.PyJWTError as exc:
            raise LaunchRejected("id_token signature or claims did not verify") from exc

    @staticmethod
    def _deployment(payload: dict, platform: Platform) -> None:
        if payload.get(c.DEPLOYMENT_ID) not in platform.deployment_ids:
            raise LaunchRejected("unknown deployment_id")

    @staticmethod
    def _message(payload: dict) -> str:
        message_type = payload.get(c.MESSAGE_TYPE)
        if message_type not in (c.RESOURCE_LINK_REQUEST, c.DEEP_LINKING_REQUEST):
            raise LaunchRejected(f"unsupported message_type {_short(message_type)}")
        if payload.get(c.VERSION) != c.LTI_VERSION:
            raise LaunchRejected(f"LTI version must be 1.3.0, got {_short(payload.get(c.VERSION))}")
        if message_type == c.DEEP_LINKING_REQUEST:
            settings = payload.get(c.DL_SETTINGS)
            if not isinstance(settings, dict) or not isinstance(
                    settings.get("deep_link_return_url"), str):
                raise LaunchRejected("deep linking request without deep_link_return_url")
            accepted = settings.get("accept_types", ["ltiResourceLink"])
            if "ltiResourceLink" not in accepted:
                raise LaunchRejected("platform does not accept resource links here")
        return message_type
