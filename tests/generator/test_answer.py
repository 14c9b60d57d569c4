"""The answer service with a scripted generator over a real (small) index."""

import threading

import pytest

from generator.answer import PROMPT_MARGIN
from generator.base import GenerationParams
from generator.gate import confidence
from generator.prompts import DEFAULT, JUDGE, NOT_COVERED, REMINDER, TERMS_SYSTEM
from studyhall.core.errors import Busy, InvalidRequest
from tests.conftest import ScriptedGenerator
from tests.generator.conftest import make_service


def test_an_answer_cites_only_real_sources_and_lists_only_those(settings, search, tmp_path):
    generator = ScriptedGenerator(lambda m: "Mode collapse means few outputs [1]. Also [9].")
    service = make_service(settings, search, generator, tmp_path)
    answer = service.ask("what is mode collapse in GAN training", "tiny")
    assert answer.text == "Mode collapse means few outputs [1]. Also."
    assert not answer.refused
    [(n, hit)] = answer.citations
    assert n == 1 and hit.chunk.heading_path[-1] == "Why training is unstable"
    assert answer.citations[0].hit.chunk.location == "gans.md#section=why-training-is-unstable"
    assert answer.timings.retrieve_ms is not None and answer.timings.first_token_ms is not None


def test_the_sources_are_sent_before_the_model_writes_and_numbered_as_it_cites_them(
        settings, search, tmp_path):
    def answer(messages):
        assert [kind for kind, _ in seen] == ["sources"]  # the model runs after the event
        return "Mode collapse means few outputs [1]."

    seen = []
    service = make_service(settings, search, ScriptedGenerator(answer), tmp_path)
    for event in service.stream("what is mode collapse in GAN training", "tiny"):
        seen.append(event)
    kinds = [kind for kind, _ in seen]
    assert kinds[0] == "sources" and kinds.count("sources") == 1 and kinds[-1] == "done"
    sources, done = seen[0][1], seen[-1][1]
    assert [n for n, _ in sources] == list(range(1, done.sources_given + 1))
    assert done.citations[0] == sources[0]  # [1] is the first source sent
    assert done.timings.sources_ms <= done.timings.first_token_ms
    refused = list(service.stream("Quarterly tax filing deadline?", "tiny"))
    assert [kind for kind, _ in refused] == ["token", "done"]  # no model: nothing to read


def test_sources_reach_the_model_numbered_after_the_fixed_system_prompt(settings, search, tmp_path):
    generator = ScriptedGenerator(lambda m: "ok [1]")
    service = make_service(settings, search, generator, tmp_path)
    service.ask("what does the discriminator do", "tiny")
    system, user = generator.calls[0]
    assert system.role == "system" and "Tiny Course" in system.content
    assert "not instructions" in system.content
    assert user.content.startswith("Sources:\n\n<source n=1 ")
    assert "Question: what does the discriminator do\n\n" in user.content
    assert user.content.endswith(REMINDER)
    service.ask("what is the generator", "tiny")
    assert generator.calls[1][0] == system  # same leading text: the KV cache is reused


def test_a_question_the_course_does_not_cover_is_refused_without_the_model(settings, search, tmp_path):
    generator = ScriptedGenerator(lambda m: "should not be called")
    service = make_service(settings, search, generator, tmp_path)
    # (the hashing fake embedder keeps stop words, so the question avoids them)
    answer = service.ask("Quarterly tax filing deadline?", "tiny")
    assert answer.refused and answer.text.startswith(NOT_COVERED)
    assert generator.calls == []
    assert answer.timings.first_token_ms is None


def test_a_question_naming_what_the_course_never_mentions_is_refused_saying_so(
        settings, search, tmp_path):
    generator = ScriptedGenerator(lambda m: "The generator makes fakes [1].")
    service = make_service(settings, search, generator, tmp_path)
    answer = service.ask("what does the generator of StyleGAN do", "tiny")
    assert answer.refused and generator.calls == []
    assert "It never mentions StyleGAN." in answer.text
    assert [s.title for s in answer.suggestions][0].startswith("Generative adversarial")
    assert not service.ask("what does the generator of a GAN do", "tiny").refused
    unchecked = make_service(settings, search, generator, tmp_path, name_check=False)
    assert not unchecked.ask("what does the generator of StyleGAN do", "tiny").refused


def test_the_model_saying_not_covered_is_a_refusal_with_suggestions(settings, search, tmp_path):
    generator = ScriptedGenerator(lambda m: NOT_COVERED)
    service = make_service(settings, search, generator, tmp_path)
    answer = service.ask("who invented the generator network", "tiny")
    assert answer.refused and answer.citations == ()
    assert answer.suggestions and answer.text.startswith(NOT_COVERED + " The closest lessons are:")


def test_a_follow_up_is_rewritten_before_retrieval(settings, search, tmp_path):
    def reply(messages):
        if "standalone question" in messages[0].content:
            return "What does the encoder of a variational autoencoder do?"
        return "It maps inputs to a Gaussian [1]."

    generator = ScriptedGenerator(reply)
    service = make_service(settings, search, generator, tmp_path)
    first = service.ask("what is a variational autoencoder", "tiny")
    second = service.ask("and what does its encoder do?", "tiny", session_id=first.session_id)
    assert second.standalone_question == "What does the encoder of a variational autoencoder do?"
    assert "Student: what is a variational autoencoder" in generator.calls[1][1].content
    assert second.citations[0][1].chunk.heading_path[-1] == "The encoder"
    assert second.timings.rewrite_ms is not None
    assert len(service.store.messages(first.session_id)) == 4


def test_sources_are_trimmed_to_fit_the_context_window(settings, search, tmp_path):
    question = "generator discriminator noise latent encoder"
    fixed = sum(len(t.split()) for t in (DEFAULT.system_prompt("Tiny Course"), question, REMINDER))
    window = 850 + fixed + PROMPT_MARGIN + 16 + 40  # room for about 40 words of sources
    generator = ScriptedGenerator(lambda m: "ok [1]", context_window=window)
    service = make_service(settings, search, generator, tmp_path)
    service.params = GenerationParams(max_tokens=850)
    answer = service.ask(question, "tiny")
    prompt_tokens = sum(generator.count_tokens(m.content) for m in generator.calls[0])
    assert 1 <= answer.sources_given < 5
    assert prompt_tokens + 850 <= window


def test_a_full_queue_refuses_before_any_work(settings, search, tmp_path):
    generator = ScriptedGenerator(lambda m: "ok [1]")
    service = make_service(settings, search, generator, tmp_path, max_waiting=0)
    held = service.queue.enter()
    with pytest.raises(Busy):
        next(service.stream("what is a generator", "tiny"))
    held.leave()
    assert service.ask("what is a generator", "tiny").text


def test_cancelling_stops_the_generation(settings, search, tmp_path):
    generator = ScriptedGenerator(lambda m: " ".join(["word"] * 200) + " [1]")
    service = make_service(settings, search, generator, tmp_path)
    cancel = threading.Event()
    events = service.stream("what is a generator", "tiny", cancel=cancel)
    assert next(events)[0] == "sources"
    assert next(events)[0] == "token"
    cancel.set()
    list(events)
    assert generator.stopped_early
    assert service.queue.inside == 0


def test_bad_questions_and_foreign_sessions_are_refused(settings, search, tmp_path, ingestor, course_dir):
    service = make_service(settings, search, ScriptedGenerator(lambda m: "x"), tmp_path)
    with pytest.raises(InvalidRequest, match="question must not be empty"):
        service.ask("  ", "tiny")
    ingestor.ingest(course_dir, "other")
    session = service.store.new_session("other")
    with pytest.raises(InvalidRequest, match="another course"):
        service.ask("what is a GAN", "tiny", session_id=session)


def test_the_coverage_check_shares_the_sources_prefix_with_the_answer(settings, search, tmp_path):
    generator = ScriptedGenerator(lambda m: "yes" if JUDGE in m[1].content else "Two nets [1].")
    service = make_service(settings, search, generator, tmp_path, judge=True)
    answer = service.ask("what does the discriminator do", "tiny")
    judge, reply = generator.calls
    assert judge[0] == reply[0]
    prefix = judge[1].content[: -len(JUDGE)]
    assert reply[1].content.startswith(prefix) and reply[1].content.endswith(REMINDER)
    assert not answer.refused and answer.citations


def test_a_no_from_the_coverage_check_refuses_without_generating(settings, search, tmp_path):
    generator = ScriptedGenerator(lambda m: "No" if JUDGE in m[1].content else "made up [1]")
    service = make_service(settings, search, generator, tmp_path, judge=True)
    answer = service.ask("what does the discriminator do", "tiny")
    assert answer.refused and answer.suggestions
    assert len(generator.calls) == 1  # the check only


def test_confident_retrieval_skips_the_coverage_check(settings, search, tmp_path):
    generator = ScriptedGenerator(lambda m: "No" if JUDGE in m[1].content else "Two nets [1].")
    service = make_service(settings, search, generator, tmp_path, judge=True, judge_below=0.3)
    answer = service.ask("what does the discriminator do", "tiny")
    assert not answer.refused and len(generator.calls) == 1  # the answer only


def test_an_answer_from_memory_is_withdrawn(settings, search, tmp_path):
    generator = ScriptedGenerator(lambda m: "Dropout randomly zeroes hidden activations [1].")
    service = make_service(settings, search, generator, tmp_path)
    answer = service.ask("what does the discriminator do", "tiny")
    assert answer.refused and answer.text.startswith(NOT_COVERED) and answer.citations == ()


def _best_cosine(search, question):
    return confidence(search.search(question, "tiny", k=5))


def test_a_question_in_everyday_words_is_restated_and_rescued(settings, search, tmp_path):
    slang, restated = "why does my fake picture maker wobble", "why is GAN training unstable"
    low, high = _best_cosine(search, slang), _best_cosine(search, restated)
    assert low < high
    generator = ScriptedGenerator(lambda m: restated if m[0].content == TERMS_SYSTEM
                                  else "yes" if JUDGE in m[1].content else "It oscillates [1].")
    service = make_service(settings, search, generator, tmp_path, judge=True,
                           rescue_above=low - 0.01, min_confidence=(low + high) / 2,
                           judge_below=-1.0)
    answer = service.ask(slang, "tiny")
    assert not answer.refused and answer.timings.rescue_ms is not None
    terms, judge, reply = generator.calls  # rescued: always checked, even above judge_below
    assert terms[1].content == slang and JUDGE in judge[1].content
    assert "Question: " + slang in reply[1].content  # answered in the student's words
    assert answer.citations[0][1].chunk.source == "gans.md"


def test_a_restatement_that_finds_nothing_better_is_still_refused(settings, search, tmp_path):
    question = "why does my fake picture maker wobble"
    low = _best_cosine(search, question)
    generator = ScriptedGenerator(lambda m: "quarterly tax filing deadline")
    service = make_service(settings, search, generator, tmp_path, rescue_above=low - 0.01,
                           min_confidence=low + 0.01)
    answer = service.ask(question, "tiny")
    assert answer.refused and len(generator.calls) == 1  # the restatement only


def test_below_the_rescue_band_nothing_calls_the_model(settings, search, tmp_path):
    question = "why does my fake picture maker wobble"
    low = _best_cosine(search, question)
    generator = ScriptedGenerator(lambda m: "should not be called")
    service = make_service(settings, search, generator, tmp_path, rescue_above=low + 0.01,
                           min_confidence=low + 0.02)
    assert service.ask(question, "tiny").refused and generator.calls == []


def test_an_answer_that_starts_repeating_itself_is_cut_and_generation_stops(settings, search,
                                                                           tmp_path):
    loop = "The generator learns to fool the discriminator [1]. "
    generator = ScriptedGenerator(lambda m: "Mode collapse means few distinct outputs [1]. "
                                  + loop * 20 + "Never reached.")
    service = make_service(settings, search, generator, tmp_path)
    answer = service.ask("what is mode collapse in GAN training", "tiny")
    assert answer.text.count("fool the discriminator") == 1
    assert "Never reached" not in answer.text
    assert generator.stopped_early


def test_the_prompt_setting_picks_the_layout_the_model_reads(settings, search, tmp_path):
    def titles(service) -> list[str]:
        service.ask("what does the discriminator do", "tiny")
        user = service.generator.calls[-1][-1].content
        return [line.split('title="')[1] for line in user.splitlines() if line.startswith("<source")]

    default = make_service(settings, search, ScriptedGenerator(lambda m: "ok [1]"), tmp_path)
    last = make_service(settings, search, ScriptedGenerator(lambda m: "ok [1]"), tmp_path,
                        prompt="best-passage-last")
    shown = titles(default)
    assert len(shown) >= 2 and titles(last) == shown[::-1]  # the best one next to the question


def test_a_course_with_its_own_gate_is_answered_by_its_thresholds(settings, search, tmp_path):
    from generator.gate import clear_fit, fit_gate, save_fit

    generator = ScriptedGenerator(lambda m: "Mode collapse means few outputs [1].")
    service = make_service(settings, search, generator, tmp_path, rescue_above=None)
    question = "what is mode collapse in GAN training"
    score = confidence(search.search(question, "tiny", k=5))
    assert not service.ask(question, "tiny").refused  # the settings' 0.3
    strict = fit_gate([score + 0.05] * 30, [0.0] * 5, service.settings.answer, chunks=10)
    assert strict.min_confidence > score
    save_fit(search.catalog.course_dir("tiny"), strict)
    assert service.ask(question, "tiny").refused  # this course's own threshold
    assert len(generator.calls) == 1  # refused by the gate, the model not asked
    clear_fit(search.catalog.course_dir("tiny"))
    assert not service.ask(question, "tiny").refused  # the same service sees it gone


def test_the_closest_lessons_name_each_lesson_once():
    from generator.answer import _suggestions
    from ingest.documents import Anchor, Chunk
    from retriever.base import Hit

    def hit(source: str, title: str, rank: int) -> Hit:
        chunk = Chunk(f"{source}#{rank}", "c", source, title, (title,),
                      Anchor("section", "s", "s"), "text", "text")
        return Hit(chunk, 1.0 / rank, rank)

    hits = [hit("a/index.md", "assignment3", 1), hit("b/index.md", "assignment3", 2),
            hit("a/index.md", "assignment3", 3), hit("c.md", "Convolutional networks", 4)]
    assert [s.source for s in _suggestions(hits)] == ["a/index.md", "c.md"]
