"""Generation: grounded answers from a local LLM.

Start at :class:`generator.answer.AnswerService`: it retrieves passages, decides whether
the course covers the question (:mod:`~generator.gate`), builds the prompt
(:mod:`~generator.prompts`), streams tokens from a backend behind
:class:`~generator.base.Generator` (``llama_cpp`` by default; ``transformers`` and
``openai``-compatible servers as options, see :mod:`~generator.backends`), keeps only
citations that point at a source (:mod:`~generator.citations`) and records the
conversation (:mod:`~generator.conversations`). Model files: :mod:`~generator.models`.
"""
