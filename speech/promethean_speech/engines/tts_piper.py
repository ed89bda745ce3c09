"""Piper voices (VITS in ONNX): phonemes from Piper's own espeak-ng front end, the network on
onnxruntime (Piper's default) or on OpenVINO, which reads the same ONNX file directly."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .base import Speech


class PiperTts:
    def __init__(self, model_dir: Path, onnx_name: str, backend: str, threads: int) -> None:
        from piper import PiperVoice

        onnx = model_dir / onnx_name
        self._voice = PiperVoice.load(str(onnx), config_path=str(onnx) + ".json")
        self.sample_rate = int(self._voice.config.sample_rate)
        self.backend = backend
        self._ov = None
        if backend == "openvino":
            import openvino as ov

            self._ov = ov.Core().compile_model(str(onnx), "CPU", {"INFERENCE_NUM_THREADS": threads})

    def phoneme_ids(self, text: str) -> list[list[int]]:
        return [self._voice.phonemes_to_ids(s) for s in self._voice.phonemize(text) if s]

    def _infer(self, ids: list[int], length_scale: float) -> np.ndarray:
        c = self._voice.config
        scales = np.array([c.noise_scale, length_scale, c.noise_w_scale], dtype=np.float32)
        feeds = {"input": np.array([ids], dtype=np.int64), "input_lengths": np.array([len(ids)], dtype=np.int64), "scales": scales}
        if c.num_speakers > 1:
            feeds["sid"] = np.array([0], dtype=np.int64)
        if self._ov is not None:
            out = next(iter(self._ov(feeds).values()))
        else:
            out = self._voice.session.run(None, feeds)[0]
        return np.asarray(out, dtype=np.float32).reshape(-1)

    def synthesize(self, text: str, speed: float) -> Speech:
        length_scale = float(self._voice.config.length_scale) / speed
        chunks = []
        silence = np.zeros(int(self.sample_rate * 0.2), dtype=np.float32)
        for ids in self.phoneme_ids(text):
            chunks.append(self._infer(ids, length_scale))
            chunks.append(silence)
        audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        return Speech((np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16), self.sample_rate)

    def synthesize_first(self, text: str, speed: float) -> Speech:
        """Only the first sentence: the audio a streaming player could start with (time to first audio)."""
        first = self.phoneme_ids(text)[:1]
        audio = self._infer(first[0], float(self._voice.config.length_scale) / speed) if first else np.zeros(0, dtype=np.float32)
        return Speech((np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16), self.sample_rate)
