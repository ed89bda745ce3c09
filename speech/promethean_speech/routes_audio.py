"""`/v1/audio/transcriptions` and `/v1/audio/speech`."""
from __future__ import annotations

import time

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from .audio import decode_upload, resample_s16, wav_bytes
from .engines.base import Transcription
from .errors import ApiError, Counters
from .registry import Registry

#: OpenAI's limit on the text of one speech request.
MAX_SPEECH_CHARS = 4096
#: OpenAI's raw `pcm` format: 24 kHz, mono, signed 16-bit little-endian.
PCM_RATE = 24_000
RESPONSE_FORMATS = ("json", "text", "verbose_json", "srt", "vtt")


def _float(value: object, name: str, lo: float, hi: float, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        v = float(str(value))
    except ValueError:
        raise ApiError(400, "invalid_value", f"{name} must be a number, got {value!r}", name) from None
    if not (lo <= v <= hi):
        raise ApiError(400, "invalid_value", f"{name} must be from {lo} to {hi}, got {v}", name)
    return v


def _timestamp(t: float, sep: str) -> str:
    ms = int(round(t * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"


def register(app: FastAPI, registry: Registry, counters: Counters) -> None:
    @app.post("/v1/audio/transcriptions")
    async def transcriptions(request: Request):
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise ApiError(400, "invalid_content_type", "send multipart/form-data with a `file` field")
        try:
            form = await request.form(max_files=1, max_fields=32)
        except Exception as e:
            raise ApiError(400, "invalid_multipart", f"the multipart body could not be parsed: {e}") from e
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(400, "missing_file", "the `file` field with the audio is required", "file")
        fmt = str(form.get("response_format") or "json")
        if fmt not in RESPONSE_FORMATS:
            raise ApiError(400, "invalid_value", f"response_format must be one of {', '.join(RESPONSE_FORMATS)}", "response_format")
        language = form.get("language")
        language = str(language).strip().lower() if language else None
        if language is not None and not (2 <= len(language) <= 3 and language.isalpha()):
            raise ApiError(400, "invalid_value", f"language must be an ISO-639-1 code such as 'en', got {language!r}", "language")
        temperature = _float(form.get("temperature"), "temperature", 0.0, 1.0, 0.0)
        granularities = [str(g) for g in form.getlist("timestamp_granularities[]")] + [str(g) for g in form.getlist("timestamp_granularities")]
        words = fmt == "verbose_json" and ("word" in granularities or not granularities)
        prompt = form.get("prompt")
        engine = registry.get(str(form.get("model") or ""), "stt")
        data = await upload.read()
        await form.close()
        audio = await run_in_threadpool(decode_upload, data)
        t0 = time.monotonic()
        result: Transcription = await run_in_threadpool(engine.run, lambda m: m.transcribe(audio, language, str(prompt) if prompt else None, temperature, words))
        elapsed = time.monotonic() - t0
        counters.inc("stt.audio_ms", int(result.duration * 1000))
        models = [engine.describe()]
        if fmt == "text":
            return PlainTextResponse(result.text + "\n")
        if fmt in ("srt", "vtt"):
            sep = "," if fmt == "srt" else "."
            cues = [f"{'' if fmt == 'vtt' else str(i + 1) + chr(10)}{_timestamp(s.start, sep)} --> {_timestamp(s.end, sep)}\n{s.text.strip()}\n" for i, s in enumerate(result.segments)]
            return PlainTextResponse(("WEBVTT\n\n" if fmt == "vtt" else "") + "\n".join(cues))
        if fmt == "json":
            return JSONResponse({"text": result.text, "language": result.language, "duration": result.duration, "models": models})
        body = {
            "task": "transcribe",
            "language": result.language,
            "duration": result.duration,
            "text": result.text,
            "segments": [
                {"id": s.id, "seek": 0, "start": s.start, "end": s.end, "text": s.text, "tokens": s.tokens, "temperature": s.temperature,
                 "avg_logprob": s.avg_logprob, "compression_ratio": s.compression_ratio, "no_speech_prob": s.no_speech_prob}
                for s in result.segments
            ],
            "models": models,
            "rtf": elapsed / result.duration if result.duration > 0 else None,
        }
        if words:
            body["words"] = [{"word": w.word, "start": w.start, "end": w.end, "probability": w.probability} for w in result.words]
        return JSONResponse(body)

    @app.post("/v1/audio/speech")
    async def speech(request: Request):
        try:
            body = await request.json()
        except Exception:
            raise ApiError(400, "invalid_json", "the body must be a JSON object") from None
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_json", "the body must be a JSON object")
        text = body.get("input")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "missing_input", "`input` must be non-empty text", "input")
        if len(text) > MAX_SPEECH_CHARS:
            raise ApiError(400, "input_too_long", f"`input` is {len(text)} characters; at most {MAX_SPEECH_CHARS}", "input")
        fmt = body.get("response_format") or "wav"
        if fmt not in ("wav", "pcm"):
            raise ApiError(400, "unsupported_format", f"response_format {fmt!r} is not supported here (wav, pcm)", "response_format")
        speed = _float(body.get("speed"), "speed", 0.25, 4.0, 1.0)
        model = body.get("model")
        if model is not None and not isinstance(model, str):
            raise ApiError(400, "invalid_value", "`model` must be a string", "model")
        engine = registry.get(model, "tts")
        t0 = time.monotonic()
        speech = await run_in_threadpool(engine.run, lambda m: m.synthesize(text, speed))
        headers = {"x-models": f"{engine.engine}/{engine.id}/{engine.backend}", "x-synthesis-ms": str(int((time.monotonic() - t0) * 1000))}
        if fmt == "pcm":
            pcm = await run_in_threadpool(resample_s16, speech.pcm, speech.sample_rate, PCM_RATE)
            return Response(pcm.astype("<i2").tobytes(), media_type="audio/pcm", headers={**headers, "x-sample-rate": str(PCM_RATE)})
        return Response(wav_bytes(np.asarray(speech.pcm), speech.sample_rate), media_type="audio/wav", headers={**headers, "x-sample-rate": str(speech.sample_rate)})
