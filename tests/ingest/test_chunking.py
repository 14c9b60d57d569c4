import pytest

from ingest.chunking import Chunker, blocks, fenced, open_fence
from ingest.documents import Anchor, LoadedDocument, Section


def words(n: int, start: int = 0) -> str:
    return " ".join(f"w{i}" for i in range(start, start + n))


def count(text: str) -> int:
    return len(text.split())


def doc(*sections: Section) -> LoadedDocument:
    return LoadedDocument("Lesson", list(sections), "test")


def chunk(chunker: Chunker, document: LoadedDocument, source: str = "lesson.md"):
    return chunker.chunk(document, course_id="c", course_title="Course", source=source)


def section(text: str, path=("Lesson", "Part"), anchor=None) -> Section:
    return Section(text, path, anchor or Anchor("section", "part", "Part"))


def test_short_section_is_one_chunk_with_the_path_in_embed_text_only():
    chunker = Chunker(count, max_tokens=64, chunk_tokens=40, overlap_tokens=8)
    [c] = chunk(chunker, doc(section("Attention runs in parallel.")))
    assert c.text == "Attention runs in parallel."
    assert c.embed_text == "Course › Lesson › Part\n\nAttention runs in parallel."
    assert c.heading_path == ("Lesson", "Part")
    assert c.location == "lesson.md#section=part"


def test_long_section_is_split_and_every_embedded_text_fits_the_model():
    max_tokens = 64
    chunker = Chunker(count, max_tokens=max_tokens, chunk_tokens=40, overlap_tokens=8)
    chunks = chunk(chunker, doc(section(words(300))))
    assert len(chunks) > 1
    for c in chunks:
        assert count(c.embed_text) <= max_tokens - 2  # room for [CLS] and [SEP]
        assert count(c.text) <= 40


def test_consecutive_chunks_overlap():
    chunker = Chunker(count, max_tokens=64, chunk_tokens=40, overlap_tokens=8)
    chunks = chunk(chunker, doc(section(words(120))))
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert set(a.text.split()[-8:]) & set(b.text.split()[:8])
    # and nothing is lost
    covered = set().union(*(c.text.split() for c in chunks))
    assert covered == set(words(120).split())


def test_a_long_path_leaves_less_room_for_text():
    chunker = Chunker(count, max_tokens=64, chunk_tokens=60, overlap_tokens=8)
    deep = ("Lesson",) + tuple(f"h{i}" for i in range(20))
    for c in chunk(chunker, doc(section(words(200), path=deep))):
        assert count(c.embed_text) <= 62


def test_ids_are_stable_and_depend_on_text_and_place():
    chunker = Chunker(count, max_tokens=64, chunk_tokens=40, overlap_tokens=8)
    first = chunk(chunker, doc(section("Same words.")))
    again = chunk(chunker, doc(section("Same words.")))
    moved = chunk(chunker, doc(section("Same words.", anchor=Anchor("section", "other", "Other"))))
    other_file = chunk(chunker, doc(section("Same words.")), source="other.md")
    assert first[0].id == again[0].id
    assert len({first[0].id, moved[0].id, other_file[0].id}) == 3


def test_repeated_text_at_one_place_gets_distinct_ids():
    chunker = Chunker(count, max_tokens=64, chunk_tokens=40, overlap_tokens=8)
    chunks = chunk(chunker, doc(section("Repeat."), section("Repeat.")))
    assert len({c.id for c in chunks}) == 2


def test_plain_text_chunks_are_anchored_to_their_own_line():
    chunker = Chunker(count, max_tokens=64, chunk_tokens=20, overlap_tokens=0)
    text = "\n\n".join(words(15, start=i * 15) for i in range(4))  # paragraphs on lines 1,3,5,7
    chunks = chunk(chunker, doc(Section(text, ("Lesson",), Anchor("line", "1", "line 1"), 1)))
    assert [c.anchor.ref for c in chunks] == ["1", "3", "5", "7"]
    assert chunks[2].anchor.label == "line 5"


def test_small_notebook_cells_under_one_heading_are_merged():
    chunker = Chunker(count, max_tokens=64, chunk_tokens=40, overlap_tokens=8)
    cells = [
        Section("Explain the scores.", ("NB", "Scores"), Anchor("cell", "2", "cell 2 (markdown)"),
                cell_type="markdown"),
        Section("s = q @ k.T", ("NB", "Scores"), Anchor("cell", "3", "cell 3 (code)"),
                cell_type="code", language="python"),
        Section("Now softmax.", ("NB", "Softmax"), Anchor("cell", "4", "cell 4 (markdown)"),
                cell_type="markdown"),
    ]
    chunks = chunk(chunker, LoadedDocument("NB", cells, "notebook"), source="nb.ipynb")
    assert [c.anchor.ref for c in chunks] == ["2-3", "4"]
    assert chunks[0].anchor.label == "cells 2–3 (markdown + code)"
    assert chunks[0].text == "Explain the scores.\n\n```python\ns = q @ k.T\n```"


def test_a_code_cell_alone_is_fenced_and_kept_whole_up_to_the_window():
    chunker = Chunker(count, max_tokens=64, chunk_tokens=12, overlap_tokens=0)
    code = "\n".join(f"x{i} = {i}" for i in range(10))  # 30 words: past the chunk size
    cells = [Section(code, ("NB",), Anchor("cell", "1", "cell 1 (code)"), cell_type="code",
                     language="python")]
    chunks = chunk(chunker, LoadedDocument("NB", cells, "notebook"), source="nb.ipynb")
    assert [c.text for c in chunks] == [f"```python\n{code}\n```"]


def test_code_that_writes_a_fence_gets_a_longer_one_and_stays_one_block():
    code = 'doc = """\n```python\nprint(1)\n```\n"""'
    text = fenced(code, "python")
    assert text.startswith("````python\n") and text.endswith("\n````")
    assert blocks(text) == [(True, text)]
    assert not open_fence(text)
    assert open_fence(text.rsplit("\n", 1)[0])  # cut before its closing line


def test_pages_are_never_merged():
    chunker = Chunker(count, max_tokens=64, chunk_tokens=40, overlap_tokens=8)
    pages = [Section(f"Page {n}.", ("Deck",), Anchor("page", str(n), f"page {n}")) for n in (1, 2)]
    assert len(chunk(chunker, LoadedDocument("Deck", pages, "pdf"))) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"chunk_tokens": 0}, "chunk_tokens must be > 0"),
        ({"chunk_tokens": 10, "overlap_tokens": 10}, "overlap_tokens must be in"),
        ({"max_tokens": 20}, "max_tokens must be >"),
    ],
)
def test_bad_sizes_are_refused_with_the_value(kwargs, message):
    args = {"max_tokens": 64, "chunk_tokens": 40, "overlap_tokens": 8} | kwargs
    with pytest.raises(ValueError, match=message):
        Chunker(count, **args)


def code_block(lines: int, start: int = 0) -> str:
    return "```python\n" + "\n".join(f"x{i} = {i}" for i in range(start, start + lines)) + "\n```"


def test_a_code_block_is_kept_whole_up_to_the_window_and_its_prose_is_cut_as_prose():
    # prose is cut at 40 words; the 3×30-word code block fits the 200-word window whole
    chunker = Chunker(count, max_tokens=200, chunk_tokens=40, overlap_tokens=8)
    text = f"{words(60)}\n\n{code_block(30)}\n\n{words(60, start=100)}"
    chunks = chunk(chunker, doc(section(text)))
    code = [c.text for c in chunks if "```" in c.text]
    assert len(code) == 1 and code[0].count("```") == 2 and "x0 = 0" in code[0]
    assert "x29 = 29" in code[0]
    assert all(count(c.embed_text) <= 198 for c in chunks)
    prose = [c.text for c in chunks if "```" not in c.text]
    assert prose and all(count(p) <= 40 for p in prose)


def test_a_code_block_longer_than_the_window_is_cut_between_lines_each_piece_fenced():
    chunker = Chunker(count, max_tokens=64, chunk_tokens=40, overlap_tokens=8)
    chunks = chunk(chunker, doc(section(f"Intro.\n\n{code_block(60)}")))
    code = [c for c in chunks if "x" in c.text]
    assert len(code) > 3
    for c in code:
        body = c.text.split("```python\n", 1)[-1]
        assert c.text.count("```") == 2 and body.endswith("\n```"), c.text
        assert count(c.embed_text) <= 62
    joined = " ".join(c.text for c in code)
    assert all(f"x{i} = {i}" in joined for i in range(60))


def test_prose_without_code_and_an_unclosed_fence_split_as_before():
    from ingest.chunking import blocks, open_fence

    assert blocks("a\n```py\nx\n```\nb") == [(False, "a"), (True, "```py\nx\n```"), (False, "b")]
    assert blocks("a\n```py\nx") == [(False, "a"), (False, "```py\nx")]
    assert open_fence("text\n```python\nx = 1") and not open_fence("```\nx\n```")
    chunker = Chunker(count, max_tokens=64, chunk_tokens=40, overlap_tokens=8)
    unclosed = chunk(chunker, doc(section(f"{words(50)}\n```python\n{words(50, 100)}")))
    assert len(unclosed) >= 3 and all(count(c.embed_text) <= 62 for c in unclosed)


def test_one_code_line_longer_than_the_window_is_cut_and_every_piece_still_fits():
    chunker = Chunker(count, max_tokens=64, chunk_tokens=40, overlap_tokens=8)
    line = "weights = [" + " ".join(f"{n}," for n in range(150)) + "]"
    chunks = chunk(chunker, doc(section(f"Intro.\n\n```python\n{line}\n```\n\n{code_block(40)}")))
    assert all(count(c.embed_text) <= 62 for c in chunks)
    assert all(c.text.count("```") in (0, 2) for c in chunks)
    assert "149," in " ".join(c.text for c in chunks)
