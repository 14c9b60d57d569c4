import pytest

from generator.passages import build_passages, join_overlapping
from ingest.store import CourseIndex
from retriever.base import Hit


def test_overlapping_neighbours_are_joined_without_the_repeat():
    assert join_overlapping(["one two three four", "three four five six"]) == (
        "one two three four five six"
    )
    assert join_overlapping(["alpha beta.", "gamma delta."]) == "alpha beta.\n\ngamma delta."


@pytest.fixture
def index(ingestor, catalog, tmp_path):
    folder = tmp_path / "long"
    folder.mkdir()
    words = " ".join(f"w{i}" for i in range(150))
    (folder / "a.md").write_text(f"# A\n\n## Long\n\n{words}\n\n## Other\n\nshort other text here\n")
    ingestor.ingest(folder, "long")
    return CourseIndex.open(catalog.require("long"))


def count(text: str) -> int:
    return len(text.split())


def hit(index, row: int, rank: int = 1) -> Hit:
    return Hit(index.chunks[row], 1.0, rank)


def test_a_hit_is_widened_to_its_neighbours_of_the_same_section(index):
    middle = 2  # the Long section is cut into several chunks
    [passage] = build_passages(index, [hit(index, middle)], count, budget=1000)
    assert passage.rows == [1, 2, 3]
    assert passage.text.split()[0] == index.chunks[1].text.split()[0]
    assert "short other text" not in passage.text  # never across a section boundary


def test_every_hit_gets_in_before_any_hit_is_widened(index):
    last = len(index.chunks) - 1  # the Other section
    budget = count(index.chunks[2].text) + count(index.chunks[last].text) + 2
    passages = build_passages(index, [hit(index, 2), hit(index, last, 2)], count, budget)
    assert [p.rows for p in passages] == [[2], [last]]


def test_hits_of_one_section_become_one_passage(index):
    passages = build_passages(index, [hit(index, 1), hit(index, 2, 2)], count, budget=1000,
                              neighbours=0)
    assert [p.rows for p in passages] == [[1, 2]]


def test_the_budget_is_respected(index):
    passages = build_passages(index, [hit(index, r, r + 1) for r in range(4)], count, budget=60)
    assert sum(count(p.text) for p in passages) <= 60


def test_passages_that_grow_into_each_other_are_one_in_document_order(index):
    # the best hit is late in the section, the second best is its opening: widened, they
    # meet, and the model reads the section from its opening, cited by the best hit
    passages = build_passages(index, [hit(index, 2), hit(index, 0, 2)], count, budget=1000)
    assert [p.rows for p in passages] == [[0, 1, 2, 3]]
    assert passages[0].hit.chunk.id == index.chunks[2].id
    assert passages[0].text.split()[0] == index.chunks[0].text.split()[0]


def test_passages_of_one_section_with_a_gap_stay_apart(index):
    passages = build_passages(index, [hit(index, 3), hit(index, 0, 2)], count, budget=1000,
                              neighbours=0)
    assert [p.rows for p in passages] == [[3], [0]]
