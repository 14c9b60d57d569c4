import pytest

from ingest.documents import Anchor, Chunk
from retriever.base import Hit
from retriever.form import asks_for_code, is_code
from retriever.hybrid import HybridRetriever


def passage(name: str, text: str, label: str = "") -> Chunk:
    return Chunk(name, "c", f"{name}.md", name, (name,), Anchor("section", name, label or name),
                 text, text)


PROSE = passage("prose", "Subtracting the maximum keeps the exponentials from overflowing.")
CODE = passage("code", "```python\nf -= np.max(f)\np = np.exp(f) / np.sum(np.exp(f))\n```")
CELL = passage("cell", "x = torch.zeros(3)", label="cell 4 (code)")


class Fixed:
    def __init__(self, chunks: list[Chunk]) -> None:
        self.chunks = chunks

    def search(self, query, k, filters=None):
        return [Hit(c, 1.0 / r, r, dense_score=0.5) for r, c in enumerate(self.chunks, start=1)]


@pytest.mark.parametrize(("question", "expected"), [
    ("How do I define the model in PyTorch?", True),
    ("Why is `f -= np.max(f)` applied first?", True),
    ("What does np.exp( do here", True),
    ("Show me the code for the training loop", True),
    ("Why does the softmax subtract the maximum score?", False),
    ("What is the loss function of an SVM?", False),  # a function, not code
])
def test_a_question_asks_for_code_when_it_names_or_quotes_it(question, expected):
    assert asks_for_code(question) is expected


def test_a_passage_is_code_when_it_holds_a_fence_or_is_a_code_cell():
    assert is_code(CODE) and is_code(CELL) and not is_code(PROSE)


def test_a_code_question_lifts_code_and_a_prose_question_is_left_as_ranked():
    retriever = HybridRetriever(Fixed([PROSE, CODE]), Fixed([PROSE, CODE]), code_weight=1.0)
    code_first = retriever.search("why `f -= np.max(f)` in the numpy code?", k=2)
    assert [h.chunk.id for h in code_first] == ["code", "prose"]
    as_ranked = retriever.search("why subtract the maximum?", k=2)
    assert [h.chunk.id for h in as_ranked] == ["prose", "code"]
    off = HybridRetriever(Fixed([PROSE, CODE]), Fixed([PROSE, CODE]))
    assert [h.chunk.id for h in off.search("the numpy code?", k=2)] == ["prose", "code"]


def test_a_negative_code_weight_is_refused():
    with pytest.raises(ValueError, match="code_weight"):
        HybridRetriever(Fixed([]), Fixed([]), code_weight=-1)
