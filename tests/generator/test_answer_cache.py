"""The answer cache: which questions are the same, and the answer service serving from it."""

import json
import threading
from pathlib import Path

import pytest

from generator.answer_cache import question_key
from tests.conftest import ScriptedGenerator
from tests.generator.conftest import make_service

PAIRS = Path(__file__).parents[2] / "eval" / "datasets" / "cache-pairs.jsonl"


def pairs(kind: str) -> list[dict]:
    return [p for p in map(json.loads, PAIRS.read_text().splitlines()) if p["kind"] == kind]


@pytest.mark.parametrize(("a", "b"), [
    ("What's a GAN?", "what is a gan"),
    ("Who proposed the LSTM??", "who proposed the LSTM"),
    ("Can you tell me what the encoder does, please?", "what the encoder does"),
    ("What is \uff27\uff21\uff2e?", "What is GAN?"),  # full-width letters
])
def test_the_same_question_in_other_case_punctuation_and_politeness_shares_a_key(a, b):
    assert question_key(a) == question_key(b)


@pytest.mark.parametrize(("a", "b"), [
    ("What does the generator do?", "What does the discriminator do?"),
    ("Does the encoder map to the decoder?", "Does the decoder map to the encoder?"),
    ("What happened in 1943?", "What happened in 1958?"),
    ("Does a VAE need labels?", "Does a VAE not need labels?"),
    ("What came before the LSTM?", "What came after the LSTM?"),
    ("Why does a GAN use two networks?", "How does a GAN use two networks?"),
])
def test_questions_that_differ_in_one_concept_do_not(a, b):
    assert question_key(a) != question_key(b)


def test_no_labelled_near_miss_pair_shares_a_key_and_light_rephrasings_do():
    near_misses, rephrasings = pairs("near-miss"), pairs("rephrasing")
    assert len(near_misses) >= 100 and len(rephrasings) >= 100
    wrong = [p["id"] for p in near_misses if question_key(p["a"]) == question_key(p["b"])]
    assert wrong == []  # a cached answer for the wrong question is a defect
    same = sum(question_key(p["a"]) == question_key(p["b"]) for p in rephrasings)
    assert same >= 15  # the light rewrites (case, punctuation, contractions, politeness)


# --- the answer service with a cache ----------------------------------------------------

def cached_service(settings, search, generator, tmp_path, **answer):
    return make_service(settings, search, generator, tmp_path, cached=True, **answer)


def test_the_same_question_again_is_answered_from_the_cache_with_its_citations(
        settings, search, tmp_path):
    generator = ScriptedGenerator(lambda m: "The discriminator tells real from fake [1].")
    service = cached_service(settings, search, generator, tmp_path)
    first = service.ask("What does the discriminator do?", "tiny")
    again = service.ask("what does the Discriminator do", "tiny")
    assert len(generator.calls) == 1
    assert not first.cached and again.cached
    assert again.text == first.text and again.citations == first.citations
    assert again.question == "what does the Discriminator do"  # the asker's own words
    assert again.timings.cache_ms is not None and again.timings.first_token_ms is None
    assert again.message_id is not None  # still part of the student's conversation
    events = list(service.stream("What does the discriminator do?", "tiny"))
    assert [kind for kind, _ in events] == ["sources", "token", "done"]
    stats = service.cache.stats("tiny")
    assert (stats.hits, stats.misses) == (2, 1)


def test_a_near_miss_is_answered_by_the_model(settings, search, tmp_path):
    generator = ScriptedGenerator(lambda m: "It makes fakes [1].")
    service = cached_service(settings, search, generator, tmp_path)
    service.ask("What does the discriminator do?", "tiny")
    assert not service.ask("What does the generator do?", "tiny").cached
    assert len(generator.calls) == 2


def test_a_new_version_of_the_course_empties_its_cache(settings, search, tmp_path, ingestor,
                                                      course_dir):
    generator = ScriptedGenerator(lambda m: "The discriminator tells real from fake [1].")
    service = cached_service(settings, search, generator, tmp_path)
    service.ask("What does the discriminator do?", "tiny")
    assert service.cache.entries("tiny") == 1
    (course_dir / "gans.md").write_text((course_dir / "gans.md").read_text() + "\nMore.\n")
    ingestor.ingest(course_dir, "tiny")
    assert not service.ask("What does the discriminator do?", "tiny").cached
    assert len(generator.calls) == 2 and service.cache.entries("tiny") == 1  # the new one


def test_other_settings_or_no_cache_asked_for_answer_afresh(settings, search, tmp_path):
    generator = ScriptedGenerator(lambda m: "The discriminator tells real from fake [1].")
    service = cached_service(settings, search, generator, tmp_path)
    service.ask("What does the discriminator do?", "tiny")
    assert not service.ask("What does the discriminator do?", "tiny", use_cache=False).cached
    longer = cached_service(settings, search, generator, tmp_path, source_tokens=900)
    assert not longer.ask("What does the discriminator do?", "tiny").cached
    off = cached_service(settings, search, generator, tmp_path, cache=False)
    assert off.cache is None and not off.ask("What does the discriminator do?", "tiny").cached
    assert len(generator.calls) == 4


def test_a_stopped_answer_is_not_kept(settings, search, tmp_path):
    generator = ScriptedGenerator(lambda m: " ".join(["word"] * 200) + " [1]")
    service = cached_service(settings, search, generator, tmp_path)
    cancel = threading.Event()
    events = service.stream("what is a generator", "tiny", cancel=cancel)
    next(events), next(events)
    cancel.set()
    list(events)
    assert service.cache.entries("tiny") == 0
    assert not service.ask("what is a generator", "tiny").cached
