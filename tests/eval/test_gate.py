from eval.datasets import GoldAnchor, Question
from eval.gate import calibrate, format_gate


class Scored:
    """A search service whose best hit scores a fixed cosine per question."""

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores

    def search(self, question, course, k):
        from ingest.documents import Anchor, Chunk
        from retriever.base import Hit

        chunk = Chunk("x", course, "s", "t", ("t",), Anchor("section", "s", "s"), "t", "t")
        return [Hit(chunk, 1.0, 1, dense_score=self.scores[question])]


def test_each_threshold_counts_both_kinds_of_refusal():
    gold = (GoldAnchor("a.md"),)
    questions = [Question("1", "in-high", "c", True, gold), Question("2", "in-low", "c", True, gold),
                 Question("3", "out-high", "c", False), Question("4", "out-low", "c", False)]
    service = Scored({"in-high": 0.7, "in-low": 0.35, "out-high": 0.45, "out-low": 0.2})
    rows = calibrate(service, questions, "c", [0.3, 0.4, 0.5])
    assert [(r.answerable_refused, r.out_of_course_refused) for r in rows] == [
        (0.0, 0.5), (0.5, 0.5), (0.5, 1.0)]
    assert "| 0.40 | 50.0% | 50.0% |" in format_gate(rows)
