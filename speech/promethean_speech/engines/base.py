"""The engine protocols and the lazy, one-at-a-time wrapper every engine runs behind."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Generic, Protocol, TypeVar

import numpy as np

from ..errors import ApiError


@dataclass
class Word:
    word: str
    start: float
    end: float
    probability: float


@dataclass
class Segment:
    id: int
    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    temperature: float
    tokens: list[int] = field(default_factory=list)


@dataclass
class Transcription:
    text: str
    language: str
    duration: float
    segments: list[Segment]
    words: list[Word]


@dataclass
class Speech:
    pcm: np.ndarray  # mono s16
    sample_rate: int


@dataclass
class Completion:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


class SttModel(Protocol):
    def transcribe(self, audio: np.ndarray, language: str | None, prompt: str | None, temperature: float, words: bool) -> Transcription: ...


class TtsModel(Protocol):
    sample_rate: int

    def synthesize(self, text: str, speed: float) -> Speech: ...


class LlmModel(Protocol):
    def complete(self, messages: list[dict[str, str]], temperature: float, max_tokens: int, seed: int | None, stop: list[str]) -> Completion: ...


M = TypeVar("M")


class Engine(Generic[M]):
    """
    One model of one kind: `id` is what clients name in `model`; the model loads on first use (or at
    start with --preload). Requests run one at a time (the models are CPU-bound and not re-entrant);
    at most `max_waiting` wait, further ones get 429 so no queue grows without bound.
    """

    def __init__(self, id: str, kind: str, engine: str, backend: str, load: Callable[[], M], max_waiting: int = 8, info: dict | None = None) -> None:
        self.id = id
        self.kind = kind
        self.engine = engine
        self.backend = backend
        self.info = info or {}
        self._load = load
        self._model: M | None = None
        self._lock = threading.Lock()
        self._waiting = 0
        self._waiting_lock = threading.Lock()
        self.max_waiting = max_waiting
        self.load_seconds: float | None = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def model(self) -> M:
        if self._model is None:
            t0 = time.monotonic()
            try:
                self._model = self._load()
            except ApiError:
                raise
            except Exception as e:  # a model that cannot load is the server's failure, not the client's
                raise ApiError(503, "model_unavailable", f"{self.id} could not be loaded: {e}", "model") from e
            self.load_seconds = time.monotonic() - t0
        return self._model

    def run(self, fn: Callable[[M], object]):
        with self._waiting_lock:
            if self._waiting >= self.max_waiting:
                raise ApiError(429, "busy", f"{self.id} has {self._waiting} requests waiting; try again later", type_="rate_limit_error")
            self._waiting += 1
        try:
            with self._lock:
                return fn(self.model())
        finally:
            with self._waiting_lock:
                self._waiting -= 1

    def describe(self) -> dict:
        return {"engine": self.engine, "model": self.id, "backend": self.backend}
