"""Export all-MiniLM-L6-v2 (safetensors from a PyPI package) to ONNX for transformers.js.

Run by scripts/install-models.sh inside a throw-away virtual environment (torch, transformers, onnx,
onnxruntime pinned in models/tools/export-requirements.txt). The graph takes input_ids,
attention_mask and token_type_ids ([batch, sequence], int64) and returns last_hidden_state
([batch, sequence, 384]); pooling and normalisation happen in the caller, as sentence-transformers
does them. Before it writes anything, it checks the exported graph against PyTorch on a few sentences.

Usage: export_minilm_onnx.py <model-dir> <out.onnx>
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from transformers import AutoModel, AutoTokenizer

OPSET = 14
CHECK_TEXTS = [
    "The meeting was postponed until next week.",
    "Mute your microphone when you are not speaking, please.",
    "a",
]


class LastHidden(torch.nn.Module):
    """BertModel with one output: the token vectors (the pooler output is not part of the sentence model)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state


def main(model_dir: str, out_path: str) -> int:
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    # Eager attention exports as plain MatMul/Softmax, which every onnxruntime backend (WASM included) runs.
    model = AutoModel.from_pretrained(model_dir, local_files_only=True, attn_implementation="eager").eval()
    wrapped = LastHidden(model).eval()
    enc = tokenizer(CHECK_TEXTS, padding=True, truncation=True, max_length=256, return_tensors="pt")
    args = (enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".onnx.partial")
    with torch.no_grad():
        torch.onnx.export(
            wrapped,
            args,
            str(tmp),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                "input_ids": {0: "batch_size", 1: "sequence_length"},
                "attention_mask": {0: "batch_size", 1: "sequence_length"},
                "token_type_ids": {0: "batch_size", 1: "sequence_length"},
                "last_hidden_state": {0: "batch_size", 1: "sequence_length"},
            },
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
        expected = wrapped(*args).numpy()
    session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    got = session.run(["last_hidden_state"], {k: v.numpy() for k, v in zip(["input_ids", "attention_mask", "token_type_ids"], args)})[0]
    err = float(np.max(np.abs(got - expected)))
    print(f"export check: max |onnx - torch| = {err:.2e} over {got.shape}", flush=True)
    if err > 1e-4:
        tmp.unlink()
        print("export check failed: the ONNX graph does not reproduce PyTorch", file=sys.stderr)
        return 1
    tmp.replace(out)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
