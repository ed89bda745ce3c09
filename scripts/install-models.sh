#!/usr/bin/env bash
# Installs the models of models/manifest.json that live in the model cache (outside the checkout:
# ${PROMETHEAN_MODELS_DIR:-~/.cache/promethean/models}), with progress. Idempotent: a model already in
# place is only re-hashed against the manifest (seconds). `promethean models install` runs this too.
#
# Usage: scripts/install-models.sh [name…]     (default: every model this script installs)
#        scripts/install-models.sh --check [name…]   (exit 1 when one is missing or differs)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${PROMETHEAN_MODELS_DIR:-$HOME/.cache/promethean/models}"
PY="${PYTHON:-python3}"

check=()
names=()
for a in "$@"; do
  case "$a" in
    --check) check=(--check) ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    -*) echo "install-models: unknown option $a" >&2; exit 2 ;;
    *) names+=("$a") ;;
  esac
done
[ ${#names[@]} -gt 0 ] || names=(all-MiniLM-L6-v2)

for name in "${names[@]}"; do
  case "$name" in
    all-MiniLM-L6-v2) "$PY" "$ROOT/models/tools/install_minilm.py" --cache "$CACHE" "${check[@]}" ;;
    *) echo "install-models: no installer for \"$name\" here (see its install field in models/manifest.json)" >&2; exit 2 ;;
  esac
done
