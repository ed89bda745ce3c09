"""Whisper on faster-whisper (CTranslate2, CPU int8)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .base import Segment, Transcription, Word


class FasterWhisperStt:
    def __init__(self, model_dir: Path, threads: int, english_only: bool) -> None:
        from faster_whisper import WhisperModel

        self.english_only = english_only
        self._model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads, local_files_only=True)

    def transcribe(self, audio: np.ndarray, language: str | None, prompt: str | None, temperature: float, words: bool) -> Transcription:
        if self.english_only and language not in (None, "en"):
            from ..errors import ApiError

            raise ApiError(400, "unsupported_language", f"this model is English-only; language {language!r} needs a multilingual model", "language")
        segments, info = self._model.transcribe(
            audio,
            language="en" if self.english_only else language,
            initial_prompt=prompt or None,
            temperature=temperature if temperature > 0 else 0.0,
            beam_size=1,
            word_timestamps=words,
            vad_filter=False,
            condition_on_previous_text=False,
        )
        segs: list[Segment] = []
        ws: list[Word] = []
        for i, s in enumerate(segments):
            segs.append(Segment(i, float(s.start), float(s.end), s.text, float(s.avg_logprob), float(s.no_speech_prob), float(s.compression_ratio), float(s.temperature or 0.0), list(s.tokens)))
            for w in s.words or []:
                ws.append(Word(w.word.strip(), float(w.start), float(w.end), float(w.probability)))
        text = "".join(s.text for s in segs).strip()
        return Transcription(text, info.language, float(info.duration), segs, ws)
