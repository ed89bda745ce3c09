"""Writes test/fixtures/speech/wer-reference.json: word error rates computed by jiwer (the usual
reference implementation) for pseudo-random word sequences, which server/src/speech/wer.test.ts
compares with its own Levenshtein. Run with the speech environment's Python:
  ~/.cache/promethean/speech-venv/bin/python speech/tools/wer_reference.py
"""
import json
import random
from pathlib import Path

import jiwer

ROOT = Path(__file__).resolve().parents[2]
rng = random.Random(20261130)
vocab = "the a moderator speaker channel voice bot hears says ask not what your country can do for you".split()
cases = []
for n in range(60):
    ref = [rng.choice(vocab) for _ in range(rng.randint(1, 30))]
    hyp = list(ref)
    for _ in range(rng.randint(0, 8)):
        op = rng.random()
        if op < 0.33 and hyp:
            hyp[rng.randrange(len(hyp))] = rng.choice(vocab)
        elif op < 0.66 and hyp:
            del hyp[rng.randrange(len(hyp))]
        else:
            hyp.insert(rng.randrange(len(hyp) + 1), rng.choice(vocab))
    if not hyp:
        hyp = [rng.choice(vocab)]
    o = jiwer.process_words(" ".join(ref), " ".join(hyp))
    cases.append({"reference": " ".join(ref), "hypothesis": " ".join(hyp), "wer": o.wer, "edits": o.substitutions + o.deletions + o.insertions})
refs = [c["reference"] for c in cases]
hyps = [c["hypothesis"] for c in cases]
corpus = jiwer.wer(refs, hyps)
out = {"generator": "speech/tools/wer_reference.py", "jiwer": jiwer.__version__ if hasattr(jiwer, "__version__") else "4.0.0", "corpus_wer": corpus, "cases": cases}
(ROOT / "test/fixtures/speech/wer-reference.json").write_text(json.dumps(out, indent=1) + "\n")
print(f"{len(cases)} cases, corpus WER {corpus:.4f}")
