"""Small hand-made rated sets where the right rule is known."""

from __future__ import annotations

import random

VOCAB = (
    "the order shipped today and your refund name is on its way please contact support if anything "
    "looks wrong we are happy to help with account billing delivery questions thanks for waiting"
).split()


def _sentence(rng: random.Random, n_words: int) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(n_words)).capitalize() + "."


def placeholder_set(n: int = 60, seed: int = 0) -> tuple[list[dict], list[bool]]:
    """Fails (a third) all contain an unfilled placeholder like [name]; lengths overlap."""
    rng = random.Random(seed)
    traces, labels = [], []
    for i in range(n):
        fail = i % 3 == 0
        text = _sentence(rng, rng.randint(8, 30))
        if fail:
            words = text.split()
            words.insert(rng.randint(0, len(words)), rng.choice(["[name]", "[customer name]", "[order id]"]))
            text = " ".join(words)
        traces.append({"id": f"p{i}", "input_text": "Write a reply to the customer.", "output_text": text, "steps": []})
        labels.append(not fail)
    return traces, labels


def long_fails_set(n: int = 60, seed: int = 0) -> tuple[list[dict], list[bool]]:
    """Fails (40 %) are long answers (80-140 words), passes short ones (10-50 words)."""
    rng = random.Random(seed)
    traces, labels = [], []
    for i in range(n):
        fail = i % 5 in (0, 2)
        text = _sentence(rng, rng.randint(80, 140) if fail else rng.randint(10, 50))
        traces.append({"id": f"l{i}", "input_text": "Answer briefly.", "output_text": text, "steps": []})
        labels.append(not fail)
    return traces, labels
