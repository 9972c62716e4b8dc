"""The offline provider: no key, no network, deterministic. For demos and tests.

``offline/echo`` answers at once; ``offline/slow`` streams word by word so a
demo shows outputs growing side by side. Every output begins with a plain
notice that no LLM was called.
"""

from __future__ import annotations

import hashlib
import time

from forge.llm.base import Completion, DeltaCallback, Provider, Request, UnknownModelError

NOTICE = "[offline model - no LLM was called]"
_WORD_DELAY_S = {"echo": 0.0, "slow": 0.04}


def offline_answer(model_id: str, request: Request) -> str:
    prompt = request.prompt
    words = prompt.split()
    first_line = next((ln.strip() for ln in prompt.splitlines() if ln.strip()), "")
    if len(first_line) > 160:
        first_line = first_line[:157] + "..."
    digest = hashlib.sha256(((request.system or "") + "\x00" + prompt).encode()).hexdigest()[:8]
    lines = [
        NOTICE,
        f"This is offline/{model_id}, a stand-in that only describes what it received.",
        f"The prompt has {len(words)} words and {len(prompt)} characters"
        + (f", with a system prompt of {len((request.system or '').split())} words." if request.system else "."),
        f"First line: {first_line}",
        f"Fingerprint: {digest}",
    ]
    return "\n".join(lines)


class OfflineProvider(Provider):
    name = "offline"
    label = "Offline (no LLM)"
    key_env = None

    def complete(self, model_id: str, request: Request, on_delta: DeltaCallback | None, timeout: float) -> Completion:
        if model_id not in _WORD_DELAY_S:
            raise UnknownModelError(
                f"Unknown model: offline/{model_id} - offline models are "
                + ", ".join(f"offline/{m}" for m in _WORD_DELAY_S)
            )
        text = offline_answer(model_id, request)
        delay = _WORD_DELAY_S[model_id]
        t0 = time.perf_counter()
        ttft = None
        if on_delta and request.stream:
            pieces = text.split(" ")
            for i, piece in enumerate(pieces):
                if delay:
                    time.sleep(delay)
                on_delta(piece if i == 0 else " " + piece)
                if ttft is None:
                    ttft = (time.perf_counter() - t0) * 1000
        elif delay:
            time.sleep(delay * len(text.split()))
        # No usage to report: the runner estimates both counts and marks them estimated.
        return Completion(output=text, ttft_ms=ttft)
