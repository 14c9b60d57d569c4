from pathlib import Path

import pytest

from ingest.loaders import LoadError, loader_for

SRT = """1
00:00:01,000 --> 00:00:04,000
Welcome to the lecture on attention.

2
00:00:30,000 --> 00:00:40,000
Queries are compared with keys.

3
00:01:20,000 --> 00:01:25,000
<i>Now</i> the values are mixed.
"""

VTT = """WEBVTT

00:00:00.000 --> 00:00:05.000
GANs have two players.

00:02:00.000 --> 00:02:05.000
The discriminator judges.
"""


def test_srt_cues_are_grouped_into_timed_windows(tmp_path: Path):
    path = tmp_path / "lecture.srt"
    path.write_text(SRT)
    doc = loader_for(path).load(path)
    assert [(s.anchor.kind, s.anchor.ref) for s in doc.sections] == [("time", "1"), ("time", "80")]
    assert doc.sections[0].anchor.label == "00:00:01–00:00:40"
    assert "Queries are compared with keys." in doc.sections[0].text
    assert doc.sections[1].text == "Now the values are mixed."


def test_vtt_cues_are_read(tmp_path: Path):
    path = tmp_path / "talk.vtt"
    path.write_text(VTT)
    doc = loader_for(path).load(path)
    assert [s.anchor.ref for s in doc.sections] == ["0", "120"]


def test_malformed_vtt_is_refused(tmp_path: Path):
    path = tmp_path / "bad.vtt"
    path.write_text("this is not webvtt\n")
    with pytest.raises(LoadError, match="WebVTT"):
        loader_for(path).load(path)


def test_srt_without_cues_is_refused(tmp_path: Path):
    path = tmp_path / "empty.srt"
    path.write_text("\n\n")
    with pytest.raises(LoadError):
        loader_for(path).load(path)
