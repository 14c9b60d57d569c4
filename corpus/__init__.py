"""The bundled courses, one folder each (``genai-basics/``: "GenAI – The Basics").

This is course material, not code: a course folder holds Markdown lessons, notebooks and
a ``course.yaml``. :func:`course_dir` is how code finds one (the demos train on the
course's own text), wherever the package is installed.
"""

from __future__ import annotations

from pathlib import Path

from studyhall.core.errors import NotFound

COURSES = Path(__file__).resolve().parent


def course_dir(course_id: str) -> Path:
    """The folder of a bundled course, e.g. ``course_dir("genai-basics")``."""
    folder = COURSES / course_id
    if not (folder / "course.yaml").is_file():
        known = sorted(p.name for p in COURSES.iterdir() if (p / "course.yaml").is_file())
        raise NotFound(f"no bundled course {course_id!r}; bundled: {', '.join(known)}")
    return folder
