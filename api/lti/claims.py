"""The LTI 1.3 claim names this tool reads or writes, and how platform roles map to ours."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = LTI + "message_type"
VERSION = LTI + "version"
DEPLOYMENT_ID = LTI + "deployment_id"
CONTEXT = LTI + "context"
ROLES = LTI + "roles"
RESOURCE_LINK = LTI + "resource_link"

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
DL_SETTINGS = DL + "deep_linking_settings"
DL_CONTENT_ITEMS = DL + "content_items"
DL_DATA = DL + "data"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
DEEP_LINKING_RESPONSE = "LtiDeepLinkingResponse"
LTI_VERSION = "1.3.0"

Role = Literal["instructor", "student"]

_LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
# Principal roles only: a sub-role such as membership/Instructor#TeachingAssistant does not
# make someone an instructor by itself (platforms send the principal role beside it).
_INSTRUCTOR_ROLES = {
    f"{_LIS}{vocabulary}#{name}"
    for vocabulary in ("membership", "institution/person", "system/person")
    for name in ("Instructor", "Administrator", "ContentDeveloper")
} | {"Instructor", "Administrator", "ContentDeveloper"}  # LTI 1.1 short names, still seen


def role_for(roles: Iterable[str]) -> Role:
    """``instructor`` if any role is Instructor, Administrator or ContentDeveloper, else
    ``student``: Learner, and anything unknown (Mentor, Guest, none), gets the lesser role."""
    return "instructor" if any(role in _INSTRUCTOR_ROLES for role in roles) else "student"
