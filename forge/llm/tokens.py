"""Token estimates for when a provider reports no usage, and for the pre-run estimate.

Uses the o200k_base encoding shipped inside the ``bpe-openai`` wheel (no download),
which is exact for current OpenAI models and a fair estimate for the others.
Falls back to characters / 4 when the encoder is unavailable.
"""

from __future__ import annotations

import functools

# Chat formatting adds a few tokens per message on top of the text itself.
_PER_MESSAGE = 4


@functools.lru_cache(maxsize=1)
def _encoder():
    try:
        import bpe_openai

        return bpe_openai.get_encoding("o200k_base")
    except Exception:  # a missing or broken tokenizer only makes estimates rougher
        return None


def count(text: str | None) -> int:
    """Estimated tokens in ``text``."""
    if not text:
        return 0
    enc = _encoder()
    if enc is not None:
        try:
            return len(enc.encode(text))
        except Exception:
            pass
    return max(1, (len(text) + 3) // 4)


def count_prompt(prompt: str, system: str | None = None) -> int:
    """Estimated input tokens of a chat request with an optional system message."""
    n = count(prompt) + _PER_MESSAGE
    if system:
        n += count(system) + _PER_MESSAGE
    return n
