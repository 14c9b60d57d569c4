"""The browser pages' files and the headers every page is served with: a
Content-Security-Policy that allows only the page's own scripts, styles, images and API,
and a ``frame-ancestors`` directive naming who may frame it.

Shared by the page routes (:mod:`api.routes.pages`) and the LTI launch
(:mod:`api.lti.routes`), whose first page is framed by the LMS.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterable
from pathlib import Path

from fastapi.responses import HTMLResponse

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
JAVASCRIPT = "application/javascript; charset=utf-8"
# The only files /static/ serves, with their content types. The pages themselves are not
# among them: served from there they would lose their frame-ancestors policy.
ASSETS = {
    "chat.js": JAVASCRIPT,
    "common.js": JAVASCRIPT,
    "chat.css": "text/css; charset=utf-8",
    "embed.js": JAVASCRIPT,
    "instructor.js": JAVASCRIPT,
    "instructor.css": "text/css; charset=utf-8",
    "launch.js": JAVASCRIPT,
    "submit.js": JAVASCRIPT,
}
# Everything a page loads is its own: scripts, styles, the API, the demos' figures.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"
)
NO_CACHE = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
# An origin as a CSP source: scheme, host (a leading "*." allowed), optional port.
_ORIGIN = re.compile(r"^https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?$")


def frame_ancestors(origins: Iterable[str]) -> str:
    """The ``frame-ancestors`` directive: ``'self'`` and ``origins``. An entry that is not
    a plain origin (``https://lms.example.edu``, ``https://*.example.edu:8443``) is left out
    with a warning, so a setting cannot inject other directives into the header."""
    sources = ["'self'"]
    for entry in origins:
        origin = str(entry).strip().rstrip("/")
        if not _ORIGIN.match(origin):
            log.warning("frame origin %r is not an origin; ignored", entry)
        elif origin not in sources:
            sources.append(origin)
    return "frame-ancestors " + " ".join(sources)


def page_headers(frame_origins: Iterable[str], referrer: str = "same-origin",
                 form_action: str | None = None) -> dict[str, str]:
    """The headers of a page: its policy names who may frame it (``frame_origins``), and
    ``form_action`` the one origin other than this one its form may post to."""
    policy = PAGE_POLICY
    if form_action is not None and _ORIGIN.match(form_action):
        policy = policy.replace("form-action 'self'", f"form-action 'self' {form_action}")
    return {**NO_CACHE, "Referrer-Policy": referrer,
            "Content-Security-Policy": f"{policy}; {frame_ancestors(frame_origins)}"}


def launch_page(*, session: str, landing: str, frame_origins: Iterable[str]) -> HTMLResponse:
    """What an LTI launch answers: a page that keeps the session in the tab's
    sessionStorage and replaces itself with ``landing`` (``static/launch.js``), so the
    session never appears in an address, the browser history or an access log."""
    body = (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<title>studyhall · opening the course</title>\n"
        f"<meta name=\"studyhall-lti\" content=\"{html.escape(session)}\">\n"
        f"<meta name=\"studyhall-landing\" content=\"{html.escape(landing)}\">\n"
        "<script type=\"module\" src=\"../static/launch.js\"></script>\n</head>\n"
        "<body><p>Opening the course…</p></body>\n</html>\n"
    )
    return HTMLResponse(body, headers=page_headers(frame_origins, referrer="no-referrer"))
