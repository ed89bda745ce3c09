"""GGUF language models on llama.cpp through cyllama's prebuilt wheel (nothing is compiled).

The packaged Gemma 3 270M is the base model: its GGUF carries no chat template, so the prompt is
written here in Gemma's turn format (`<start_of_turn>user … <end_of_turn>`), the format its
instruction-tuned sibling was trained on; generation stops at the end-of-turn marker.
"""
from __future__ import annotations

import random
from pathlib import Path

from .base import Completion

END_OF_TURN = "<end_of_turn>"


def gemma_prompt(messages: list[dict[str, str]]) -> str:
    system = "\n\n".join(m["content"] for m in messages if m["role"] in ("system", "developer"))
    parts: list[str] = []
    first_user = True
    for m in messages:
        if m["role"] in ("system", "developer"):
            continue
        role = "model" if m["role"] == "assistant" else "user"
        content = m["content"]
        if role == "user" and first_user and system:
            content = f"{system}\n\n{content}"
            first_user = False
        parts.append(f"<start_of_turn>{role}\n{content}{END_OF_TURN}\n")
    return "".join(parts) + "<start_of_turn>model\n"


class LlamaCppLlm:
    def __init__(self, gguf: Path, threads: int, n_ctx: int = 2048) -> None:
        from cyllama import LLM

        self.n_ctx = n_ctx
        self._llm = LLM(str(gguf), verbose=False, n_ctx=n_ctx)
        self.threads = threads

    def complete(self, messages, temperature, max_tokens, seed, stop) -> Completion:
        from cyllama import GenerationConfig

        prompt = gemma_prompt(messages)
        config = GenerationConfig(
            temperature=float(temperature),
            max_tokens=int(max_tokens),
            n_ctx=self.n_ctx,
            seed=seed if seed is not None else random.randrange(1, 2**31),
            stop_sequences=[END_OF_TURN, *stop],
        )
        r = self._llm(prompt, config=config)
        text = r.text
        for s in [END_OF_TURN, *stop]:
            cut = text.find(s)
            if cut >= 0:
                text = text[:cut]
        stats = r.stats
        completion_tokens = int(stats.generated_tokens) if stats else 0
        finish = "length" if completion_tokens >= max_tokens else "stop"
        return Completion(text.strip(), finish, int(stats.prompt_tokens) if stats else 0, completion_tokens)
