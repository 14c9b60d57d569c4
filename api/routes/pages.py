"""The browser chat page (``GET /``), its assets (``GET /static/{name}``) and the
embeddable widget's loader (``GET /embed.js``); the files are in ``api/static/``.

The page may be framed by studyhall itself and by the origins its course allows
(``settings.embed.origins``: course id → origins), which its Content-Security-Policy's
``frame-ancestors`` names; see :func:`frame_ancestors`.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from api.deps import SettingsDep

log = logging.getLogger(__name__)
router = APIRouter(tags=["pages"])

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
JAVASCRIPT = "application/javascript; charset=utf-8"
# The only files /static/ serves, with their content types. The page itself is not
# among them: served from here it would lose its frame-ancestors policy.
ASSETS = {
    "chat.js": JAVASCRIPT,
    "common.js": JAVASCRIPT,
    "chat.css": "text/css; charset=utf-8",
    "embed.js": JAVASCRIPT,
    "instructor.js": JAVASCRIPT,
    "instructor.css": "text/css; charset=utf-8",
}
# Everything the page loads is its own: scripts, styles, the API, the demos' figures.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"
)
# An origin as a CSP source: scheme, host (a leading "*." allowed), optional port.
_ORIGIN = re.compile(r"^https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?$")
_NO_CACHE = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


def frame_ancestors(course_origins: dict[str, list[str]], course: str | None) -> str:
    """The ``frame-ancestors`` directive for the page of ``course``: ``'self'`` and the
    origins allowed for that course. An entry that is not a plain origin
    (``https://lms.example.edu``, ``https://*.example.edu:8443``) is left out with a
    warning, so a setting cannot inject other directives into the header."""
    sources = ["'self'"]
    for entry in course_origins.get(course, []) if course else []:
        origin = str(entry).strip().rstrip("/")
        if not _ORIGIN.match(origin):
            log.warning("embed origin %r for course %r is not an origin; ignored", entry, course)
        elif origin not in sources:
            sources.append(origin)
    return "frame-ancestors " + " ".join(sources)


@router.get("/", include_in_schema=False)
def chat_page(settings: SettingsDep, course: str | None = None) -> FileResponse:
    """The chat page; ``?course=ID`` preselects a course, ``&embed=1`` hides the picker."""
    policy = f"{PAGE_POLICY}; {frame_ancestors(settings.embed.origins, course)}"
    return FileResponse(
        STATIC_DIR / "index.html", media_type="text/html",
        headers={**_NO_CACHE, "Content-Security-Policy": policy,
                 "Referrer-Policy": "same-origin"},
    )


@router.get("/instructor", include_in_schema=False)
def instructor_page(settings: SettingsDep, course: str | None = None) -> FileResponse:
    """The instructor page (add files, run evals), where an instructor's LTI launch lands:
    ``?course=ID&lti=TOKEN``. The page only calls the API, which checks the session."""
    policy = f"{PAGE_POLICY}; {frame_ancestors(settings.embed.origins, course)}"
    return FileResponse(
        STATIC_DIR / "instructor.html", media_type="text/html",
        # no-referrer: the address holds the session token
        headers={**_NO_CACHE, "Content-Security-Policy": policy, "Referrer-Policy": "no-referrer"},
    )


@router.get("/static/{name}", include_in_schema=False)
def static_asset(name: str) -> FileResponse:
    """One of the page's own files, by name: nothing else under the folder is reachable."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404, f"no static file {name!r}")
    return FileResponse(STATIC_DIR / name, media_type=media_type, headers=_NO_CACHE)


@router.get("/embed.js", include_in_schema=False)
def embed_script() -> FileResponse:
    """The widget loader a host page includes with ``<script src=…/embed.js>``."""
    return FileResponse(STATIC_DIR / "embed.js", media_type=JAVASCRIPT, headers=_NO_CACHE)
