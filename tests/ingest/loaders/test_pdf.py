from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen import canvas

from ingest.loaders import LoadError, loader_for


def make_pdf(path: Path, pages: list[str], title: str | None = None) -> None:
    pdf = canvas.Canvas(str(path))
    if title:
        pdf.setTitle(title)
    for text in pages:
        if text:
            pdf.drawString(72, 720, text)
        pdf.showPage()
    pdf.save()


def test_pages_with_text_become_page_anchored_sections(tmp_path: Path):
    path = tmp_path / "slides.pdf"
    make_pdf(path, ["GANs have a generator.", "", "VAEs have an encoder."], title="Deck")
    doc = loader_for(path).load(path)
    assert doc.title == "Deck"
    assert [(s.anchor.kind, s.anchor.ref) for s in doc.sections] == [("page", "1"), ("page", "3")]
    assert "encoder" in doc.sections[1].text


def test_encrypted_pdf_is_refused_as_encrypted(tmp_path: Path):
    plain = tmp_path / "plain.pdf"
    make_pdf(plain, ["secret text"])
    writer = PdfWriter()
    for page in PdfReader(plain).pages:
        writer.add_page(page)
    writer.encrypt(user_password="pw", owner_password="owner")
    locked = tmp_path / "locked.pdf"
    with open(locked, "wb") as handle:
        writer.write(handle)
    with pytest.raises(LoadError, match="encrypted"):
        loader_for(locked).load(locked)


def test_corrupt_pdf_is_refused(tmp_path: Path):
    path = tmp_path / "corrupt.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20)
    with pytest.raises(LoadError, match="corrupt|no extractable"):
        loader_for(path).load(path)


def test_pdf_without_text_asks_for_ocr(tmp_path: Path):
    path = tmp_path / "scan.pdf"
    make_pdf(path, ["", ""])
    with pytest.raises(LoadError, match="no extractable text"):
        loader_for(path).load(path)


def test_empty_file_is_refused(tmp_path: Path):
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    with pytest.raises(LoadError):
        loader_for(path).load(path)
