import json

import pytest

from eval.datasets import load_questions
from eval.generate import MIN_WORDS, draft_questions, parse_draft, pick_chunks
from generator.prompts import DRAFT_SYSTEM
from ingest.documents import Anchor, Chunk
from tests.conftest import ScriptedGenerator


def chunk(source: str, n: int, words: int = MIN_WORDS) -> Chunk:
    text = " ".join([f"w{n}"] * (words - 3)) + " mode collapse happens."
    return Chunk(f"{source}-{n}", "c", source, "T", ("T",), Anchor("section", "s", "S"), text, text)


def test_passages_are_spread_over_files_and_short_ones_skipped():
    chunks = [chunk("a.md", i) for i in range(10)] + [chunk("b.md", i) for i in range(4)]
    chunks.append(chunk("c.md", 0, words=5))
    picked = pick_chunks(chunks, 4)
    assert [c.source for c in picked] == ["a.md", "b.md", "a.md", "b.md"]
    assert picked[0].id == "a.md-0" and picked[2].id == "a.md-5"  # evenly spaced in a file
    assert pick_chunks(chunks, 4) == picked
    assert len(pick_chunks(chunks, 100)) == 14  # never a passage twice


@pytest.mark.parametrize("reply, parsed", [
    ("Question: What is mode collapse?\nKey fact: few outputs", ("What is mode collapse?", "few outputs")),
    ("question:  Why?  \nKEY FACT: it helps", ("Why?", "it helps")),
    ("Question: What is mode collapse\nKey fact: x", None),  # not a question
    ("Sure! Here is a question about GANs.", None),
])
def test_replies_are_parsed_or_dropped(reply, parsed):
    assert parse_draft(reply) == parsed


def test_drafts_have_their_chunk_as_gold_and_a_fact_from_the_passage(tmp_path):
    chunks = [chunk("a.md", 0), chunk("b.md", 1)]
    replies = iter(["Question: When does mode collapse happen?\nKey fact: mode collapse happens",
                    "Question: Who won the 1998 World Cup?\nKey fact: France"])
    generator = ScriptedGenerator(lambda m: next(replies))
    drafts = list(draft_questions(generator, "c", "Course", chunks, count=2))
    assert len(drafts) == 1  # the second fact is not in its passage
    [draft] = drafts
    assert draft["gold"] == [{"chunk_id": "a.md-0"}] and draft["draft"] is True
    assert generator.calls[0][0].content == DRAFT_SYSTEM.format(course="Course")
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(draft) + "\n")
    [question] = load_questions(path)
    assert question.draft and question.is_relevant(chunks[0]) and not question.is_relevant(chunks[1])


@pytest.mark.slow
def test_the_real_model_drafts_usable_questions_from_the_bundled_course(bundled_service, bundled_settings):
    from generator.backends import build_generator

    index = bundled_service.index("genai-basics")
    generator = build_generator(bundled_settings.generator, bundled_settings.model_store)
    drafts = list(draft_questions(generator, "genai-basics", index.manifest.title, index.chunks,
                                  count=3))
    assert drafts, "no usable draft from three passages"
    assert all(d["question"].endswith("?") and d["key_facts"][0] for d in drafts)
