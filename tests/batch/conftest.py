"""Batch fixtures: an analyst's Access, a saved prompt, a dataset, a fast retry policy."""

from __future__ import annotations

import pytest

from forge import auth
from forge.library import datasets, prompts
from forge.llm.prompts import PromptSpec
from forge.llm.retry import RetryPolicy


@pytest.fixture
def acc(db, admin, default_ws, analyst):
    return auth.access(db, analyst, default_ws.id, "edit")


@pytest.fixture
def policy():
    return RetryPolicy(timeout=5.0, max_retries=1, cap=1.0, backoff=0.05)


def save_prompt(acc, name="answer", template="Answer briefly: {{question}}", max_tokens=100):
    spec = PromptSpec(template=template, system="Be terse.", max_tokens=max_tokens, temperature=0.0)
    return prompts.save(acc, name, spec, ["offline/echo"])[0]


def save_dataset(acc, questions, name="questions"):
    rows = "\n".join(f'{{"question": "{q}", "expected": "x"}}' for q in questions)
    return datasets.save(acc, name, datasets.parse_upload("q.jsonl", rows.encode()))
