"""Generation: grounded answers from a local LLM.

Start at :class:`generator.answer.AnswerService`: its ``prepare`` turns a message into a
chat turn (:mod:`~generator.turns`: an answer, or a demo run); an answer retrieves
passages, decides whether the course covers the question (:mod:`~generator.gate`),
builds the prompt (:mod:`~generator.prompts`), streams tokens from a backend behind
:class:`~generator.base.Generator` (``llama_cpp`` by default; ``transformers`` and
``openai``-compatible servers as options, see :mod:`~generator.backends`), keeps only
citations that point at a source (:mod:`~generator.citations`) and records the
conversation (:mod:`~generator.conversations`); it returns the frozen
:class:`~generator.results.Answer`. Model files: :mod:`~generator.models`.
"""
