"""Which engines the server offers: built from the manifest and the model folder, never from a hub."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .engines.base import Engine
from .errors import ApiError
from .manifest import ModelEntry, load_manifest, model_dir

#: OpenAI model names clients already send, mapped to this server's defaults.
ALIASES = {"whisper-1": "stt", "gpt-4o-transcribe": "stt", "gpt-4o-mini-transcribe": "stt", "tts-1": "tts", "tts-1-hd": "tts", "gpt-4o-mini-tts": "tts"}


@dataclass
class Registry:
    engines: dict[str, Engine]
    defaults: dict[str, str]

    def get(self, name: str | None, kind: str) -> Engine:
        if not name or ALIASES.get(name) == kind:
            name = self.defaults[kind]
        engine = self.engines.get(name)
        if engine is None or engine.kind != kind:
            known = ", ".join(e.id for e in self.engines.values() if e.kind == kind)
            raise ApiError(404, "model_not_found", f"no {kind} model {name!r} (this server has: {known})", "model")
        return engine


def build_registry(manifest: Path, models_dir: Path, threads: int, stt_default: str, tts_default: str, llm_default: str) -> Registry:
    entries = load_manifest(manifest)
    engines: dict[str, Engine] = {}

    def add(e: Engine) -> None:
        engines[e.id] = e

    for entry in entries:
        folder = model_dir(models_dir, entry)
        if entry.kind == "stt" and entry.engine == "faster-whisper":
            add(Engine(entry.name, "stt", "faster-whisper", "ctranslate2-int8", _stt_loader(folder, threads, entry), info=_info(entry)))
        elif entry.kind == "tts" and entry.engine == "piper":
            onnx = next(f.path for f in entry.files if f.path.endswith(".onnx"))
            add(Engine(entry.name, "tts", "piper", "onnxruntime", _piper_loader(folder, onnx, "onnxruntime", threads), info=_info(entry)))
            add(Engine(f"{entry.name}:openvino", "tts", "piper", "openvino", _piper_loader(folder, onnx, "openvino", threads), info=_info(entry)))
        elif entry.kind == "llm" and entry.engine.startswith("llama.cpp"):
            gguf = next(f.path for f in entry.files if f.path.endswith(".gguf"))
            add(Engine(entry.name, "llm", "llama.cpp", "cyllama", _llm_loader(folder / gguf, threads), max_waiting=4, info=_info(entry)))
    add(Engine("espeak-ng", "tts", "espeak-ng", "espeak-ng", _espeak_loader(), info={"licence": "GPL-3.0-or-later (Debian package espeak-ng)"}))
    defaults = {"stt": stt_default, "tts": tts_default, "llm": llm_default}
    for kind, name in defaults.items():
        if name not in engines or engines[name].kind != kind:
            raise SystemExit(f"the default {kind} model {name!r} is not in {manifest} (known: {', '.join(engines)})")
    return Registry(engines, defaults)


def _info(entry: ModelEntry) -> dict:
    return {"licence": entry.licence, "size_bytes": entry.size_bytes, "languages": list(entry.languages)}


def _check_files(folder: Path) -> None:
    if not folder.is_dir():
        raise ApiError(503, "model_unavailable", f"{folder} is missing; run scripts/install-speech.sh", "model")


def _stt_loader(folder: Path, threads: int, entry: ModelEntry):
    def load():
        _check_files(folder)
        from .engines.stt_whisper import FasterWhisperStt

        return FasterWhisperStt(folder, threads, english_only=entry.languages == ("en",))

    return load


def _piper_loader(folder: Path, onnx: str, backend: str, threads: int):
    def load():
        _check_files(folder)
        from .engines.tts_piper import PiperTts

        return PiperTts(folder, onnx, backend, threads)

    return load


def _llm_loader(gguf: Path, threads: int):
    def load():
        _check_files(gguf.parent)
        from .engines.llm_llamacpp import LlamaCppLlm

        return LlamaCppLlm(gguf, threads)

    return load


def _espeak_loader():
    def load():
        from .engines.tts_espeak import EspeakTts

        return EspeakTts()

    return load
