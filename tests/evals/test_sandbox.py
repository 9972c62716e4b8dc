"""The sandbox's layers 2-5 and in-Python layers, each on its own, plus benign evals and the runner."""

from __future__ import annotations

import datetime
import os
import time

import pytest

from forge.evals import sandbox
from forge.evals.contract import EvalRunner, Verdict
from forge.evals.sandbox import RunOutcome, Sandbox, isolation_status, run_evals
from tests.evals.conftest import MODES, SECRET, require_mode, workers_alive

TRACES = [
    {"id": "a", "input_text": "What is 2+2?", "output_text": "The answer is 4.", "metadata": {"n": 1}},
    {"id": "b", "input_text": "Capital of France?", "output_text": "As an AI language model, I cannot say."},
    {"id": "c", "input_text": "JSON please", "output_text": '{"ok": true, "items": [1, 2, 3]}'},
]

BENIGN = {
    "regex": (
        "import re\ndef evaluate(trace):\n    return bool(re.search(r'\\d', trace['output_text'])), 'has a digit'\n"
    ),
    "json": (
        "import json\ndef evaluate(trace):\n    try:\n        data = json.loads(trace['output_text'])\n"
        "    except json.JSONDecodeError as exc:\n        return False, f'not JSON: {exc.msg}'\n"
        "    return data.get('ok') is True, 'parsed'\n"
    ),
    "length": "def evaluate(trace):\n    return len(trace['output_text']) >= 20\n",
    "libs": (
        "import collections, datetime, difflib, functools, html, itertools, math, statistics, string\n"
        "import textwrap, typing, unicodedata\nfrom collections import namedtuple\nP = namedtuple('P', 'a')\n"
        "def evaluate(trace):\n    words = trace['output_text'].split()\n"
        "    c = collections.Counter(words)\n    d = datetime.datetime.strptime('2024-01-02', '%Y-%m-%d')\n"
        "    r = difflib.SequenceMatcher(None, 'abc', 'abd').ratio()\n"
        "    s = statistics.mean([1, 2, 3]) + math.sqrt(4) + P(1).a\n"
        "    t = textwrap.shorten(html.unescape('&amp; ' * 3), 10) + unicodedata.normalize('NFC', 'e')\n"
        "    return bool(c) and d.year == 2024 and r > 0.5 and s == 5 and len(t) > 0, 'ok'\n"
    ),
}


def test_isolation_is_full_on_this_machine_or_says_what_is_missing():
    level, missing = isolation_status()
    assert level in ("full", "reduced")
    assert (level == "full") == (missing == [])


def test_reduced_mode_can_be_forced_by_argument_and_env(monkeypatch):
    assert isolation_status("reduced")[0] == "reduced"
    monkeypatch.setenv("FORGE_SANDBOX", "reduced")
    level, missing = isolation_status()
    assert level == "reduced" and any("bubblewrap" in m for m in missing)


@pytest.mark.parametrize("mode", MODES)
def test_benign_evals_give_the_right_verdicts(mode):
    require_mode(mode)
    out = run_evals(BENIGN, TRACES, isolation=mode)
    assert isinstance(out, RunOutcome) and out.isolation == mode
    assert [v.verdict for v in out.verdicts["regex"]] == [True, False, True]
    assert [v.verdict for v in out.verdicts["json"]] == [False, False, True]
    assert out.verdicts["json"][0].reason.startswith("not JSON")
    assert [v.verdict for v in out.verdicts["length"]] == [False, True, True]
    assert [v.verdict for v in out.verdicts["libs"]] == [True, True, True], out.verdicts["libs"]
    assert workers_alive() == []


def test_sandbox_class_is_an_eval_runner():
    runner: EvalRunner = Sandbox()
    verdicts = runner.run({"len": BENIGN["length"]}, TRACES)
    assert [v.verdict for v in verdicts["len"]] == [False, True, True]
    assert all(isinstance(v, Verdict) for v in verdicts["len"])


def test_errors_name_the_exception_and_the_line():
    src = "def evaluate(trace):\n    x = 1\n    return trace['missing'] == x\n"
    v = run_evals({"e": src}, TRACES[:1]).verdicts["e"][0]
    assert v.is_error and v.error.startswith("KeyError") and "(line 3)" in v.error


def test_a_syntax_error_is_an_error_verdict_for_every_trace():
    out = run_evals({"bad": "def evaluate(trace)\n    return True\n"}, TRACES)
    assert all(v.error.startswith("syntax error on line 1") for v in out.verdicts["bad"])


def test_syntax_errors_caught_in_the_worker_too():
    out = run_evals({"bad": "def evaluate(trace)\n    return True\n"}, TRACES, _skip_static=True)
    assert all("syntax error" in v.error and "line 1" in v.error for v in out.verdicts["bad"])


@pytest.mark.parametrize("mode", MODES)
def test_timer_stops_a_hung_call_and_the_run_continues(mode):
    """Layer 5: the parent kills the worker from outside; the remaining traces still run."""
    require_mode(mode)
    src = "def evaluate(trace):\n    while trace['id'] == 'b':\n        pass\n    return True\n"
    t0 = time.monotonic()
    out = run_evals({"hang": src}, TRACES, timeout_s=0.5, isolation=mode)
    v = out.verdicts["hang"]
    assert [x.verdict for x in v] == [True, None, True]
    assert v[1].error.startswith("timeout")
    assert time.monotonic() - t0 < 10
    assert workers_alive() == []


@pytest.mark.parametrize("mode", MODES)
def test_memory_cap(mode):
    """Layer 4: RLIMIT_AS; the memory_mb argument is honoured."""
    require_mode(mode)
    src = "def evaluate(trace):\n    return len(bytearray(120 * 1024 * 1024)) > 0\n"
    small = run_evals({"m": src}, TRACES[:1], memory_mb=100, isolation=mode).verdicts["m"][0]
    big = run_evals({"m": src}, TRACES[:1], memory_mb=400, isolation=mode).verdicts["m"][0]
    assert small.error == "memory exceeded (limit 100 MB)"
    assert big.verdict is True


@pytest.mark.parametrize("mode", MODES)
def test_each_call_gets_a_fresh_trace(mode):
    require_mode(mode)
    mutate = (
        "def evaluate(trace):\n    seen = trace['metadata'].get('seen', False)\n    trace['metadata']['seen'] = True\n"
        "    trace['output_text'] = ''\n    return not seen\n"
    )
    same = [dict(TRACES[0], id=str(i), metadata={}) for i in range(250)]
    out = run_evals({"m1": mutate, "m2": mutate, "len": BENIGN["length"]}, same, isolation=mode)
    assert all(v.verdict is True for v in out.verdicts["m1"] + out.verdicts["m2"])
    assert all(v.verdict is False for v in out.verdicts["len"])  # 'The answer is 4.' is short, never ''
    assert same[0]["output_text"] == "The answer is 4." and same[0]["metadata"] == {}


@pytest.mark.parametrize("mode", MODES)
def test_mutating_builtins_or_shared_modules_does_not_reach_another_eval(mode):
    require_mode(mode)
    evil = (
        "import json, collections\n"
        "def evaluate(trace):\n    json.loads = lambda s: {'ok': True}\n"
        "    collections.Counter.most_common = lambda self, n=None: [('evil', 1)]\n"
        "    __builtins__['len'] = lambda x: 0\n    return True\n"
    )
    honest = (
        "import json, collections\ndef evaluate(trace):\n"
        "    c = collections.Counter(trace['output_text'])\n"
        "    return c.most_common(1)[0][0] != 'evil' and len('ab') == 2 and json.loads('[1]') == [1]\n"
    )
    out = run_evals({"evil": evil, "honest": honest}, TRACES * 40, isolation=mode, _skip_static=True)
    assert all(v.verdict is True for v in out.verdicts["honest"])


def test_progress_and_cancel():
    calls = []
    src = "def evaluate(trace):\n    for _ in range(1000000):\n        pass\n    return True\n"
    traces = [dict(TRACES[0], id=str(i)) for i in range(400)]
    out = run_evals(
        {"slow": src},
        traces,
        workers=1,
        progress=lambda done, total, msg: calls.append((done, total)),
        cancelled=lambda: bool(calls) and calls[-1][0] >= 100,  # cancel once the first chunk is in
    )
    errors = [v for v in out.verdicts["slow"] if v.is_error]
    assert errors and all(v.error == "cancelled" for v in errors)
    assert any(v.verdict is True for v in out.verdicts["slow"])
    assert calls and all(total == 400 for _, total in calls)
    assert workers_alive() == []


def test_large_runs_use_several_workers():
    src = "def evaluate(trace):\n    return True\n"
    traces = [dict(TRACES[0], id=str(i)) for i in range(1000)]
    out = run_evals({"a": src, "b": src}, traces, workers=2)
    assert all(v.verdict is True for v in out.verdicts["a"] + out.verdicts["b"])


def test_bwrap_command_is_minimal_and_starts_from_an_empty_environment():
    """Layer 2: what the sandbox mounts and unshares."""
    args = sandbox._bwrap_args()
    joined = " ".join(args)
    for flag in ("--unshare-all", "--die-with-parent", "--new-session", "--proc /proc", "--uid 65534", "--gid 65534"):
        assert flag in joined
    mounted = {args[i + 1] for i, a in enumerate(args) if a in ("--ro-bind", "--bind")}
    assert not any(a == "--bind" for a in args)  # everything read-only
    root = str(sandbox.WORKER_FILE.parents[2])
    for src in mounted:
        assert src == str(sandbox.WORKER_FILE) or not src.startswith((root, "/home", "/work")) or "site-packages" in src


@pytest.mark.skipif(isolation_status()[0] != "full", reason="bubblewrap and seccomp needed")
def test_inside_bubblewrap_the_eval_sees_no_project_no_network_no_env_and_runs_as_nobody():
    """Layer 2 seen from inside: reached with the os module through an escape (static checks skipped)."""
    src = """
def _os():
    for c in ().__class__.__base__.__subclasses__():
        if c.__name__ == "_wrap_close":
            return c.__init__.__globals__
def evaluate(trace):
    os = _os()
    return True, repr((os["getuid"](), os["getpid"](), dict(os["environ"]), os["path"].exists("/work"),
                       os["path"].exists("/home"), os["path"].exists("/root/.ssh")))
"""
    v = run_evals({"probe": src}, TRACES[:1], _skip_static=True).verdicts["probe"][0]
    assert v.verdict is True, v
    uid, pid, env, work, home, ssh = eval(v.reason)  # our own probe's repr, in the test process
    assert uid == 65534 and pid < 10 and env == {} and not work and not home and not ssh


@pytest.mark.skipif(isolation_status()[0] != "full", reason="seccomp needed")
def test_seccomp_denies_sockets_and_processes_even_past_the_audit_hook():
    """Layer 3 on its own: the syscalls fail even when called without going through audited Python APIs."""
    src = """
def _os():
    for c in ().__class__.__base__.__subclasses__():
        if c.__name__ == "_wrap_close":
            return c.__init__.__globals__
def evaluate(trace):
    posix = _os()["sys"].modules["posix"]
    results = []
    try:
        # pipe2 is allowed; memfd_create (denied) has no audit event: it proves the filter is loaded
        posix.memfd_create("x")
        results.append("memfd allowed")
    except OSError as exc:
        results.append(exc.errno)
    return True, repr(results)
"""
    v = run_evals({"s": src}, TRACES[:1], _skip_static=True).verdicts["s"][0]
    assert v.verdict is True and v.reason == "[1]", v  # EPERM
    reduced = run_evals({"s": src}, TRACES[:1], _skip_static=True, isolation="reduced").verdicts["s"][0]
    assert reduced.reason == "['memfd allowed']"


def test_the_secret_is_not_visible_in_any_mode():
    src = "def evaluate(trace):\n    return False, 'x'\n"
    assert os.environ["OPENAI_API_KEY"] == SECRET
    for mode in ("auto", "reduced"):
        out = run_evals({"p": src}, TRACES[:1], isolation=mode)
        assert SECRET not in repr(out)


def test_empty_runs_and_traces_that_are_not_plain_json():
    assert run_evals({}, []).verdicts == {}
    assert run_evals({"a": BENIGN["length"]}, []).verdicts == {"a": []}
    odd = [{"id": 1, "output_text": "x" * 30, "when": datetime.datetime(2026, 1, 2), 7: "int key"}]
    src = "def evaluate(trace):\n    return trace['when'].startswith('2026') and trace['7'] == 'int key'\n"
    assert run_evals({"odd": src}, odd).verdicts["odd"][0].verdict is True


def test_a_statically_refused_eval_does_not_stop_the_others():
    out = run_evals({"bad": "import os\ndef evaluate(t):\n    return True\n", "len": BENIGN["length"]}, TRACES)
    assert all(v.is_error for v in out.verdicts["bad"])
    assert [v.verdict for v in out.verdicts["len"]] == [False, True, True]


def test_reasons_and_messages_with_lone_surrogates_are_kept_readable():
    src = (
        "def evaluate(trace):\n    if trace['id'] == 'a':\n        return True, 'bad \\ud800 text'\n"
        "    raise ValueError('bad \\udfff')\n"
    )
    out = run_evals({"s": src}, TRACES[:2]).verdicts["s"]
    assert out[0].verdict is True and out[0].reason.startswith("bad ")
    assert out[1].is_error and out[1].error.startswith("ValueError: bad ")


def test_future_imports_are_allowed():
    src = (
        "from __future__ import annotations\nimport re\n\n\n"
        "def evaluate(trace: dict) -> bool | tuple[bool, str]:\n    return bool(re.search('4', trace['output_text']))\n"
    )
    for mode in ("auto", "reduced"):
        assert [v.verdict for v in run_evals({"f": src}, TRACES, isolation=mode).verdicts["f"]] == [True, False, False]


def test_evals_never_see_label_carrying_metadata():
    """HaluEval's label_raw and hallucination_spans stay in metadata for analysts, not for evals."""
    src = "def evaluate(trace):\n    return True, ','.join(sorted(trace['metadata']))\n"
    trace = {"id": "t", "output_text": "x", "metadata": {"model": "m", "label_raw": "yes", "Hallucination_Spans": []}}
    (v,) = run_evals({"e": src}, [trace], isolation="reduced").verdicts["e"]
    assert v.reason == "model"
    assert trace["metadata"]["label_raw"] == "yes"  # the caller's trace is untouched
