"""Eval generation and refinement against local stub servers speaking the OpenAI and Anthropic wire formats.

The real SDKs talk HTTP to the stubs; the stubs answer with scripted model outputs. The ``check`` given
to generation is built here (ast rules + running the source on the examples in this test process: the
sources are this file's own strings), standing in for validate.py + the sandbox.
"""

from __future__ import annotations

import ast
import json

import pytest

from forge.evals.contract import ALLOWED_IMPORTS
from forge.evals.generate import GenerationResult, Usage, generate_candidates, refine_eval
from forge.evals.meta_prompt import (
    Contradiction,
    RatedExample,
    build_meta_prompt,
    build_refine_prompt,
    parse_candidates,
)
from forge.llm import tokens
from forge.llm.retry import RetryPolicy
from tests.stubs.openai_stub import ScriptedError

CRITERION = "The answer never leaves template placeholders such as [name] in the output"


def trace(i: int, output: str, inp: str = "Write a greeting email") -> dict:
    return {
        "id": f"t{i}",
        "name": "email",
        "timestamp": "2026-01-01T00:00:00Z",
        "input": inp,
        "output": output,
        "input_text": inp,
        "output_text": output,
        "steps": [],
        "metadata": {},
        "tags": [],
        "user_id": None,
        "session_id": None,
        "latency_ms": 120.0,
        "cost_usd": None,
        "source": "file",
        "source_id": f"t{i}",
    }


EXAMPLES = [
    RatedExample(trace(1, "Dear Ana, thanks for your order."), "pass"),
    RatedExample(trace(2, "Dear [name], thanks for your order."), "fail", "left the [name] placeholder"),
    RatedExample(trace(3, "Hello Bob, your parcel ships today."), "pass"),
    RatedExample(trace(4, "Hi [customer], see you at [date]."), "fail", "two placeholders"),
    RatedExample(trace(5, "Thanks Carla!"), "pass", "fine"),
]


def make_check(traces: list[dict]):
    """None when the source parses, imports only allowed modules, defines evaluate and runs on every trace."""

    def check(source: str) -> str | None:
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            return f"SyntaxError: {exc.msg} (line {exc.lineno})"
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            bad = [n for n in names if n.split(".")[0] not in ALLOWED_IMPORTS]
            if bad:
                return f"import of {bad[0]!r} is not allowed"
        if not any(isinstance(n, ast.FunctionDef) and n.name == "evaluate" for n in tree.body):
            return "the source defines no evaluate(trace) function"
        namespace: dict = {}
        exec(compile(tree, "<candidate>", "exec"), namespace)
        for t in traces:
            try:
                verdict = namespace["evaluate"](t)
            except Exception as exc:
                return f"{type(exc).__name__}: {exc} (on trace {t['id']})"
            if not isinstance(verdict, bool) and not (isinstance(verdict, tuple) and isinstance(verdict[0], bool)):
                return f"evaluate returned {type(verdict).__name__}, not bool or (bool, str)"
        return None

    return check


CHECK = make_check([e.trace for e in EXAMPLES])

GOOD_PLACEHOLDER = """import re

def evaluate(trace: dict) -> bool | tuple[bool, str]:
    text = trace.get("output_text") or ""
    found = re.findall(r"\\[[a-z_ ]+\\]", text)
    return (not found, "placeholders: " + ", ".join(found) if found else "no placeholder")
"""
GOOD_BRACKETS = """def evaluate(trace):
    text = trace.get("output_text") or ""
    return "[" not in text
"""
GOOD_LENGTH = """def evaluate(trace):
    return len((trace.get("output_text") or "").split()) < 400
"""
BROKEN_KEYERROR = """def evaluate(trace):
    return "[" not in trace["answer"]
"""
BROKEN_IMPORT = """import os

def evaluate(trace):
    return os.path.exists("/tmp/x")
"""


def block(name: str, rationale: str, source: str) -> str:
    return f"### name: {name}\nRationale: {rationale}\n```python\n{source}```\n"


def answer(*blocks: str) -> str:
    return "Here are the candidate evals.\n\n" + "\n".join(blocks) + "\nI hope these help!"


@pytest.fixture
def fast_policy():
    return RetryPolicy(timeout=10.0, max_retries=2, cap=0.2, backoff=0.01)


def stub_usage(body: dict, text: str, anthropic: bool = False) -> tuple[int, int]:
    """The token counts the stubs report for a request and answer (words, as both stubs count them)."""
    n_in = sum(len(str(m.get("content", "")).split()) + 3 for m in body["messages"])
    if anthropic:
        n_in += len(str(body.get("system") or "").split())
    return n_in, len(text.split())


# ---------------------------------------------------------------- generation


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
def test_generates_k_candidates_through_the_real_sdks(request, wire, fast_policy):
    stub = request.getfixturevalue(f"{wire}_stub")
    model = {"openai": "openai/gpt-4o-mini", "anthropic": "anthropic/claude-sonnet-4-5"}[wire]
    model_id = model.split("/", 1)[1]
    text = answer(
        block("no_placeholder", "fails keep [x] placeholders", GOOD_PLACEHOLDER),
        block("no_brackets", "any bracket is suspicious", GOOD_BRACKETS),
        block("short_enough", "long answers ramble", GOOD_LENGTH),
    )
    stub.script(model_id, text)
    steps = []
    res = generate_candidates(
        model,
        CRITERION,
        EXAMPLES,
        k=3,
        check=CHECK,
        policy=fast_policy,
        progress=lambda d, t, m: steps.append((d, t, m)),
    )

    assert res.ok and res.error is None
    assert [c.name for c in res.kept] == ["no_placeholder", "no_brackets", "short_enough"]
    assert [c.status for c in res.candidates] == ["valid"] * 3
    assert res.kept[0].source == GOOD_PLACEHOLDER and res.kept[0].rationale == "fails keep [x] placeholders"
    # One call, carrying the criterion, the rated examples with their notes, the trace shape and the contract.
    assert len(stub.requests) == 1
    body = stub.requests[0]["body"]
    sent = "\n".join([str(body.get("system") or "")] + [m["content"] for m in body["messages"]])
    for needle in (
        CRITERION,
        "left the [name] placeholder",
        "Dear Ana",
        '"input_text": str',
        "def evaluate",
        "difflib",
        "3 candidate evals",
    ):
        assert needle in sent
    assert res.prompt.examples_used == 5 and res.prompt.fails_used == 2
    assert steps[0][0] == 0 and steps[-1][:2] == (4, 4) and "short_enough" in steps[-1][2]

    # Tokens are the provider's (the stub counts words), cost from the catalog price, time measured.
    n_in, n_out = stub_usage(body, text, anthropic=wire == "anthropic")
    total = res.usage
    assert (total.input_tokens, total.output_tokens, total.tokens_estimated) == (n_in, n_out, False)
    price = {"openai": (0.15, 0.60), "anthropic": (3.0, 15.0)}[wire]
    assert total.cost_usd == pytest.approx((n_in * price[0] + n_out * price[1]) / 1e6)
    assert total.duration_ms > 0 and res.duration_ms >= total.duration_ms
    # Each candidate carries a share of that one call; the shares add up to it.
    shares = [c.usage for c in res.candidates]
    assert sum(u.input_tokens for u in shares) == n_in and sum(u.output_tokens for u in shares) == n_out
    assert sum(u.cost_usd for u in shares) == pytest.approx(total.cost_usd)
    assert not res.traced_to_langfuse
    stored = json.loads(json.dumps(res.to_json()))  # what a job or the store keeps
    assert stored["usage"]["input_tokens"] == n_in and stored["prompt"]["prompt"] == res.prompt.prompt
    assert [c["status"] for c in stored["candidates"]] == ["valid"] * 3


def test_a_failing_candidate_is_repaired_once_with_its_error(openai_stub, fast_policy):
    first = answer(
        block("no_placeholder", "placeholders", GOOD_PLACEHOLDER),
        block("answer_field", "reads the answer", BROKEN_KEYERROR),
    )
    fixed = block("answer_field", "reads output_text now", GOOD_BRACKETS)
    openai_stub.script("gpt-4o-mini", first, fixed)
    res = generate_candidates("openai/gpt-4o-mini", CRITERION, EXAMPLES, k=2, check=CHECK, policy=fast_policy)

    assert res.ok and [c.name for c in res.kept] == ["no_placeholder", "answer_field"]
    repaired = res.candidates[1]
    assert repaired.status == "repaired" and repaired.source == GOOD_BRACKETS
    assert repaired.original_source == BROKEN_KEYERROR and "KeyError" in repaired.first_error
    assert repaired.rationale == "reads output_text now"
    # The follow-up call fed the failing source and its error back.
    assert len(openai_stub.requests) == 2
    repair_prompt = openai_stub.requests[1]["body"]["messages"][-1]["content"]
    assert "KeyError: 'answer' (on trace t1)" in repair_prompt and 'trace["answer"]' in repair_prompt
    # The repaired candidate's usage is its share of the first call plus the whole repair call.
    gen_call, repair_call = res.calls
    assert [c.purpose for c in res.calls] == ["generate", "repair answer_field"]
    assert repaired.usage.input_tokens == gen_call.usage.input_tokens // 2 + repair_call.usage.input_tokens
    assert res.candidates[0].usage.output_tokens + repaired.usage.output_tokens == (
        gen_call.usage.output_tokens + repair_call.usage.output_tokens
    )
    assert res.usage.cost_usd == pytest.approx(gen_call.usage.cost_usd + repair_call.usage.cost_usd)


def test_a_candidate_that_never_validates_is_dropped_with_the_reason(anthropic_stub, fast_policy):
    first = answer(
        block("uses_os", "checks a file", BROKEN_IMPORT), block("no_placeholder", "placeholders", GOOD_PLACEHOLDER)
    )
    still_bad = block("uses_os", "still a file", BROKEN_IMPORT.replace("/tmp/x", "/tmp/y"))
    anthropic_stub.script("claude-sonnet-4-5", first, still_bad)
    res = generate_candidates("anthropic/claude-sonnet-4-5", CRITERION, EXAMPLES, k=2, check=CHECK, policy=fast_policy)

    assert res.ok and [c.name for c in res.kept] == ["no_placeholder"]
    dropped = res.dropped[0]
    assert dropped.name == "uses_os" and dropped.status == "dropped"
    assert dropped.error == "still failing after one repair: import of 'os' is not allowed"
    assert dropped.first_error == "import of 'os' is not allowed"
    assert len(anthropic_stub.requests) == 2  # one repair, not more


def test_an_answer_with_no_eval_is_a_clear_error(openai_stub, fast_policy):
    openai_stub.script("gpt-4o-mini", "I cannot help with that.")
    res = generate_candidates("openai/gpt-4o-mini", CRITERION, EXAMPLES, check=CHECK, policy=fast_policy)
    assert res.candidates == [] and "held no eval" in res.error and not res.ok
    assert res.usage.input_tokens > 0  # the call was still paid for


def test_a_provider_error_midway_keeps_the_candidates_already_made(openai_stub, fast_policy):
    first = answer(
        block("no_placeholder", "placeholders", GOOD_PLACEHOLDER),
        block("answer_field", "reads the answer", BROKEN_KEYERROR),
        block("short_enough", "length", GOOD_LENGTH),
    )
    rate_limited = ScriptedError(429, "Rate limit reached for requests", retry_after=0)
    openai_stub.script("gpt-4o-mini", first, rate_limited, rate_limited, rate_limited)
    res = generate_candidates("openai/gpt-4o-mini", CRITERION, EXAMPLES, k=3, check=CHECK, policy=fast_policy)

    assert "repair answer_field" in res.error and "Rate limited (429)" in res.error
    assert "gave up after 3 attempts" in res.error and not res.ok
    # The candidates already written are kept and still checked; the one needing repair says why it was not.
    assert [c.name for c in res.kept] == ["no_placeholder", "short_enough"]
    assert res.candidates[1].status == "dropped" and "repair call failed" in res.candidates[1].error
    assert len(openai_stub.requests) == 4  # the first call, then the repair tried three times
    assert res.calls[1].error is not None and res.calls[1].usage.input_tokens == 0


def test_a_failed_first_call_says_why_without_the_key(monkeypatch, fast_policy):
    from tests.stubs.openai_stub import OpenAIStub

    key = "sk-live-0123456789abcdef"
    with OpenAIStub(api_key=key) as stub:
        monkeypatch.setenv("OPENAI_API_KEY", key)
        monkeypatch.setenv("OPENAI_BASE_URL", stub.base_url)
        stub.script("gpt-4o-mini", ScriptedError(400, f"Invalid request (key {key} is limited)"))
        res = generate_candidates("openai/gpt-4o-mini", CRITERION, EXAMPLES, check=CHECK, policy=fast_policy)
    assert res.candidates == [] and res.error.startswith("generate: ")
    assert "refused the request (400)" in res.error and key not in res.error and "***" in res.error
    assert key not in json.dumps([c.error for c in res.calls])


def test_cancel_stops_between_calls(openai_stub, fast_policy):
    first = answer(
        block("answer_field", "reads the answer", BROKEN_KEYERROR),
        block("no_placeholder", "placeholders", GOOD_PLACEHOLDER),
    )
    openai_stub.script("gpt-4o-mini", first, block("answer_field", "fixed", GOOD_BRACKETS))
    stop = {"now": False}

    def progress(done, total, message):
        if message and "candidate(s) written" in message:
            stop["now"] = True  # the analyst pressed cancel while the answer arrived

    res = generate_candidates(
        "openai/gpt-4o-mini",
        CRITERION,
        EXAMPLES,
        k=2,
        check=CHECK,
        policy=fast_policy,
        progress=progress,
        cancelled=lambda: stop["now"],
    )
    assert res.cancelled and not res.ok and len(openai_stub.requests) == 1
    assert [c.status for c in res.candidates] == ["unchecked", "unchecked"]
    assert res.candidates[0].error == "cancelled before it was checked"


def test_unknown_price_and_missing_usage(openai_stub, fast_policy):
    openai_stub.omit_usage = True
    openai_stub.script("brand-new-model", answer(block("no_brackets", "brackets", GOOD_BRACKETS)))
    res = generate_candidates("openai/brand-new-model", CRITERION, EXAMPLES, k=1, check=CHECK, policy=fast_policy)
    assert [c.name for c in res.kept] == ["no_brackets"]
    usage = res.usage
    assert usage.cost_usd is None and usage.tokens_estimated  # shown as unknown, counts estimated
    assert usage.input_tokens > 0 and usage.output_tokens > 0


def test_offline_models_run_without_a_key():
    res = generate_candidates("offline/echo", CRITERION, EXAMPLES, k=2, check=CHECK)
    # The offline model only describes its prompt: a clear error, no exception, the call recorded.
    assert isinstance(res, GenerationResult) and res.candidates == [] and "held no eval" in res.error
    assert res.calls[0].error is None and res.usage.cost_usd == 0


# ---------------------------------------------------------------- the prompt and the context window


def long_examples(n: int) -> list[RatedExample]:
    out = []
    for i in range(n):
        body = " ".join(f"word{i}-{j}" for j in range(250))
        rating = "fail" if i % 3 == 0 else "pass"
        out.append(
            RatedExample(
                trace(i, f"Dear [name], {body}" if rating == "fail" else body),
                rating,
                "placeholder left" if rating == "fail" else None,
            )
        )
    return out


def test_the_prompt_fits_a_small_context_window(tmp_path, monkeypatch, openai_stub, fast_policy):
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        '[[models]]\nprovider = "openai"\nid = "tiny"\ncontext_window = 8000\n'
        "input_per_mtok = 1.0\noutput_per_mtok = 2.0\n"
    )
    monkeypatch.setenv("FORGE_CATALOG", str(catalog))
    examples = long_examples(120)
    openai_stub.script("tiny", answer(block("no_brackets", "brackets", GOOD_BRACKETS)))
    res = generate_candidates(
        "openai/tiny", CRITERION, examples, k=2, check=make_check([examples[0].trace]), policy=fast_policy
    )

    assert res.error is None, res.error  # sent, not refused as too long
    prompt = res.prompt
    assert 2 <= prompt.examples_used < 120 and prompt.examples_total == 120
    assert prompt.passes_used >= 1 and prompt.fails_used >= 1
    sent = openai_stub.requests[0]["body"]
    n_sent = tokens.count_prompt(sent["messages"][1]["content"], sent["messages"][0]["content"])
    assert n_sent + sent["max_completion_tokens"] <= 8000
    assert CRITERION in sent["messages"][1]["content"]


def test_meta_prompt_sampling_is_seeded_and_texts_are_cut():
    examples = long_examples(60)
    a = build_meta_prompt(CRITERION, examples, 5, 16_000, seed=1)
    b = build_meta_prompt(CRITERION, examples, 5, 16_000, seed=1)
    c = build_meta_prompt(CRITERION, examples, 5, 16_000, seed=2)
    assert a == b and a.prompt != c.prompt
    assert a.input_tokens + a.max_tokens <= 16_000
    huge = [RatedExample(trace(1, "x" * 50_000 + " THE END"), "fail", "too long")]
    p = build_meta_prompt(CRITERION, huge, 5, 128_000)
    assert p.examples_used == 1 and "characters cut" in p.prompt and "THE END" in p.prompt
    assert len(p.prompt) < 20_000
    # Neutral ratings teach nothing and are left out; fails with notes come first.
    mixed = [
        RatedExample(trace(1, "a"), "neutral"),
        RatedExample(trace(2, "b"), "pass"),
        RatedExample(trace(3, "c"), "fail", "why"),
    ]
    p = build_meta_prompt(CRITERION, mixed, 2, 128_000)
    assert p.examples_total == 2 and p.prompt.index("Example 1: FAIL") < p.prompt.index("Example 2: PASS")


def test_parse_candidates_tolerates_prose_missing_and_duplicate_names():
    text = (
        "Sure, here you go.\n\n### name: no_placeholder\nRationale: placeholders fail.\n```python\n"
        + GOOD_PLACEHOLDER
        + '```\n\nAn example trace:\n```json\n{"def evaluate(": 1}\n```\n'
        "### name: no_placeholder\n```python\n" + GOOD_BRACKETS + "```\n"
        "```\n" + GOOD_LENGTH + "```\n"
        "## 4. Refusal detector (`refusal_check`)\nLooks for refusals.\n```py\n" + GOOD_BRACKETS + "```\n"
        "### name: cut_off\n```python\ndef evaluate(trace):\n    return (tr"
    )
    got = parse_candidates(text)
    assert [c.name for c in got] == ["no_placeholder", "no_placeholder_2", "candidate_3", "refusal_check", "cut_off"]
    assert got[0].rationale == "placeholders fail." and got[0].source == GOOD_PLACEHOLDER
    assert got[3].rationale == "Looks for refusals." and got[2].source == GOOD_LENGTH
    assert got[4].source.endswith("return (tr\n")  # cut off by max_tokens: kept, the check will say why
    assert parse_candidates("no code at all") == []
    assert [c.name for c in parse_candidates(GOOD_BRACKETS)] == ["candidate_1"]


def test_usage_split_adds_up():
    u = Usage(10, 7, False, 0.3, 90.0)
    parts = u.split(3)
    assert [p.input_tokens for p in parts] == [4, 3, 3] and [p.output_tokens for p in parts] == [3, 2, 2]
    total = parts[0] + parts[1] + parts[2]
    assert (total.input_tokens, total.output_tokens, total.duration_ms) == (10, 7, 90.0)
    assert total.cost_usd == pytest.approx(0.3)
    assert (Usage(1, 1, False, None) + Usage(1, 1, True, 0.5)).cost_usd is None


# ---------------------------------------------------------------- refine


def test_refine_produces_a_new_version_from_contradictions(anthropic_stub, fast_policy):
    old = GOOD_LENGTH
    contradictions = [
        Contradiction(trace(2, "Dear [name], thanks."), "fail", "left the [name] placeholder", "short enough"),
        Contradiction(trace(7, "Hi [customer]!"), "fail", "placeholder again"),
    ]
    anthropic_stub.script(
        "claude-sonnet-4-5", block("no_placeholder_v2", "placeholders, as the notes say", GOOD_PLACEHOLDER)
    )
    res = refine_eval("anthropic/claude-sonnet-4-5", CRITERION, old, contradictions, check=CHECK, policy=fast_policy)
    assert res.ok and len(res.kept) == 1
    new = res.kept[0]
    assert new.source == GOOD_PLACEHOLDER and new.source != old and new.status == "valid"
    prompt = anthropic_stub.requests[0]["body"]["messages"][0]["content"]
    assert old.strip() in prompt and "left the [name] placeholder" in prompt and "Hi [customer]!" in prompt
    assert "the eval said pass: short enough" in prompt
    assert res.usage.input_tokens > 0 and res.usage.cost_usd > 0


def test_refine_repairs_once_too(openai_stub, fast_policy):
    contradictions = [Contradiction(trace(2, "Dear [name]"), "fail", "placeholder")]
    openai_stub.script("gpt-4o-mini", block("v2", "reads answer", BROKEN_KEYERROR), block("v2", "fixed", GOOD_BRACKETS))
    res = refine_eval("openai/gpt-4o-mini", CRITERION, GOOD_LENGTH, contradictions, check=CHECK, policy=fast_policy)
    assert [c.status for c in res.candidates] == ["repaired"] and res.kept[0].source == GOOD_BRACKETS


def test_refine_prompt_fits_its_window():
    many = [Contradiction(e.trace, e.rating, e.note) for e in long_examples(80)]
    p = build_refine_prompt(CRITERION, GOOD_LENGTH, many, context_window=6_000)
    assert 0 < p.examples_used < 80 and p.input_tokens + p.max_tokens <= 6_000


# ---------------------------------------------------------------- Langfuse


def test_generation_calls_are_sent_to_langfuse(monkeypatch, openai_stub, fast_policy):
    import uuid

    from tests.stubs.langfuse_stub import LangfuseStub

    # A public key of its own: the SDK keeps one client per public key for the whole process.
    with LangfuseStub([], public_key=f"pk-lf-{uuid.uuid4().hex[:8]}") as lf:
        for name, value in lf.env().items():
            monkeypatch.setenv(name, value)
        first = answer(
            block("no_placeholder", "placeholders", GOOD_PLACEHOLDER),
            block("answer_field", "reads the answer", BROKEN_KEYERROR),
        )
        openai_stub.script("gpt-4o-mini", first, block("answer_field", "fixed", GOOD_BRACKETS))
        res = generate_candidates("openai/gpt-4o-mini", CRITERION, EXAMPLES, k=2, check=CHECK, policy=fast_policy)
        assert res.traced_to_langfuse and len(res.kept) == 2
        spans = list(lf.spans)

    assert ("/api/public/otel/v1/traces", 200) in lf.log
    generations = [s for s in spans if s["attributes"].get("langfuse.observation.type") == "generation"]
    assert [g["name"] for g in generations] == ["generate", "repair answer_field"]
    first_gen = generations[0]["attributes"]
    assert first_gen["langfuse.observation.model.name"] == "gpt-4o-mini"
    usage = json.loads(first_gen["langfuse.observation.usage_details"])
    assert usage["input"] == res.calls[0].usage.input_tokens and usage["output"] == res.calls[0].usage.output_tokens
    assert json.loads(first_gen["langfuse.observation.cost_details"])["total"] == pytest.approx(
        res.calls[0].usage.cost_usd
    )
    assert CRITERION in first_gen["langfuse.observation.input"]
    assert "no_placeholder" in first_gen["langfuse.observation.output"]
    root = next(s for s in spans if s["name"] == "forge eval generate")
    assert all(g["trace_id"] == root["trace_id"] and g["parent_span_id"] == root["span_id"] for g in generations)
    assert "sk-test" not in json.dumps(spans)  # the provider key never goes to Langfuse


def test_a_failed_call_is_marked_as_an_error_in_langfuse(monkeypatch, openai_stub, fast_policy):
    import uuid

    from tests.stubs.langfuse_stub import LangfuseStub

    with LangfuseStub([], public_key=f"pk-lf-{uuid.uuid4().hex[:8]}") as lf:
        for name, value in lf.env().items():
            monkeypatch.setenv(name, value)
        openai_stub.script("gpt-4o-mini", ScriptedError(400, "bad request"))
        res = generate_candidates("openai/gpt-4o-mini", CRITERION, EXAMPLES, check=CHECK, policy=fast_policy)
        spans = list(lf.spans)
    assert res.error and res.traced_to_langfuse
    gen = next(s for s in spans if s["name"] == "generate")["attributes"]
    assert gen["langfuse.observation.level"] == "ERROR" and "bad request" in gen["langfuse.observation.status_message"]


def test_langfuse_unreachable_never_fails_generation(monkeypatch, openai_stub, fast_policy):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("LANGFUSE_HOST", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", "pk-lf-nowhere")
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-lf-nowhere")
    openai_stub.script("gpt-4o-mini", answer(block("no_brackets", "brackets", GOOD_BRACKETS)))
    res = generate_candidates("openai/gpt-4o-mini", CRITERION, EXAMPLES, k=1, check=CHECK, policy=fast_policy)
    assert res.ok and [c.name for c in res.kept] == ["no_brackets"]


def test_a_changed_langfuse_host_takes_effect_without_a_restart(monkeypatch, openai_stub, fast_policy):
    import uuid

    from tests.stubs.langfuse_stub import LangfuseStub

    public_key = f"pk-lf-{uuid.uuid4().hex[:8]}"  # the same project, moved to another host
    for _ in range(2):
        with LangfuseStub([], public_key=public_key) as lf:
            for name, value in lf.env().items():
                monkeypatch.setenv(name, value)
            openai_stub.script("gpt-4o-mini", answer(block("no_brackets", "brackets", GOOD_BRACKETS)))
            res = generate_candidates("openai/gpt-4o-mini", CRITERION, EXAMPLES, k=1, check=CHECK, policy=fast_policy)
            assert res.ok and res.traced_to_langfuse
            assert [s["name"] for s in lf.spans if s["name"] == "generate"] == ["generate"]


def test_repeated_code_and_extra_candidates_are_not_kept_twice(openai_stub, fast_policy):
    text = answer(
        block("a", "x", GOOD_BRACKETS),
        block("b", "same again", GOOD_BRACKETS + "\n\n"),
        block("c", "length", GOOD_LENGTH),
        block("d", "one more than asked", GOOD_PLACEHOLDER),
    )
    openai_stub.script("gpt-4o-mini", text)
    res = generate_candidates("openai/gpt-4o-mini", CRITERION, EXAMPLES, k=3, check=CHECK, policy=fast_policy)
    assert [c.name for c in res.candidates] == ["a", "b", "c"]  # k asked, k read
    assert [c.name for c in res.kept] == ["a", "c"] and res.candidates[1].error == "the same code as a"
