"""The model manifest (models/manifest.json): which speech models exist, where they live, their hashes.

Models are resolved from here and the model folder only, never from a hub.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelFile:
    path: str
    bytes: int
    sha256: str
    #: Package-relative files whose concatenation is this file (empty when it ships otherwise).
    sources: tuple[str, ...]


@dataclass(frozen=True)
class ModelEntry:
    name: str
    kind: str
    engine: str
    dir: str
    licence: str
    size_bytes: int
    languages: tuple[str, ...]
    files: tuple[ModelFile, ...]

    @property
    def installable(self) -> bool:
        """Speech models assembled from installed packages by install_models."""
        return self.kind in ("stt", "tts", "llm") and all(f.sources for f in self.files)


def load_manifest(path: Path) -> list[ModelEntry]:
    doc = json.loads(path.read_text())
    out = []
    for m in doc["models"]:
        files = tuple(ModelFile(f["path"], int(f["bytes"]), f["sha256"], tuple(f.get("from", ()))) for f in m.get("files", []))
        out.append(ModelEntry(
            name=m["name"], kind=m.get("kind", ""), engine=m.get("engine", ""), dir=m.get("dir", m["name"]),
            licence=m.get("licence", m.get("license", "")), size_bytes=int(m.get("size_bytes", sum(f.bytes for f in files))),
            languages=tuple(m.get("languages", ())), files=files,
        ))
    return out


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_file(path: Path, f: ModelFile) -> str | None:
    """None when the file matches; else what differs."""
    if not path.is_file():
        return "missing"
    size = path.stat().st_size
    if size != f.bytes:
        return f"{size} bytes, the manifest says {f.bytes}"
    digest = sha256_file(path)
    if digest != f.sha256:
        return f"sha256 {digest}, the manifest says {f.sha256}"
    return None


def model_dir(models_dir: Path, entry: ModelEntry) -> Path:
    return models_dir / entry.dir


def find(entries: list[ModelEntry], name: str) -> ModelEntry:
    for e in entries:
        if e.name == name:
            return e
    raise KeyError(name)
