"""The deep linking response: the tool's signed answer to ``LtiDeepLinkingRequest``.

The instructor picks nothing: the one item offered is a link to studyhall for the course
the request's context maps to. The browser carries the signed ``LtiDeepLinkingResponse``
back to the platform in a form that submits itself.
"""

from __future__ import annotations

import html
import secrets
import time

from api.lti import claims as c
from api.lti.keys import ToolKey
from api.lti.launch import Launch

RESPONSE_TTL_S = 300


def response_jwt(launch: Launch, tool_key: ToolKey, *, title: str, launch_url: str) -> str:
    """An ``LtiDeepLinkingResponse`` holding one ``ltiResourceLink`` to ``launch_url``."""
    settings = launch.claims[c.DL_SETTINGS]
    now = int(time.time())
    claims = {
        "iss": launch.platform.client_id,
        "aud": launch.platform.issuer,
        "nonce": secrets.token_urlsafe(16),
        "iat": now,
        "exp": now + RESPONSE_TTL_S,
        c.DEPLOYMENT_ID: launch.claims[c.DEPLOYMENT_ID],
        c.MESSAGE_TYPE: c.DEEP_LINKING_RESPONSE,
        c.VERSION: c.LTI_VERSION,
        c.DL_CONTENT_ITEMS: [{"type": "ltiResourceLink", "title": title, "url": launch_url}],
    }
    if "data" in settings:  # opaque to us; the platform wants it back unchanged
        claims[c.DL_DATA] = settings["data"]
    return tool_key.sign(claims)


def auto_submit_form(return_url: str, token: str) -> str:
    """A page that POSTs ``JWT=<token>`` to ``return_url`` as soon as it loads."""
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>studyhall: returning to your course</title></head>
<body>
<form id="return" method="post" action="{html.escape(return_url)}">
<input type="hidden" name="JWT" value="{html.escape(token)}">
<noscript><button type="submit">Continue</button></noscript>
</form>
<script src="../static/submit.js"></script>
</body></html>
"""
