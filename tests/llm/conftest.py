"""A fast retry policy (the openai/anthropic stub fixtures are in tests/conftest.py)."""

from __future__ import annotations

import pytest

from forge.llm.retry import RetryPolicy


@pytest.fixture
def policy():
    """Short timeout, quick backoff: failures show up in well under a second or two."""
    return RetryPolicy(timeout=1.0, max_retries=2, cap=5.0, backoff=0.05)
