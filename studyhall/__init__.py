"""studyhall: an offline course assistant.

The top-level packages are the layers (``pyproject.toml``'s import contracts say which
may import which). This package holds both ends of them: :mod:`studyhall.cli` (the
command line, at the top), :mod:`studyhall.services` (the composition root the command
line, the HTTP app and the MCP server share) and :mod:`studyhall.core` (settings,
errors, the model queue, jobs: the bottom, which every layer may use).
"""

__version__ = "0.1.0"
