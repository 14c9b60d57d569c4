"""Evaluation: labelled question sets and the metrics run over them.

:mod:`~eval.datasets` reads the JSONL question format, :mod:`~eval.metrics` holds the
metric functions, :mod:`~eval.retrieval` runs a retrieval mode over a question set and
formats the comparison table (``studyhall eval retrieval``).
"""
