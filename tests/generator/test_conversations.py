import pytest

from generator.conversations import ConversationStore, UnknownMessage, UnknownSession


def test_messages_and_feedback_round_trip(tmp_path):
    store = ConversationStore(tmp_path / "db.sqlite")
    session = store.new_session("tiny")
    store.add_message(session, "user", "What is a GAN?")
    reply = store.add_message(session, "assistant", "Two networks [1].",
                              citations=[{"n": 1, "source": "gans.md"}])
    assert store.session_course(session) == "tiny"
    assert store.recent_turns(session, 10) == [("user", "What is a GAN?"),
                                               ("assistant", "Two networks [1].")]
    assert store.messages(session)[1]["citations"] == [{"n": 1, "source": "gans.md"}]
    store.add_feedback(reply, 1, "clear")
    store.add_feedback(reply, -1)
    assert store.feedback_counts() == {"up": 1, "down": 1}
    # a second store over the same file sees the same data: it is on disk
    assert ConversationStore(tmp_path / "db.sqlite").recent_turns(session, 1) == [
        ("assistant", "Two networks [1].")
    ]


def test_recent_turns_keeps_the_latest_in_order(tmp_path):
    store = ConversationStore(tmp_path / "db.sqlite")
    session = store.new_session("c")
    for n in range(5):
        store.add_message(session, "user", f"q{n}")
    assert store.recent_turns(session, 2) == [("user", "q3"), ("user", "q4")]


def test_unknown_session_message_and_bad_rating_are_refused(tmp_path):
    store = ConversationStore(tmp_path / "db.sqlite")
    with pytest.raises(UnknownSession):
        store.session_course("nope")
    session = store.new_session("c")
    question = store.add_message(session, "user", "q")
    with pytest.raises(UnknownMessage):
        store.add_feedback(999, 1)
    with pytest.raises(UnknownMessage):
        store.add_feedback(question, 1)  # feedback is on answers, not questions
    with pytest.raises(ValueError, match="rating must be 1"):
        store.add_feedback(question, 5)
