"""`/v1/chat/completions` (no streaming): temperature 0 is greedy decoding, so the same request gives
the same answer."""
from __future__ import annotations

import time
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from .errors import ApiError, Counters
from .registry import Registry

MAX_MESSAGES = 64
MAX_PROMPT_CHARS = 16_000
MAX_TOKENS_LIMIT = 512
ROLES = ("system", "developer", "user", "assistant")


def _content(m: dict, i: int) -> str:
    c = m.get("content")
    if isinstance(c, str):
        return c
    if isinstance(c, list) and all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str) for p in c):
        return "".join(p["text"] for p in c)
    raise ApiError(400, "invalid_value", f"messages[{i}].content must be text (or text parts)", f"messages[{i}].content")


def register(app: FastAPI, registry: Registry, counters: Counters) -> None:
    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        try:
            body = await request.json()
        except Exception:
            raise ApiError(400, "invalid_json", "the body must be a JSON object") from None
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_json", "the body must be a JSON object")
        if body.get("stream"):
            raise ApiError(400, "unsupported_value", "stream is not supported by this server", "stream")
        raw = body.get("messages")
        if not isinstance(raw, list) or not raw:
            raise ApiError(400, "missing_messages", "`messages` must be a non-empty list", "messages")
        if len(raw) > MAX_MESSAGES:
            raise ApiError(400, "too_many_messages", f"at most {MAX_MESSAGES} messages", "messages")
        messages = []
        for i, m in enumerate(raw):
            if not isinstance(m, dict) or m.get("role") not in ROLES:
                raise ApiError(400, "invalid_value", f"messages[{i}].role must be one of {', '.join(ROLES)}", f"messages[{i}].role")
            messages.append({"role": m["role"], "content": _content(m, i)})
        if sum(len(m["content"]) for m in messages) > MAX_PROMPT_CHARS:
            raise ApiError(400, "context_length_exceeded", f"the messages hold more than {MAX_PROMPT_CHARS} characters", "messages")
        temperature = body.get("temperature", 1.0)
        if temperature is None:
            temperature = 1.0
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not (0 <= temperature <= 2):
            raise ApiError(400, "invalid_value", "temperature must be a number from 0 to 2", "temperature")
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens")) or 128
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not (1 <= max_tokens <= MAX_TOKENS_LIMIT):
            raise ApiError(400, "invalid_value", f"max_tokens must be an integer from 1 to {MAX_TOKENS_LIMIT}", "max_tokens")
        seed = body.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not (0 <= seed < 2**31)):
            raise ApiError(400, "invalid_value", "seed must be a non-negative 31-bit integer", "seed")
        stop = body.get("stop") or []
        if isinstance(stop, str):
            stop = [stop]
        if not isinstance(stop, list) or len(stop) > 4 or not all(isinstance(s, str) and s for s in stop):
            raise ApiError(400, "invalid_value", "stop must be a string or up to 4 strings", "stop")
        n = body.get("n", 1)
        if n != 1:
            raise ApiError(400, "unsupported_value", "only n=1 is supported", "n")
        engine = registry.get(body.get("model") if isinstance(body.get("model"), str) else None, "llm")
        t0 = time.monotonic()
        out = await run_in_threadpool(engine.run, lambda m: m.complete(messages, float(temperature), max_tokens, seed, stop))
        elapsed = time.monotonic() - t0
        counters.inc("llm.completion_tokens", out.completion_tokens)
        return JSONResponse({
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": engine.id,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": out.text}, "finish_reason": out.finish_reason, "logprobs": None}],
            "usage": {"prompt_tokens": out.prompt_tokens, "completion_tokens": out.completion_tokens, "total_tokens": out.prompt_tokens + out.completion_tokens},
            "models": [engine.describe()],
            "timings": {"total_ms": round(elapsed * 1000, 1), "tokens_per_second": round(out.completion_tokens / elapsed, 2) if elapsed > 0 else None},
        })
