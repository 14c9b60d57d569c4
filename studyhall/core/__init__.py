"""The bottom layer: what every other layer may use, and which uses none of them.

- :mod:`~studyhall.core.settings`: the one settings object (``STUDYHALL_`` environment);
- :mod:`~studyhall.core.errors`: the exception hierarchy, each error with a kind that the
  HTTP API and the CLI map to a status once each;
- :mod:`~studyhall.core.queue`: admission to a single worker (the model, the demos), with
  a bounded wait and ``Busy`` beyond it;
- :mod:`~studyhall.core.jobs`: background jobs kept as rows of the SQLite file;
- :mod:`~studyhall.core.hashing`: file digests.
"""
