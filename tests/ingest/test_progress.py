"""An ingest's progress where the output is a log: plain lines, with what is left."""

from __future__ import annotations


def test_progress_in_a_log_is_a_line_every_few_seconds_with_what_is_left():
    import io

    from ingest.progress import Lines

    out = io.StringIO()
    lines = Lines(100, "embedding", "chunk", every_s=0.0, out=out)
    with lines:
        lines.update(25)
        lines.set_postfix_str("3 files")
        lines.update(75)
    printed = out.getvalue().splitlines()
    assert printed[0].startswith("embedding: 25/100 chunks, about ") and printed[0].endswith(" s left")
    assert printed[-1] == "embedding: 100/100 chunks, 3 files"
