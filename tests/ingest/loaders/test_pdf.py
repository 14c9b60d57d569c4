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


def encrypted_copy(tmp_path: Path, user_password: str, algorithm: str) -> Path:
    plain = tmp_path / "plain.pdf"
    make_pdf(plain, ["secret text"])
    writer = PdfWriter()
    for page in PdfReader(plain).pages:
        writer.add_page(page)
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm=algorithm)
    locked = tmp_path / f"locked-{algorithm}.pdf"
    with open(locked, "wb") as handle:
        writer.write(handle)
    return locked


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-256"])
def test_password_protected_pdf_is_refused_as_encrypted(tmp_path: Path, algorithm):
    locked = encrypted_copy(tmp_path, "pw", algorithm)
    with pytest.raises(LoadError, match="encrypted PDF: it needs a password"):
        loader_for(locked).load(locked)


def test_pdf_encrypted_only_against_copying_is_read(tmp_path: Path):
    locked = encrypted_copy(tmp_path, "", "AES-256")
    assert "secret text" in loader_for(locked).load(locked).sections[0].text


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
