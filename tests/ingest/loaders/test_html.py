from pathlib import Path

from ingest.loaders import loader_for

PAGE = """<!doctype html><html><head><title>Attention page</title>
<style>body { color: red }</style><script>var secret = "do not index";</script></head>
<body><nav>Home | About</nav>
<h1>Transformers</h1><p>Attention lets every token look at <b>every</b> other token.</p>
<h2>Why it parallelises</h2><p>All positions are computed at once.</p><ul><li>No recurrence</li></ul>
<footer>Copyright</footer></body></html>"""


def test_html_splits_at_headings_and_drops_page_chrome(tmp_path: Path):
    path = tmp_path / "page.html"
    path.write_text(PAGE)
    doc = loader_for(path).load(path)
    assert doc.title == "Transformers"
    paths = [s.heading_path for s in doc.sections]
    assert paths == [("Transformers",), ("Transformers", "Why it parallelises")]
    text = " ".join(s.text for s in doc.sections)
    assert "Attention lets every token look at every other token." in text
    assert "No recurrence" in text
    for chrome in ("secret", "color: red", "Home | About", "Copyright"):
        assert chrome not in text
