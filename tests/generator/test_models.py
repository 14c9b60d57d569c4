import hashlib
import sys

import pytest

from generator import models
from generator.models import ModelNotAvailable, ModelSpec, resolve_model


@pytest.fixture
def part_packages(tmp_path, monkeypatch):
    """Three importable packages, each with data/partNN.bin, like the model packages."""
    pieces = [b"GGUF" + bytes(range(50)), b"middle" * 100, b"end"]
    for n, piece in enumerate(pieces, start=1):
        package = tmp_path / "site" / f"fakepart{n}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{n:02d}.bin").write_bytes(piece)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    yield b"".join(pieces)
    for n in range(1, 4):
        sys.modules.pop(f"fakepart{n}", None)


def register(monkeypatch, sha256: str, count: int = 3) -> None:
    spec = ModelSpec(name="fake", filename="fake.gguf", sha256=sha256, size_note="1 KB",
                     parts=tuple(f"fakepart{n}" for n in range(1, count + 1)),
                     part_distribution="fakepart{n}")
    monkeypatch.setitem(models.MODELS, "fake", spec)


def test_parts_are_assembled_in_order_and_verified(part_packages, monkeypatch, tmp_path):
    register(monkeypatch, hashlib.sha256(part_packages).hexdigest())
    path = resolve_model("fake", tmp_path / "models")
    assert path.read_bytes() == part_packages
    assert not list((tmp_path / "models").glob("*.partial"))


def test_a_verified_file_is_not_hashed_again(part_packages, monkeypatch, tmp_path):
    register(monkeypatch, hashlib.sha256(part_packages).hexdigest())
    resolve_model("fake", tmp_path / "models")
    monkeypatch.setattr(models, "_part_files", lambda spec: pytest.fail("re-assembled"))
    assert resolve_model("fake", tmp_path / "models").is_file()


def test_a_file_that_changed_after_verification_is_rebuilt(part_packages, monkeypatch, tmp_path):
    register(monkeypatch, hashlib.sha256(part_packages).hexdigest())
    path = resolve_model("fake", tmp_path / "models")
    path.write_bytes(b"tampered")
    assert resolve_model("fake", tmp_path / "models").read_bytes() == part_packages


def test_wrong_bytes_are_refused_and_nothing_is_left_behind(part_packages, monkeypatch, tmp_path):
    register(monkeypatch, "0" * 64)
    with pytest.raises(ModelNotAvailable, match="expected 0000"):
        resolve_model("fake", tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_a_missing_package_names_what_to_install(monkeypatch, tmp_path):
    register(monkeypatch, "0" * 64, count=4)  # fakepart4 does not exist
    with pytest.raises(ModelNotAvailable, match="not installed: pip install fakepart1"):
        resolve_model("fake", tmp_path / "models")


def test_unknown_names_and_gguf_paths(tmp_path):
    with pytest.raises(ModelNotAvailable, match="neither a known model"):
        resolve_model("gpt-5", tmp_path)
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve_model(str(gguf), tmp_path) == gguf


def test_profiles_name_known_models():
    assert set(models.PROFILES.values()) <= set(models.MODELS)
