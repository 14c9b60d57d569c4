import pytest
import sqlalchemy as sa

from generator.conversations import ConversationStore, UnknownMessage, UnknownSession


def test_messages_and_feedback_round_trip(database):
    store = ConversationStore(database)
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
    assert ConversationStore(database).recent_turns(session, 1) == [
        ("assistant", "Two networks [1].")
    ]


def test_recent_turns_keeps_the_latest_in_order(database):
    store = ConversationStore(database)
    session = store.new_session("c")
    for n in range(5):
        store.add_message(session, "user", f"q{n}")
    assert store.recent_turns(session, 2) == [("user", "q3"), ("user", "q4")]


def test_unknown_session_message_and_bad_rating_are_refused(database):
    store = ConversationStore(database)
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


def test_a_session_belongs_to_its_owner(database):
    store = ConversationStore(database)
    session = store.new_session("c", owner="lti:u1")
    assert store.session_course(session, "lti:u1") == "c"
    for stranger in ("lti:u2", None):
        with pytest.raises(UnknownSession):
            store.session_course(session, stranger)
    reply = store.add_message(session, "assistant", "an answer")
    with pytest.raises(UnknownMessage):
        store.add_feedback(reply, 1, owner="lti:u2")
    assert store.add_feedback(reply, 1, owner="lti:u1")


def test_sessions_idle_past_the_retention_are_deleted_with_their_feedback(database):
    store = ConversationStore(database, retention_days=30)
    old, recent = store.new_session("c"), store.new_session("c")
    for session in (old, recent):
        store.add_feedback(store.add_message(session, "assistant", "x"), 1)
    with database.begin() as db:  # the old one last spoke in 2025
        long_ago = {"at": "2025-01-01T00:00:00.000+00:00", "old": old}
        db.execute(sa.text("UPDATE messages SET created_at = :at WHERE session_id = :old"),
                   long_ago)
        db.execute(sa.text("UPDATE sessions SET created_at = :at WHERE id = :old"), long_ago)
    assert store.purge() == 1
    assert store.messages(old) == [] and len(store.messages(recent)) == 1
    with pytest.raises(UnknownSession):
        store.session_course(old)
    assert store.feedback_counts() == {"up": 1, "down": 0}
    assert ConversationStore(database, retention_days=None).purge() == 0
