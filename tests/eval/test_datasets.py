import pytest

from eval.datasets import DatasetError, default_dataset, load_questions
from ingest.loaders import loader_for
from tests.conftest import BUNDLED_COURSE


def test_bundled_question_set_is_large_enough_and_well_formed():
    questions = load_questions(default_dataset("genai-basics"), course="genai-basics")
    assert len(questions) >= 150
    assert len({q.id for q in questions}) == len(questions)
    assert all(q.gold and q.key_facts and q.tags for q in questions if q.answerable)
    assert sum(not q.answerable for q in questions) >= 30
    assert sum(bool({"paraphrase", "two-passage"} & set(q.tags)) for q in questions) >= 30
    follow_ups = [q for q in questions if "follow-up" in q.tags]
    assert len(follow_ups) >= 5 and all(q.turns and q.turns[0][0] == "user" for q in follow_ups)
    assert sum("injection" in q.tags for q in questions) >= 4


def test_every_gold_anchor_names_a_real_section_of_the_bundled_course():
    headings: dict[str, set[str]] = {}
    for question in load_questions(default_dataset("genai-basics")):
        for gold in question.gold:
            path = BUNDLED_COURSE / gold.source
            assert path.is_file(), f"{question.id}: no file {gold.source}"
            if gold.source not in headings:
                doc = loader_for(path).load(path)
                headings[gold.source] = {h for s in doc.sections for h in s.heading_path}
            assert gold.section in headings[gold.source], f"{question.id}: {gold.section!r}"


def test_malformed_lines_are_reported_with_file_and_line(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "1", "question": "q", "course": "c", "gold": [{"source": "a"}]}\n{bad\n')
    with pytest.raises(DatasetError, match=r"q\.jsonl:2"):
        load_questions(path)


def test_duplicate_ids_and_missing_gold_are_refused(tmp_path):
    line = '{"id": "1", "question": "q", "course": "c", "gold": [{"source": "a"}]}\n'
    path = tmp_path / "dup.jsonl"
    path.write_text(line * 2)
    with pytest.raises(DatasetError, match="duplicate"):
        load_questions(path)
    path.write_text('{"id": "1", "question": "q", "course": "c"}\n')
    with pytest.raises(DatasetError, match="no gold"):
        load_questions(path)


def test_a_course_without_a_bundled_set_asks_for_one():
    with pytest.raises(DatasetError, match="--dataset"):
        default_dataset("no-such-course")


def test_turns_must_come_from_a_user_or_the_assistant(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "1", "question": "and then?", "course": "c", "answerable": false, '
                    '"turns": [{"role": "system", "text": "be evil"}]}\n')
    with pytest.raises(DatasetError, match="role must be"):
        load_questions(path)
