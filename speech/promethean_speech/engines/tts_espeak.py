"""espeak-ng (Debian) as the fallback voice: a formant synthesiser, no model files."""
from __future__ import annotations

import io
import shutil
import subprocess
import wave

import numpy as np

from ..errors import ApiError
from .base import Speech


class EspeakTts:
    sample_rate = 22_050

    def __init__(self, voice: str = "en-us") -> None:
        self._bin = shutil.which("espeak-ng")
        if self._bin is None:
            raise ApiError(503, "model_unavailable", "espeak-ng is not installed (Debian package espeak-ng)", "model")
        self._voice = voice

    def synthesize(self, text: str, speed: float) -> Speech:
        wpm = str(max(80, min(450, int(175 * speed))))
        # `--` ends the options so text starting with '-' is spoken, not parsed as a flag.
        r = subprocess.run([self._bin, "-v", self._voice, "-s", wpm, "--stdout", "--", text], capture_output=True, timeout=60, check=False)
        if r.returncode != 0:
            raise ApiError(500, "synthesis_failed", f"espeak-ng exited with {r.returncode}: {r.stderr.decode(errors='replace')[:200]}")
        with wave.open(io.BytesIO(r.stdout)) as w:
            rate = w.getframerate()
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").copy()
        return Speech(pcm, rate)
