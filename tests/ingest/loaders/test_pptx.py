from pathlib import Path

import pytest
from pptx import Presentation

from ingest.loaders import LoadError, loader_for


def make_deck(path: Path) -> None:
    deck = Presentation()
    deck.core_properties.title = "Diffusion deck"
    layout = deck.slide_layouts[1]  # title and content
    slide = deck.slides.add_slide(layout)
    slide.shapes.title.text = "Forward process"
    slide.placeholders[1].text = "Noise is added step by step."
    slide.notes_slide.notes_text_frame.text = "Mention the closed form here."
    blank = deck.slides.add_slide(deck.slide_layouts[6])  # no text at all
    assert not blank.shapes.title
    slide = deck.slides.add_slide(layout)
    slide.shapes.title.text = "Reverse process"
    slide.placeholders[1].text = "A network predicts the noise."
    deck.save(str(path))


def test_slides_become_sections_with_speaker_notes(tmp_path: Path):
    path = tmp_path / "deck.pptx"
    make_deck(path)
    doc = loader_for(path).load(path)
    assert doc.title == "Diffusion deck"
    assert [s.anchor.ref for s in doc.sections] == ["1", "3"]
    first = doc.sections[0]
    assert first.anchor.label == "slide 1: Forward process"
    assert first.heading_path == ("Diffusion deck", "Forward process")
    assert "Noise is added step by step." in first.text
    assert "Speaker notes: Mention the closed form here." in first.text


def test_corrupt_pptx_is_refused(tmp_path: Path):
    path = tmp_path / "broken.pptx"
    path.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(LoadError, match="corrupt"):
        loader_for(path).load(path)
