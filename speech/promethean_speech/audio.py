"""Audio in and out: decoding uploads to 16 kHz mono float32, encoding speech as WAV or raw PCM."""
from __future__ import annotations

import io
import wave

import numpy as np

from .errors import ApiError

# av and faster_whisper are imported where used: the server reports ready before they load.


def decode_upload(data: bytes, sampling_rate: int = 16_000) -> np.ndarray:
    """Any container FFmpeg reads (wav, flac, ogg/opus, mp3, webm, …) → mono float32 at `sampling_rate`."""
    import av
    from faster_whisper.audio import decode_audio

    if not data:
        raise ApiError(400, "empty_file", "the uploaded file is empty", "file")
    try:
        audio = decode_audio(io.BytesIO(data), sampling_rate=sampling_rate)
    except (av.FFmpegError, ValueError, IndexError, StopIteration) as e:
        raise ApiError(400, "invalid_audio", f"the uploaded file is not audio FFmpeg can decode: {e}", "file") from e
    if audio.size == 0:
        raise ApiError(400, "invalid_audio", "the uploaded file holds no audio samples", "file")
    return audio


def float_to_s16(audio: np.ndarray) -> np.ndarray:
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2")


def wav_bytes(pcm: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype("<i2").tobytes())
    return buf.getvalue()


def resample_s16(pcm: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resamples mono s16 with FFmpeg's libswresample (through PyAV)."""
    import av

    if rate_in == rate_out:
        return pcm
    frame = av.AudioFrame.from_ndarray(pcm.astype(np.int16).reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = rate_in
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate_out)
    out = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    out += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int16)
