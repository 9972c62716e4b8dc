"""`forge run --prompt-name NAME --dataset NAME|FILE`: one object per row and model, a summary per model, exit codes."""

from __future__ import annotations

import json

import pytest

from forge import auth
from forge.cli import build_parser, main
from forge.library import datasets, prompts
from forge.llm.prompts import PromptSpec
from forge.store import evals as eval_store
from forge.store import ratings as rating_store
from tests.conftest import PASSWORD

ROW_KEYS = {"row", "model", "output", "input_tokens", "output_tokens", "latency_ms", "cost_usd", "error", "verdicts"}
LONG_ENOUGH = """
def evaluate(trace):
    return len(trace["output_text"]) >= 40
"""


@pytest.fixture
def seeded(db, admin, default_ws, monkeypatch):
    monkeypatch.setenv("FORGE_USER", "admin")
    monkeypatch.setenv("FORGE_PASSWORD", PASSWORD)
    monkeypatch.setenv("FORGE_LLM_MAX_RETRIES", "0")
    acc = auth.access(db, admin, default_ws.id, "edit")
    prompts.save(acc, "ask", PromptSpec(template="Answer: {{question}}", max_tokens=50), ["offline/echo"])
    prompts.save(acc, "ask", PromptSpec(template="Answer well: {{question}}", max_tokens=50), ["offline/echo"])
    rows = b'{"question": "one"}\n{"question": "two"}\n{"question": "three"}\n'
    datasets.save(acc, "three", datasets.parse_upload("three.jsonl", rows))
    es = rating_store.get_or_create_eval_set(acc, "Long", "long answers")
    ev = eval_store.create_eval(acc, es["id"], "long", LONG_ENOUGH, origin="llm")
    eval_store.set_status(acc, ev.id, "kept")
    return acc


def lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_rows_then_summaries_with_verdicts(seeded, openai_stub, capsys):
    openai_stub.script("gpt-4o-mini", "short", "this answer is long enough to pass the eval", "tiny")
    code = main(
        ["run", "--prompt-name", "ask", "--version", "1", "--dataset", "three", "--model", "offline/echo"]
        + ["--model", "openai/gpt-4o-mini", "--eval-set", "Long", "--concurrency", "1", "--json"]
    )
    assert code == 0
    got = lines(capsys.readouterr().out)
    rows, summaries = got[:6], got[6:]
    assert all(set(r) == ROW_KEYS for r in rows)
    assert [(r["row"], r["model"]) for r in rows] == [
        (i, m) for i in (1, 2, 3) for m in ("offline/echo", "openai/gpt-4o-mini")
    ]
    assert "Answer: one" in rows[0]["output"]  # version 1 of the prompt, not the latest
    assert [r["verdicts"]["long v1"] for r in rows if r["model"] == "openai/gpt-4o-mini"] == [False, True, False]
    by_model = {s["model"]: s for s in summaries}
    assert all(s["summary"] is True for s in summaries)
    assert by_model["openai/gpt-4o-mini"]["pass_rates"]["long v1"] == pytest.approx(1 / 3, abs=1e-4)
    assert by_model["offline/echo"]["pass_rates"]["long v1"] == 1.0
    assert by_model["offline/echo"]["rows"] == 3 and by_model["offline/echo"]["failed"] == 0
    assert by_model["openai/gpt-4o-mini"]["cost_usd"] > 0 and by_model["openai/gpt-4o-mini"]["latency_ms_p50"] > 0


def test_file_dataset_with_a_bad_row_runs_the_valid_ones(seeded, tmp_path, capsys):
    path = tmp_path / "qs.csv"
    path.write_text("question\nfirst\n\nsecond,extra\nthird\n")
    code = main(["run", "--prompt-name", "ask", "--dataset", str(path), "--model", "offline/echo", "--json"])
    captured = capsys.readouterr()
    assert code == 0
    assert f"{path}: line 4: 2 cells but the header has 1 columns" in captured.err
    got = lines(captured.out)
    assert [r["row"] for r in got if "row" in got[0] and not r.get("summary")] == [1, 2]


def test_every_call_failed_is_exit_1(seeded, openai_stub, capsys):
    code = main(["run", "--prompt-name", "ask", "--dataset", "three", "--model", "openai/missing-model", "--json"])
    assert code == 1
    got = lines(capsys.readouterr().out)
    assert all("Unknown model" in r["error"] for r in got[:3])
    assert got[3]["failed"] == 3


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--prompt-name", "nope", "--dataset", "three"], "No prompt called 'nope'"),
        (["--prompt-name", "ask", "--dataset", "missing"], "no dataset named 'missing'"),
        (["--prompt-name", "ask", "--version", "7", "--dataset", "three"], "has no version 7"),
        (["--prompt-name", "ask"], "--prompt-name and --dataset go together"),
        (["--prompt", "hi", "--prompt-name", "ask", "--dataset", "three"], "not both"),
        (["--prompt-name", "ask", "--dataset", "three", "--eval-set", "Nope"], "no eval set named 'Nope'"),
        (["--prompt-name", "ask", "--dataset", "three", "--max-cost", "-1"], "--max-cost"),
        (["--prompt", "hi", "--max-cost", "1"], "--max-cost needs --prompt-name"),
    ],
)
def test_bad_input_is_exit_2(seeded, capsys, argv, message):
    assert main(["run", "--model", "offline/echo", *argv]) == 2
    assert message in capsys.readouterr().err


def test_spend_limit_zero_runs_nothing_and_says_so(seeded, openai_stub, capsys):
    code = main(["run", "--prompt-name", "ask", "--dataset", "three", "--model", "openai/gpt-4o-mini"])
    capsys.readouterr()
    code = main(
        ["run", "--prompt-name", "ask", "--dataset", "three", "--model", "openai/gpt-4o-mini", "--max-cost", "0"]
    )
    captured = capsys.readouterr()
    assert code == 1 and "spend limit" in captured.err
    assert len(openai_stub.requests) == 3  # only the first run's calls


def test_through_the_server_a_name_stays_a_name_and_a_file_travels(seeded, admin, tmp_path):
    from forge import api, remote

    path = tmp_path / "local.jsonl"
    path.write_text('{"question": "from the client"}\n')
    for dataset, expect in (("three", 3), (str(path), 1)):
        argv = ["run", "--prompt-name", "ask", "--dataset", dataset, "--model", "offline/echo", "--json"]
        body = remote.request_body(argv, build_parser().parse_args(argv))
        result = api.run_command(admin, body)
        assert result["exit_code"] == 0, result["stderr"]
        rows = [r for r in lines(result["stdout"]) if not r.get("summary")]
        assert len(rows) == expect
    assert "from the client" in rows[0]["output"]
    # a client without that file sends a name: on the server it is only a name, even where it is a path there
    argv = ["run", "--prompt-name", "ask", "--dataset", "/etc/hostname", "--model", "offline/echo"]
    result = api.run_command(admin, {"argv": argv, "files": [{"path": "/etc/hostname", "kind": "missing"}]})
    assert result["exit_code"] == 2 and "no dataset named '/etc/hostname'" in result["stderr"]
