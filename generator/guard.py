"""Retrieved text is data, never instructions.

Two layers, because neither alone holds against a small model: the prompt fences each
source (``<source n=1> … </source>``) and says, last thing before the answer, that text
inside a fence is material to answer from, never instructions; and before a passage is
shown, sentences that read like instructions to an AI model ("ignore all previous
instructions", "you are now in debug mode", "reveal your system prompt") are removed and
logged. The pattern list is not complete — hence the fence.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)

INSTRUCTION_LIKE = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.!?\n]{0,40}\b(?:instructions?|rules?|prompts?|"
    r"guidelines)\b"
    r"|\byou are now\b|\bfrom now on\b[^.!?\n]{0,40}\b(?:reply|respond|answer|say|act)\b"
    r"|\b(?:reveal|print|show|repeat|output)\b[^.!?\n]{0,30}\bsystem prompt\b"
    r"|\b(?:reply|respond|answer)\b[^.!?\n]{0,20}\bonly with\b"
    r"|\b(?:must|should|shall)\s+(?:(?:be|always|only)\s+){0,2}(?:answer(?:ed)?|repl(?:y|ied)|"
    r"respond(?:ed)?)\b[^.!?\n]{0,20}\bwith\b"
    r"|\bnew instructions?\b|\bdebug mode\b|\bjailbreak",
    re.IGNORECASE,
)
# Chat-template markup that a tokenizer with special-token parsing would read as a control
# token: ChatML, Llama 2/3, Gemma, Mistral, and the sequence markers most models share.
CONTROL_TOKEN = re.compile(
    r"<\|[A-Za-z0-9_]{1,32}\|>|</?s>|\[/?INST\]|<</?SYS>>|<(?:start|end)_of_turn>", re.IGNORECASE)
_ZERO_WIDTH = "\u200b"


def defuse_control_tokens(text: str) -> str:
    """``text`` with every piece of chat-template markup broken by a zero-width space
    (``<|im_end|>`` → ``<\u200b|im_end|>``), so no tokenizer reads it as a control token:
    for backends that tokenize a rendered chat template with special tokens (the
    transformers backend, and the server behind the openai backend)."""
    return CONTROL_TOKEN.sub(lambda m: m.group(0)[0] + _ZERO_WIDTH + m.group(0)[1:], text)


_SENTENCES = re.compile(r"(?<=[.!?:])\s+|\n+")
REMOVED = "[instruction-like text removed]"


def neutralize(text: str, where: str = "") -> str:
    """The text without its instruction-like sentences (each replaced by a marker)."""
    if not INSTRUCTION_LIKE.search(text):
        return text
    kept = []
    for sentence in _SENTENCES.split(text):
        if INSTRUCTION_LIKE.search(sentence):
            log.warning("removed instruction-like text from a source %s: %.80r", where, sentence)
            if not kept or kept[-1] != REMOVED:
                kept.append(REMOVED)
        elif sentence:
            kept.append(sentence)
    return " ".join(kept)
