from eval.answers import content_words, fact_stated, judge
from eval.datasets import GoldAnchor, Question
from generator.results import Answer, Citation, Timings
from ingest.documents import Anchor, Chunk
from retriever.base import Hit


def hit(source: str, section: str, text: str) -> Hit:
    chunk = Chunk("id-" + section, "c", source, "T", ("T", section), Anchor("section", "s", section),
                  text, text)
    return Hit(chunk, 1.0, 1)


QUESTION = Question("q1", "Who proposed LSTM?", "c", True,
                    (GoldAnchor("lstm.md", "Origins"),), ("Hochreiter and Schmidhuber", "1997"))


def answer(text: str, citations, refused=False) -> Answer:
    return Answer(question="q", standalone_question="q", course="c", text=text,
                  refused=refused, citations=tuple(Citation(n, h) for n, h in citations),
                  confidence=0.7, timings=Timings(first_token_ms=100.0, total_ms=900.0))


def test_facts_are_matched_by_their_content_words_not_exact_text():
    words = content_words("LSTM was proposed in 1997 by Sepp Hochreiter and Jürgen Schmidhuber.")
    assert fact_stated("Hochreiter and Schmidhuber", words)
    assert fact_stated("1997", words)
    assert not fact_stated("1986", words)


def test_a_right_answer_citing_the_gold_section_is_correct():
    record = judge(QUESTION, answer("Hochreiter and Schmidhuber, in 1997 [1].",
                                    [(1, hit("lstm.md", "Origins", "..."))]))
    assert record.correct and record.key_fact_recall == 1.0 and record.citation_correct


def test_a_citation_elsewhere_that_states_the_fact_also_counts():
    other = hit("history.md", "1997", "In 1997 Hochreiter and Schmidhuber proposed LSTM.")
    assert judge(QUESTION, answer("Hochreiter and Schmidhuber in 1997 [1].", [(1, other)])).correct


def test_no_citation_wrong_facts_or_a_refusal_are_not_correct():
    assert not judge(QUESTION, answer("Hochreiter and Schmidhuber in 1997.", [])).correct
    unrelated = hit("gan.md", "Games", "GANs play a game.")
    assert not judge(QUESTION, answer("Goodfellow in 2014 [1].", [(1, unrelated)])).correct
    refused = judge(QUESTION, answer("The course material does not cover this.", [], True))
    assert refused.refused and not refused.correct


def test_faithfulness_is_the_share_of_sentences_a_cited_passage_supports():
    source = hit("lstm.md", "Origins", "Sepp Hochreiter and Jürgen Schmidhuber proposed the "
                                       "LSTM network in 1997 to fight vanishing gradients.")
    text = ("Hochreiter and Schmidhuber proposed the LSTM in 1997 [1]. "
            "It was designed to fight vanishing gradients [1]. "
            "Transformers later replaced recurrent networks entirely. Yes.")
    record = judge(QUESTION, answer(text, [(1, source)]))
    assert record.faithfulness == 2 / 3  # the third sentence cites nothing; "Yes." is too short
    refused = judge(QUESTION, answer("The course material does not cover this.", [], True))
    assert refused.faithfulness is None


def test_refusal_precision_and_recall_treat_out_of_course_as_positive():
    from eval.answers import evaluate_answers

    outside = [Question(f"u{i}", f"policy {i}", "c", False) for i in range(3)]
    replies = {"Who proposed LSTM?": answer("The course material does not cover this.", [], True),
               "policy 0": answer("The course material does not cover this.", [], True),
               "policy 1": answer("The course material does not cover this.", [], True),
               "policy 2": answer("Ten credits [1].", [(1, hit("x.md", "X", "ten credits"))])}
    report = evaluate_answers(lambda q: replies[q.question], [QUESTION, *outside])
    assert report.refusal_rate == 2 / 3  # recall: 2 of 3 out-of-course declined
    assert report.refusal_precision == 2 / 3  # 2 of 3 refusals were out-of-course
    assert report.over_refusal == 1.0
