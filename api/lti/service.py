"""``LtiService``: the LTI pieces put together, one per app (``app.state.lti``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from api.lti import claims as c
from api.lti.deep_linking import auto_submit_form, response_jwt
from api.lti.keys import PlatformKeys, ToolKey
from api.lti.launch import Launch, LaunchValidator
from api.lti.logins import Login, LoginStore
from api.lti.platforms import Platform, PlatformRegistry, origin_of
from api.lti.sessions import LtiSession, SessionSigner
from studyhall.core.database import Database


class LtiService:
    """Construction is cheap: the tool key and session secret are read (or made) on first use.

    ``public_base_url`` is the address platforms and browsers reach the tool at
    (``https://studyhall.example.edu``); it forms ``redirect_uri`` and the deep-linked
    launch URL, which must match what is registered on the platform. None: taken from each
    request, fine without a reverse proxy.
    """

    def __init__(self, database: Database | Path | str, data_dir: Path,
                 public_base_url: str | None = None, *, session_ttl_s: int = 3600,
                 login_ttl_s: float = 600, jwks_refresh_cooldown_s: float = 5,
                 course_title: Callable[[str], str | None] | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.platforms = PlatformRegistry(database)
        self.logins = LoginStore(database, ttl_s=login_ttl_s)
        self.launches = LaunchValidator(
            self.logins, self.platforms, PlatformKeys(refresh_cooldown_s=jwks_refresh_cooldown_s))
        self.session_ttl_s = session_ttl_s
        self.course_title = course_title or self._title_from_catalog
        self._lock = threading.Lock()
        self._tool_key: ToolKey | None = None
        self._sessions: SessionSigner | None = None

    @property
    def tool_key(self) -> ToolKey:
        with self._lock:
            if self._tool_key is None:
                self._tool_key = ToolKey(self.data_dir / "lti" / "tool-key.pem")
            return self._tool_key

    @property
    def sessions(self) -> SessionSigner:
        with self._lock:
            if self._sessions is None:
                self._sessions = SessionSigner(self.data_dir / "lti" / "session.secret",
                                               ttl_s=self.session_ttl_s)
            return self._sessions

    def find_platform(self, issuer: str, client_id: str | None) -> Platform | None:
        """The platform for a login: by (issuer, client_id), or the issuer's only one."""
        if client_id:
            return self.platforms.get(issuer, client_id)
        candidates = self.platforms.for_issuer(issuer)
        return candidates[0] if len(candidates) == 1 else None

    def auth_redirect(self, platform: Platform, login: Login, *, base_url: str,
                      login_hint: str, lti_message_hint: str | None) -> str:
        """The platform's OIDC authorisation URL for this login (step 2 of the launch)."""
        params = {
            "scope": "openid", "response_type": "id_token", "response_mode": "form_post",
            "prompt": "none", "client_id": platform.client_id,
            "redirect_uri": self.base(base_url) + "/lti/launch", "login_hint": login_hint,
            "state": login.state, "nonce": login.nonce,
        }
        if lti_message_hint is not None:
            params["lti_message_hint"] = lti_message_hint
        separator = "&" if "?" in platform.auth_login_url else "?"
        return platform.auth_login_url + separator + urlencode(params)

    def landing(self, launch: Launch) -> tuple[str, str]:
        """Where a resource-link launch goes, relative to ``/lti/launch`` (the chat for
        students, the instructor page for instructors), and the session it hands over."""
        token = self.sessions.issue(course=launch.course, role=launch.role, user=launch.user,
                                    issuer=launch.platform.issuer, context_id=launch.context_id)
        if launch.role == "instructor":
            page, query = "../instructor", {"course": launch.course}
        else:
            page, query = "../", {"course": launch.course, "embed": 1}
        return page + "?" + urlencode(query), token

    def origin(self, request_base_url: str) -> str:
        """This tool's origin (scheme://host[:port]), which launches must target."""
        return origin_of(self.base(request_base_url))

    def deep_linking_page(self, launch: Launch, *, base_url: str) -> str:
        title = self.course_title(launch.course) or launch.course
        token = response_jwt(launch, self.tool_key, title=f"studyhall: {title}",
                             launch_url=self.base(base_url) + "/lti/launch")
        return auto_submit_form(launch.claims[c.DL_SETTINGS]["deep_link_return_url"], token)

    def read_session(self, token: str) -> LtiSession:
        return self.sessions.read(token)

    def base(self, request_base_url: str) -> str:
        return self.public_base_url or request_base_url.rstrip("/")

    def _title_from_catalog(self, course: str) -> str | None:
        from ingest.catalog import Catalog
        from ingest.store import read_manifest

        version = Catalog(self.data_dir / "courses").current_version(course)
        return read_manifest(version).title if version is not None else None
