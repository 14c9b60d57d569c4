"""Evaluation: labelled question sets and the metrics run over them.

:mod:`~eval.datasets` reads the JSONL question format, :mod:`~eval.metrics` holds the
metric functions; :mod:`~eval.retrieval`, :mod:`~eval.gate`, :mod:`~eval.answers` and
:mod:`~eval.routing` run the evals (``studyhall eval …``), :mod:`~eval.report` writes
their reports, :mod:`~eval.jobs` runs them in the background for the HTTP API,
:mod:`~eval.generate` drafts a question set and :mod:`~eval.peer` is the peer baseline.
"""
