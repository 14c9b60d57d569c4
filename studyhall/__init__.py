"""studyhall: an offline course assistant.

The command line lives in :mod:`studyhall.cli`, the settings in :mod:`studyhall.settings`.
The work is done by the top-level packages: ``ingest`` (files to a published index),
``retriever`` (an index to ranked hits), ``api`` (HTTP) and ``eval`` (measuring it all).
"""

__version__ = "0.1.0"
