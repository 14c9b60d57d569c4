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


def test_a_stale_course_gate_is_refitted_on_its_set_and_a_missing_set_is_said(tmp_path):
    import json
    from types import SimpleNamespace

    from eval.gate import refit_if_stale
    from generator.gate import GateFit, load_fit, save_fit
    from studyhall.core.settings import AnswerSettings

    dataset = tmp_path / "set.jsonl"
    rows = [{"id": f"a{n}", "question": f"in-{n}", "course": "c", "answerable": True,
             "gold": [{"source": "a.md"}]} for n in range(30)]
    rows += [{"id": f"o{n}", "question": f"out-{n}", "course": "c", "answerable": False}
             for n in range(6)]
    dataset.write_text("".join(json.dumps(r) + "\n" for r in rows))
    service = Scored({f"in-{n}": 0.5 + n / 100 for n in range(30)}
                     | {f"out-{n}": 0.3 for n in range(6)})
    size = {"chunks": 1000}
    service.index = lambda course: SimpleNamespace(
        manifest=SimpleNamespace(chunk_count=size["chunks"]))
    service.catalog = SimpleNamespace(course_dir=lambda course: tmp_path)
    old = GateFit(min_confidence=0.3, judge_below=0.5, rescue_above=None, answerable=30,
                  out_of_course=6, answerable_refused=0, out_of_course_refused=0,
                  out_of_course_checked=0, chunks=1000, dataset=str(dataset))
    save_fit(tmp_path, old)

    size["chunks"] = 1200  # a fifth bigger: the fit still holds
    assert refit_if_stale(service, "c", AnswerSettings(), tmp_path) is None
    size["chunks"] = 1300
    refit = refit_if_stale(service, "c", AnswerSettings(), tmp_path)
    assert refit.after.min_confidence == 0.50 and load_fit(tmp_path).chunks == 1300
    assert "changed from 1000 to 1300 chunks; gate refitted" in refit.message("c")

    dataset.unlink()
    size["chunks"] = 2000
    refit = refit_if_stale(service, "c", AnswerSettings(), tmp_path)
    assert refit.after is None and load_fit(tmp_path).chunks == 1300  # kept, not lost
    assert "could not be refitted" in refit.message("c") and "--fit --dataset" in refit.message("c")
