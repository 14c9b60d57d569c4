"""LTI 1.3 (tool side): an LMS (Moodle, Canvas, ...) opens studyhall inside a course page.

A launch is an OIDC implicit flow. The platform calls ``/lti/login``; we remember a state
and nonce and send the browser back to the platform, which posts a signed id_token to
``/lti/launch``; we check it, map the LMS course to a studyhall course and the user's roles
to student or instructor, and open the chat (or the instructor page) with a short-lived
session token, handed over in the tab's storage, never in an address. A deep linking
request gets a signed link back instead.

Built on PyJWT directly (RS256 only, explicit audience, issuer and leeway): PyLTI1p3 has
no FastAPI adapter.

Where to start: :mod:`api.lti.routes` (the three endpoints), then :mod:`api.lti.launch`
(every check, in order). Platforms are registered with :func:`add_platform` or
:func:`load_platforms_file` (:mod:`api.lti.platforms`); the tool's own key is in
:mod:`api.lti.keys`.

Wiring, in ``create_app``::

    app.state.lti = LtiService(settings.database, settings.data_dir, public_base_url)
    app.include_router(lti_router)
"""

from api.lti.platforms import Platform, PlatformRegistry, add_platform, load_platforms_file
from api.lti.routes import router as lti_router
from api.lti.service import LtiService
from api.lti.sessions import LtiSession

__all__ = [
    "LtiService", "LtiSession", "Platform", "PlatformRegistry", "add_platform",
    "load_platforms_file", "lti_router",
]
