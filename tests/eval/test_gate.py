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


def test_a_course_gate_is_fitted_on_the_courses_own_questions():
    from types import SimpleNamespace

    from eval.gate import fit_course_gate, format_fit
    from studyhall.core.settings import AnswerSettings

    gold = (GoldAnchor("a.md"),)
    questions = [Question(f"a{n}", f"in-{n}", "c", True, gold) for n in range(30)]
    questions += [Question(f"o{n}", f"out-{n}", "c", False) for n in range(6)]
    scores = {f"in-{n}": 0.5 + n / 100 for n in range(30)} | {f"out-{n}": 0.3 for n in range(6)}
    service = Scored(scores)
    service.index = lambda course: SimpleNamespace(manifest=SimpleNamespace(chunk_count=321))
    fit = fit_course_gate(service, questions, "c", AnswerSettings(), dataset="set.jsonl")
    assert fit.min_confidence == 0.50 and fit.answerable_refused == 0.0
    assert fit.out_of_course_refused == 1.0 and fit.chunks == 321 and fit.dataset == "set.jsonl"
    assert "refuse below 0.50" in format_fit(fit) and "30 answerable and 6" in format_fit(fit)
