"""`forge eval generate`: an LLM (local stubs on the OpenAI and Anthropic wire formats) writes evals for a
stored set; each is checked and repaired in the sandbox, scored on ratings the model never saw, and stored."""

from __future__ import annotations

import json

import pytest

from forge.evals import authoring
from forge.evals.synthfile import sandbox_runner
from forge.llm.retry import RetryPolicy
from forge.store import evals as eval_store
from tests.evals.test_generate import (
    BROKEN_IMPORT,
    BROKEN_KEYERROR,
    GOOD_BRACKETS,
    GOOD_LENGTH,
    GOOD_PLACEHOLDER,
    answer,
    block,
)
from tests.stubs.openai_stub import ScriptedError

POLICY = RetryPolicy(timeout=10.0, max_retries=1, cap=0.2, backoff=0.01)


class RecordingRunner:
    """The sandbox runner, remembering which traces each run saw."""

    def __init__(self):
        self.runs: list[tuple[list[str], list[str]]] = []

    def __call__(self, sources, traces):
        self.runs.append((sorted(sources), [t["id"] for t in traces]))
        return sandbox_runner(sources, traces)


def test_openai_generation_repairs_scores_held_out_and_stores(admin_access, placeholder_es, openai_stub):
    es, _ = placeholder_es
    openai_stub.script(
        "gpt-4o-mini",
        answer(
            block("no_placeholder", "fails keep [x] placeholders", GOOD_PLACEHOLDER),
            block("answer_field", "reads the answer", BROKEN_KEYERROR),
            block("short_enough", "long answers ramble", GOOD_LENGTH),
        ),
        block("answer_field", "reads output_text now", GOOD_BRACKETS),
    )
    runner = RecordingRunner()
    summary = authoring.generate_set(admin_access, es["id"], "openai/gpt-4o-mini", k=3, runner=runner, policy=POLICY)

    assert summary["status"] == "done" and summary["error"] is None and not summary["all_calls_failed"]
    by_name = {c["name"]: c for c in summary["candidates"]}
    assert by_name["answer_field"]["status"] == "repaired"  # the KeyError on an example was fed back once
    # Both bracket checks are perfect on held-out traces; the second adds nothing to the chosen set.
    assert by_name["no_placeholder"]["metrics"]["kappa"] == by_name["answer_field"]["metrics"]["kappa"] == 1.0
    assert [c["name"] for c in summary["candidates"] if c["kept"]] == ["answer_field"]
    assert by_name["no_placeholder"]["reason"] == "adds too little to the chosen set's held-out kappa"
    assert not by_name["short_enough"]["kept"] and "kappa" in by_name["short_enough"]["reason"]
    # Tokens, cost and time per candidate, from the stub's counts and the catalog's prices.
    assert all(c["usage"]["input_tokens"] > 0 and c["usage"]["cost_usd"] > 0 for c in summary["candidates"])
    assert summary["usage"]["input_tokens"] == sum(c["usage"]["input_tokens"] for c in summary["candidates"])

    # Scored only on traces the model never saw.
    shown = set(eval_store.evals_with_current(admin_access, es["id"])[0]["generation"]["built_from"])
    assert summary["examples_shown"] == len(shown) and 0 < len(shown) < 60
    scoring = [ids for names, ids in runner.runs if len(names) > 1]
    assert len(scoring) == 1 and not shown & set(scoring[0]) and len(scoring[0]) == 60 - len(shown)
    assert by_name["no_placeholder"]["metrics"]["n"] == 60 - len(shown)

    stored = {r["name"]: r for r in eval_store.evals_with_current(admin_access, es["id"])}
    assert stored["answer_field"]["status"] == "kept" and stored["short_enough"]["status"] == "rejected"
    assert all(r["origin"] == "llm" and r["model"] == "openai/gpt-4o-mini" for r in stored.values())
    assert "The reply never leaves placeholders" in stored["no_placeholder"]["prompt"]
    assert stored["no_placeholder"]["status"] == "rejected" and stored["no_placeholder"]["metrics"]["kappa"] == 1.0
    gen = stored["answer_field"]["generation"]
    assert gen["status"] == "repaired" and "KeyError" in gen["first_error"] and gen["duration_ms"] > 0
    assert stored["short_enough"]["metrics"]["accuracy_interval"] is not None


def test_anthropic_candidate_that_never_validates_is_stored_as_rejected(admin_access, placeholder_es, anthropic_stub):
    es, _ = placeholder_es
    anthropic_stub.script(
        "claude-sonnet-4-5",
        answer(block("uses_os", "checks a file", BROKEN_IMPORT), block("brackets", "any bracket", GOOD_BRACKETS)),
        block("uses_os", "still a file", BROKEN_IMPORT),
    )
    summary = authoring.generate_set(admin_access, es["id"], "anthropic/claude-sonnet-4-5", k=2, policy=POLICY)
    by_name = {c["name"]: c for c in summary["candidates"]}
    assert by_name["brackets"]["kept"]
    dropped = by_name["uses_os"]
    assert (
        not dropped["kept"] and dropped["status"] == "dropped" and "still failing after one repair" in dropped["reason"]
    )
    assert "os" in dropped["reason"] and dropped["metrics"] is None
    stored = {r["name"]: r for r in eval_store.evals_with_current(admin_access, es["id"])}
    assert stored["uses_os"]["status"] == "rejected" and "still failing" in stored["uses_os"]["note"]


def test_a_failed_provider_call_keeps_what_was_made_and_the_cli_exits_1(
    admin_access, placeholder_es, openai_stub, monkeypatch, capsys
):
    es, _ = placeholder_es
    openai_stub.script(
        "gpt-4o-mini",
        answer(block("no_placeholder", "placeholders", GOOD_PLACEHOLDER), block("answer_field", "x", BROKEN_KEYERROR)),
        ScriptedError(400, "bad request: the repair was refused"),
    )
    summary = authoring.generate_set(admin_access, es["id"], "openai/gpt-4o-mini", k=2, policy=POLICY)
    assert summary["status"] == "partial" and "bad request" in summary["error"]
    assert [c["name"] for c in summary["candidates"] if c["kept"]] == ["no_placeholder"]
    assert [c["name"] for c in summary["candidates"]] == ["no_placeholder", "answer_field"]  # both kept as rows

    from forge import cli
    from tests.conftest import PASSWORD

    monkeypatch.setenv("FORGE_USER", "admin")
    monkeypatch.setenv("FORGE_PASSWORD", PASSWORD)
    openai_stub.script("gpt-4o-mini", ScriptedError(400, "no such model"))
    code = cli.main(["eval", "generate", "--eval-set", "No placeholders", "--model", "openai/gpt-4o-mini", "--json"])
    out, err = capsys.readouterr()
    assert code == 1 and "every call to openai/gpt-4o-mini failed" in err and "no such model" in err
    assert json.loads(out.splitlines()[-1])["status"] == "failed"


def test_no_provider_configured_says_how(admin_access, placeholder_es, monkeypatch, capsys):
    from forge import cli
    from tests.conftest import PASSWORD

    monkeypatch.setenv("FORGE_USER", "admin")
    monkeypatch.setenv("FORGE_PASSWORD", PASSWORD)
    assert authoring.default_model() is None
    code = cli.main(["eval", "generate", "--eval-set", "No placeholders"])
    assert code == 2 and "OPENAI_API_KEY" in capsys.readouterr().err


@pytest.mark.parametrize("cmd", [["eval", "synth", "--eval-set", "No placeholders", "--json"]])
def test_cli_synth_on_a_set(admin_access, placeholder_es, monkeypatch, capsys, cmd):
    from forge import cli
    from tests.conftest import PASSWORD

    monkeypatch.setenv("FORGE_USER", "admin")
    monkeypatch.setenv("FORGE_PASSWORD", PASSWORD)
    assert cli.main(cmd) == 0
    out = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert out["kind"] == "synth" and out["chosen"] and out["set_metrics"]["kappa"] > 0.9


LOOSE = """def evaluate(trace):
    text = trace.get("output_text") or ""
    return "[name]" not in text
"""


def test_refining_an_llm_eval_sends_its_contradictions_and_scores_on_unseen_traces(
    admin_access, placeholder_es, openai_stub
):
    es, _ = placeholder_es
    openai_stub.script("gpt-4o-mini", answer(block("name_only", "only [name]", LOOSE)))
    authoring.generate_set(admin_access, es["id"], "openai/gpt-4o-mini", k=1, policy=POLICY)
    ev = eval_store.list_evals(admin_access, es["id"])[0]
    rows, figs = authoring.contradictions(admin_access, ev.id)
    # It misses the fails with other placeholders: each is a contradiction, with the rater's note.
    assert rows and all(r.human == "fail" and r.verdict == "pass" for r in rows)
    assert all(r.note == "left a placeholder" for r in rows) and figs["contradictions"] == len(rows)

    openai_stub.script("gpt-4o-mini", block("name_only", "any placeholder now", GOOD_PLACEHOLDER))
    summary = authoring.refine(admin_access, ev.id, policy=POLICY)
    assert summary["status"] == "done" and summary["version"] == 2 and summary["contradictions"] == len(rows)
    sent = openai_stub.requests[-1]["body"]["messages"][-1]["content"]
    assert "[customer name]" in sent or "[order id]" in sent  # the contradicting traces went to the model
    assert "left a placeholder" in sent  # with the raters' notes

    versions = eval_store.versions(admin_access, ev.id)
    v1, v2 = versions
    assert v2.parent_version == 1 and v2.source == GOOD_PLACEHOLDER and v2.model == "openai/gpt-4o-mini"
    assert eval_store.get_eval(admin_access, ev.id).current_version == 2
    # Scored only on rated traces neither version was built from.
    built = set(v2.generation["built_from"])
    assert set(v1.generation["built_from"]) <= built and {r.trace_id for r in rows} <= built
    assert v2.metrics["n"] == 60 - len(built) and v2.metrics["kappa"] == 1.0
    # Roll back: the older version is current again, nothing deleted.
    eval_store.set_current_version(admin_access, ev.id, 1)
    assert eval_store.get_version(admin_access, ev.id).source == LOOSE
    assert len(eval_store.versions(admin_access, ev.id)) == 2
