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
TARGET_LINK_URI = LTI + "target_link_uri"

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
_MEMBERSHIP = _LIS + "membership"
_STAFF = ("Instructor", "Administrator", "ContentDeveloper")
# Principal roles only: a sub-role such as membership/Instructor#TeachingAssistant does not
# make someone an instructor by itself (platforms send the principal role beside it).
_COURSE_STAFF = {f"{_MEMBERSHIP}#{name}" for name in _STAFF} | set(_STAFF)  # + LTI 1.1 names
_INSTITUTION_STAFF = {f"{_LIS}{vocabulary}#{name}" for vocabulary in
                      ("institution/person", "system/person") for name in _STAFF}


def is_membership_role(role: str) -> bool:
    """A role in this course (context), as opposed to one the user holds anywhere."""
    return role.startswith(_MEMBERSHIP) or "/" not in role  # short names are context roles


def role_for(roles: Iterable[str]) -> Role:
    """``instructor`` or ``student`` in *this* course.

    When the launch carries membership (context) roles, they alone decide: Canvas sends a
    user's institution roles from all their enrolments, so a student here who teaches
    elsewhere arrives with ``membership#Learner`` and ``institution/person#Instructor``,
    and is a student here. Only a launch with no membership role at all (some platforms
    send just institution or system roles for course staff) is decided on those. Learner,
    and anything unknown (Mentor, Guest, none), gets the lesser role."""
    roles = [role for role in roles if isinstance(role, str)]
    membership = [role for role in roles if is_membership_role(role)]
    if membership:
        return "instructor" if any(role in _COURSE_STAFF for role in membership) else "student"
    return "instructor" if any(role in _INSTITUTION_STAFF for role in roles) else "student"
