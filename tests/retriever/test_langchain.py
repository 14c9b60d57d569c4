from langchain_core.documents import Document

from retriever.langchain import StudyhallRetriever
from retriever.service import SearchService


def test_langchain_retriever_returns_documents_with_citations(
    settings, catalog, fake_embedder, ingestor, course_dir
):
    ingestor.ingest(course_dir, "tiny")
    service = SearchService(settings, embedder=fake_embedder, catalog=catalog)
    retriever = StudyhallRetriever(service=service, course="tiny", k=2)
    docs = retriever.invoke("what does the KL term do")
    assert len(docs) == 2 and all(isinstance(d, Document) for d in docs)
    top = docs[0]
    assert top.metadata["heading_path"][-1] == "The KL term"
    assert top.metadata["location"] == "vaes.md#section=the-kl-term"
    assert "KL divergence" in top.page_content
    assert "text" not in top.metadata


def test_search_course_tool_returns_passages_with_locations(
    settings, catalog, fake_embedder, ingestor, course_dir
):
    from langchain_core.messages import ToolCall

    from retriever.langchain import search_tool

    ingestor.ingest(course_dir, "tiny")
    tool = search_tool(SearchService(settings, embedder=fake_embedder, catalog=catalog), "tiny")
    assert tool.name == "search_course" and tool.args["k"]["maximum"] == 20
    message = tool.invoke(ToolCall(name="search_course", args={"query": "the KL term", "k": 2},
                                   id="c1", type="tool_call"))
    assert message.content.startswith("[1] ") and "vaes.md#section=the-kl-term" in message.content
    assert len(message.artifact) == 2
