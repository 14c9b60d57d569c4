"""The browser chat page (``GET /``), its assets (``GET /static/{name}``) and the
embeddable widget's loader (``GET /embed.js``); the files are in ``api/static/``.

A page may be framed by studyhall itself, by the origins its course allows
(``settings.embed.origins``: course id → origins) and by the course pages of the LMS
platforms that launch the course (each platform's ``page_origins``), which its
Content-Security-Policy's ``frame-ancestors`` names (:mod:`api.pages`).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

from api.deps import SettingsDep
from api.pages import ASSETS, JAVASCRIPT, NO_CACHE, STATIC_DIR, page_headers

router = APIRouter(tags=["pages"])


def frame_origins(request: Request, settings: SettingsDep, course: str | None) -> list[str]:
    """Who may frame the page of ``course``: its embed origins, and the course pages of the
    platforms that launch it."""
    if not course:
        return []
    return [*settings.embed.origins.get(course, []),
            *request.app.state.lti.platforms.page_origins(course)]


@router.get("/", include_in_schema=False)
def chat_page(request: Request, settings: SettingsDep, course: str | None = None) -> FileResponse:
    """The chat page; ``?course=ID`` preselects a course, ``&embed=1`` hides the picker."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html",
                        headers=page_headers(frame_origins(request, settings, course)))


@router.get("/instructor", include_in_schema=False)
def instructor_page(request: Request, settings: SettingsDep,
                    course: str | None = None) -> FileResponse:
    """The instructor page (add files, run evals), where an instructor's LTI launch lands:
    ``?course=ID``. The page only calls the API, which checks the session."""
    return FileResponse(STATIC_DIR / "instructor.html", media_type="text/html",
                        headers=page_headers(frame_origins(request, settings, course),
                                             referrer="no-referrer"))


@router.get("/static/{name}", include_in_schema=False)
def static_asset(name: str) -> FileResponse:
    """One of the page's own files, by name: nothing else under the folder is reachable."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404, f"no static file {name!r}")
    return FileResponse(STATIC_DIR / name, media_type=media_type, headers=NO_CACHE)


@router.get("/embed.js", include_in_schema=False)
def embed_script() -> FileResponse:
    """The widget loader a host page includes with ``<script src=…/embed.js>``."""
    return FileResponse(STATIC_DIR / "embed.js", media_type=JAVASCRIPT, headers=NO_CACHE)
