"""The ``studyhall`` command line: a package of thin commands over
:func:`studyhall.services.build_services`.

    studyhall ingest corpus/genai-basics --course genai-basics     # courses.py
    studyhall courses
    studyhall search "why is GAN training unstable?" --course genai-basics -k 5
    studyhall ask "why is GAN training unstable?" --course genai-basics   # answers.py
    studyhall chat --course genai-basics
    studyhall demos; studyhall demo gan --set steps=800                    # demos.py
    studyhall serve --port 8000; studyhall worker; studyhall mcp; studyhall warm -c ID  # serve.py
    studyhall eval retrieval --course genai-basics                         # evals.py
    studyhall lti add-platform …                                           # lti.py
    studyhall course visibility genai-basics public; studyhall keys create …  # access.py
    studyhall settings                                                      # settings.py

Errors map to exit statuses in one place, :mod:`studyhall.cli.common`: 2 for what the
user can fix (an unknown course, k out of range, an empty question), 1 for failures.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from studyhall.cli import access, answers, courses, demos, evals, lti, serve, settings

app = typer.Typer(
    help="studyhall: an offline course assistant. Ingest a course, then search or serve it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _setup(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


for module in (courses, answers, demos, serve, settings):
    app.add_typer(module.app)
app.add_typer(evals.app, name="eval")
app.add_typer(lti.app, name="lti")
app.add_typer(access.course_app, name="course")
app.add_typer(access.keys_app, name="keys")


def main() -> None:
    app()
