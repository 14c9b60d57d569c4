"""Each backend behind the one Generator interface, on the smallest real model."""

import threading

import pytest

from generator.backends import build_generator
from generator.base import ChatMessage, GenerationParams
from studyhall.core.settings import GeneratorSettings

pytestmark = pytest.mark.slow

MESSAGES = [ChatMessage("system", "You answer in one short sentence."),
            ChatMessage("user", "What colour is the sky on a clear day?")]


@pytest.mark.parametrize("backend", ["llama_cpp", "transformers"])
def test_a_backend_streams_text_and_counts_tokens(backend, tmp_path):
    generator = build_generator(GeneratorSettings(backend=backend, model="tiny"), tmp_path)
    pieces = list(generator.stream(MESSAGES, GenerationParams(max_tokens=24)))
    assert len(pieces) > 1 and "".join(pieces).strip()
    assert 0 < generator.count_tokens("The sky is blue.") < 10


@pytest.mark.parametrize("backend", ["llama_cpp", "transformers"])
def test_a_backend_stops_when_cancelled(backend, tmp_path):
    generator = build_generator(GeneratorSettings(backend=backend, model="tiny"), tmp_path)
    cancel = threading.Event()
    pieces = []
    for piece in generator.stream(MESSAGES, GenerationParams(max_tokens=200), cancel):
        pieces.append(piece)
        cancel.set()
    assert len(pieces) == 1
