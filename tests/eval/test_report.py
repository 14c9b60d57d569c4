from eval.answers import AnswerRecord, AnswerReport
from eval.report import write_answer_report, write_retrieval_report
from eval.retrieval import RetrievalResult


def retrieval_result(mode: str) -> RetrievalResult:
    return RetrievalResult(mode, 2, 0.5, 1.0, 0.75, 1.0, 0.5, 0.6, 0.0, misses=[{
        "id": "q2", "question": "Why | does it fail?", "gold": ["a.md › Why"],
        "first_relevant_rank": 7, "top": ["b.md › Other"]}], latencies_ms=[1.0, 2.0])


def test_retrieval_report_has_json_markdown_and_html_with_plots_and_misses(tmp_path):
    paths = write_retrieval_report([retrieval_result("bm25"), retrieval_result("hybrid")],
                                   tmp_path / "r", title="tiny")
    assert {p.name for p in paths.values()} == {"report.json", "report.md", "report.html"}
    markdown = paths["md"].read_text()
    assert "| hybrid | 2 | 0.500 | 1.000 |" in markdown and "![" in markdown
    assert "| q2 | Why / does it fail? |" in markdown  # a pipe in a question keeps the table
    page = paths["html"].read_text()
    assert page.count('src="data:image/png;base64,') == 2 and "<td>q2</td>" in page
    assert (tmp_path / "r" / "metrics.png").read_bytes().startswith(b"\x89PNG")


def test_answer_report_lists_wrong_answers_and_answered_out_of_course_questions(tmp_path):
    records = [
        AnswerRecord("a1", "Who proposed LSTM?", True, ["factual"], "Goodfellow [1].", False,
                     [], key_fact_recall=0.0, citation_correct=False, correct=False,
                     first_token_ms=900.0, total_ms=2000.0),
        AnswerRecord("a2", "What is a GAN?", True, ["definition"], "Two nets [1].", False,
                     [], key_fact_recall=1.0, citation_correct=True, correct=True,
                     answered_right=True, faithfulness=1.0, first_token_ms=800.0,
                     total_ms=1500.0),
        AnswerRecord("u1", "How many credits?", False, ["policy"], "Ten credits.", False, []),
    ]
    report = AnswerReport(
        answerable=2, unanswerable=1, correct_with_citation=0.5, answered_right=0.5,
        over_refusal=0.0, key_fact_recall=0.5, citation_precision=0.5, faithfulness=1.0,
        refusal_rate=0.0, refusal_precision=0.0, first_token_ms_p50=850.0,
        first_token_ms_p95=900.0, total_ms_p50=1500.0, total_ms_p95=2000.0, records=records)
    paths = write_answer_report(report, tmp_path, title="tiny")
    markdown = paths["md"].read_text()
    assert "| a1 | factual | Who proposed LSTM? | key facts 0%, no correct citation |" in markdown
    assert "| u1 | policy | How many credits? | Ten credits. |" in markdown
    assert "a2 |" not in markdown
    assert paths["html"].read_text().count("data:image/png;base64,") == 2

