"""The OpenAI-compatible HTTP API: one module per endpoint area, errors in OpenAI's shape."""
from __future__ import annotations

import os
import time

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import routes_audio, routes_chat
from .errors import ApiError, Counters
from .registry import Registry

#: Largest request body accepted (OpenAI's own upload limit is 25 MB).
MAX_BODY_BYTES = 25 * 1024 * 1024


def create_app(registry: Registry) -> FastAPI:
    app = FastAPI(title="promethean speech", docs_url=None, redoc_url=None, openapi_url=None)
    counters = Counters()
    app.state.registry = registry
    app.state.counters = counters
    app.state.started = time.time()

    @app.middleware("http")
    async def count_and_bound(request: Request, call_next):
        counters.inc(f"requests.{request.url.path}")
        if request.method == "POST":
            length = request.headers.get("content-length")
            if length is None and request.headers.get("transfer-encoding"):
                return _error(counters, ApiError(411, "length_required", "send a Content-Length header"))
            if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
                return _error(counters, ApiError(413, "request_too_large", f"the request body is larger than {MAX_BODY_BYTES} bytes"))
        try:
            return await call_next(request)
        except ApiError as e:
            return _error(counters, e)
        except Exception as e:  # the server never dies from input: anything unforeseen is a typed 500
            return _error(counters, ApiError(500, "internal_error", f"{type(e).__name__}: {e}"))

    @app.exception_handler(ApiError)
    async def on_api_error(_request: Request, e: ApiError):
        return _error(counters, e)

    @app.exception_handler(RequestValidationError)
    async def on_validation(_request: Request, e: RequestValidationError):
        first = e.errors()[0] if e.errors() else {}
        param = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        return _error(counters, ApiError(400, "invalid_request", f"{param or 'request'}: {first.get('msg', 'invalid')}", param))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_request: Request, e: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code, "http_error")
        return _error(counters, ApiError(e.status_code, code, str(e.detail)))

    @app.get("/v1/models")
    async def models():
        return {
            "object": "list",
            "data": [
                {"id": e.id, "object": "model", "created": int(app.state.started), "owned_by": "promethean", "kind": e.kind, **e.describe(), **e.info, "default": registry.defaults[e.kind] == e.id}
                for e in registry.engines.values()
            ],
        }

    @app.get("/health")
    async def health():
        return {
            "status": "ok",
            "pid": os.getpid(),
            "uptime_s": round(time.time() - app.state.started, 1),
            "defaults": registry.defaults,
            "loaded": {e.id: e.loaded for e in registry.engines.values()},
            "counters": counters.snapshot(),
        }

    routes_audio.register(app, registry, counters)
    routes_chat.register(app, registry, counters)
    return app


def _error(counters: Counters, e: ApiError) -> JSONResponse:
    counters.inc(f"errors.{e.code}")
    return JSONResponse(e.body(), status_code=e.status)
