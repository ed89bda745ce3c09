"""`python -m promethean_speech`: the local speech server (what `promethean speech serve` starts).

Prints one JSON line `{"type": "ready", "url": …, "port": …}` on stdout once it listens (port 0 picks a
free port), then serves until SIGTERM/SIGINT.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="promethean speech serve", description="the local OpenAI-compatible speech server")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8791, help="0 = any free port")
    ap.add_argument("--manifest", type=Path, default=ROOT / "models" / "manifest.json")
    ap.add_argument("--models-dir", type=Path, default=Path(os.environ.get("PROMETHEAN_MODELS_DIR", Path.home() / ".cache" / "promethean" / "models")))
    ap.add_argument("--threads", type=int, default=1, help="CPU threads per engine")
    ap.add_argument("--stt-model", default="whisper-tiny.en")
    ap.add_argument("--tts-model", default="piper-en_US-joe-medium:openvino", help="default: Piper on OpenVINO, faster than onnxruntime in docs/speech.md's benchmark")
    ap.add_argument("--llm-model", default="gemma-3-270m-q4_k_m")
    ap.add_argument("--preload", action="store_true", help="load every default model before reporting ready")
    ap.add_argument("--exit-with-parent", action="store_true", help="exit when the process that started it is gone (supervised use)")
    a = ap.parse_args(argv)
    if not (0 <= a.port <= 65535):
        ap.error(f"--port must be from 0 to 65535, got {a.port}")
    if not (1 <= a.threads <= 64):
        ap.error(f"--threads must be from 1 to 64, got {a.threads}")
    return a


def watch_parent() -> None:
    """Exits when the parent process goes away (even killed with SIGKILL), so no server is orphaned."""
    import signal
    import threading
    import time

    parent = os.getppid()

    def loop() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5.0)
                os._exit(1)

    threading.Thread(target=loop, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    if a.exit_with_parent:
        watch_parent()
    import uvicorn

    from .app import create_app
    from .registry import build_registry

    registry = build_registry(a.manifest, a.models_dir, a.threads, a.stt_model, a.tts_model, a.llm_model)
    if a.preload:
        for kind, name in registry.defaults.items():
            print(f"speech: loading {kind} model {name}", file=sys.stderr, flush=True)
            registry.engines[name].model()
    app = create_app(registry)
    sock = socket.socket(socket.AF_INET6 if ":" in a.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((a.host, a.port))
    sock.listen(64)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)

    async def serve() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.02)
        if server.started:
            host = f"[{a.host}]" if ":" in a.host else a.host
            print(json.dumps({"type": "ready", "url": f"http://{host}:{port}/v1", "port": port, "defaults": registry.defaults}), flush=True)
        await task

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
