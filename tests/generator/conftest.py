"""The answer service over the small test course, with a scripted model."""

import pytest

from generator.answer import AnswerService
from generator.answer_cache import AnswerCache
from generator.conversations import ConversationStore
from retriever.service import SearchService
from studyhall.core.settings import AnswerSettings


@pytest.fixture
def search(settings, catalog, fake_embedder, ingestor, course_dir) -> SearchService:
    ingestor.ingest(course_dir, "tiny")
    return SearchService(settings, embedder=fake_embedder, catalog=catalog)


def make_service(settings, search, generator, tmp_path, *, cached: bool = False,
                 **answer) -> AnswerService:
    """Answers with ``answer`` settings over the defaults the tests share; ``cached``: with
    an answer cache in the conversations' SQLite file."""
    settings = settings.model_copy(update={
        "answer": AnswerSettings(**({"min_confidence": 0.3, "judge": False} | answer)),
    })
    database = tmp_path / "c.sqlite"
    return AnswerService(settings, search, generator, ConversationStore(database),
                         cache=AnswerCache(database) if cached else None)
