"""A new team's first hour on a fresh database, in a real browser (Playwright + Debian chromium, headless).

The app is started as `make run` starts it, with the real SDKs pointed at local stub servers (OpenAI and
Anthropic wire formats) and a Langfuse stub holding real framework traces. Then, as the users would:
the admin account on first start, a workspace and an analyst; the analyst imports a HaluEval slice and the
Langfuse project, runs a prompt on two models, creates an eval set and rates twelve traces with the keyboard
only; the admin rates some of them again and reads the agreement panel; the analyst synthesises evals,
generates one with the (stub) LLM, runs them, opens the matrix's contradiction, re-rates that trace and
sees the cell agree, exports the matrix, pushes scores to Langfuse, and calls the API with a token.
Every page visited is saved as a screenshot (docs/screenshots/ with FORGE_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.browser import (
    NEEDS_CHROMIUM,
    Screenshots,
    choose,
    chromium,
    fill,
    log_in,
    log_out,
    metric,
    new_page,
    no_exception,
    open_page,
    pick,
    playground_models,
    review_key,
    review_shown,
    serve,
    settle,
    wait_idle,
)
from tests.e2e.browser import blur as _blur
from tests.e2e.browser import download as _download
from tests.e2e.browser import grid_text as _grid_text

pytestmark = [pytest.mark.e2e, NEEDS_CHROMIUM]

ADMIN, ADMIN_PASSWORD = "ada", "first-hour-admin-2026"
ANALYST, ANALYST_PASSWORD = "ana", "first-hour-analyst-2026"
WORKSPACE = "Support QA"
EVAL_SET = "No refusals"
CRITERION = "The assistant does what was asked instead of apologising that it cannot."
OPENAI_MODEL, ANTHROPIC_MODEL = "openai/gpt-4o-mini", "anthropic/claude-haiku-4-5"
PROMPT = "Summarise our refund policy in one sentence."
N_RATED = 12
PAGES_SHOWN = [
    "first-start",
    "login",
    "admin",
    "import",
    "playground",
    "runs",
    "traces",
    "trace",
    "eval-sets",
    "review",
    "agreement",
    "generate",
    "evals",
    "matrix",
    "matrix-drilldown",
    "settings",
    "overview",
]
# The eval the stub LLM "writes": a refusal says sorry. Its reason names the deciding line (the matrix marks it).
NO_REFUSAL = """def evaluate(trace):
    text = (trace.get("output_text") or "").lower()
    if "sorry" in text:
        return False, "line 4: matched 'sorry'"
    return True, "line 5: no apology found"
"""
SHORT_ANSWER = """def evaluate(trace):
    return len((trace.get("output_text") or "").split()) < 60
"""


def _llm_answer() -> str:
    """A model's answer in the format forge/evals/meta_prompt.parse_candidates reads."""
    blocks = [
        ("no_refusal", "refusals apologise; helpful answers do not", NO_REFUSAL),
        ("short_answer", "rated fails look longer", SHORT_ANSWER),
    ]
    body = "\n".join(f"### name: {n}\nRationale: {r}\n```python\n{s}```\n" for n, r, s in blocks)
    return "Here are two candidate evals.\n\n" + body


def _halueval_slice(shared: Path, out: Path) -> list[dict]:
    """Six real HaluEval answers, short and one paragraph: three apologising refusals and three answers."""
    rows = [json.loads(line) for line in (shared / "halueval_general.jsonl").open(encoding="utf-8")]
    short = [
        r
        for r in rows
        if len(r["output"]) < 400
        and "\n" not in r["output"]
        and "sorry" not in r["input"].lower()
        and "*" not in r["output"]
    ]
    sorry = [r for r in short if "sorry" in r["output"].lower()][:3]
    plain = [r for r in short if "sorry" not in r["output"].lower()][:3]
    picked = sorry + plain
    out.write_text("".join(json.dumps(r) + "\n" for r in picked), encoding="utf-8")
    return picked


def _cohen_kappa(a: list[str], b: list[str]) -> float:
    """Cohen's kappa of two raters over the same traces (pass / fail)."""
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    expected = sum((a.count(v) / n) * (b.count(v) / n) for v in ("pass", "fail"))
    return 0.0 if expected == 1 else (observed - expected) / (1 - expected)


def _get(url: str, token: str) -> dict:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 200
        return json.loads(resp.read())


# ---------------------------------------------------------------- review helpers


def _shown_output(page) -> str:
    """The text of the review page's Output panel."""
    panel = page.locator('[data-testid="stVerticalBlock"]', has=page.get_by_role("heading", name="Output", exact=True))
    return panel.last.inner_text()


def _shown_source(page) -> str:
    caption = page.locator('[data-testid="stCaptionContainer"]', has_text=" · id ").first.inner_text()
    return next((s for s in ("langfuse", "playground", "file") if f" · {s}" in caption), "")


def _note(page, text: str) -> None:
    """Type a note with the keyboard alone: n focuses the note box, Tab leaves it."""
    review_key(page, "n")
    page.wait_for_function("() => document.activeElement && document.activeElement.tagName === 'TEXTAREA'")
    page.keyboard.type(text)
    page.keyboard.press("Tab")
    wait_idle(page)
    _blur(page)


def _rule(output: str) -> str:
    """How the raters judge the criterion: an answer that apologises fails."""
    return "fail" if "sorry" in output.lower() else "pass"


# ---------------------------------------------------------------- the test


def test_first_hour_of_a_new_team(tmp_path, shared_data):
    from tests.stubs.anthropic_stub import AnthropicStub
    from tests.stubs.langfuse_stub import LangfuseStub, load_framework_traces
    from tests.stubs.openai_stub import OpenAIStub

    halueval = _halueval_slice(shared_data, tmp_path / "halueval-slice.jsonl")
    framework = load_framework_traces(shared_data / "langfuse" / "framework_traces")
    shots = Screenshots(tmp_path)
    with (
        OpenAIStub(api_key="sk-first-hour") as openai_stub,
        AnthropicStub(api_key="ak-first-hour") as anthropic_stub,
        LangfuseStub(framework) as langfuse_stub,
    ):
        env = {
            "FORGE_COOKIE_KEY": "first-hour-cookie-key-" + "f" * 32,
            "FORGE_SECRETS": str(tmp_path / "no-secrets.toml"),
            "FORGE_BCRYPT_ROUNDS": "4",
            "OPENAI_API_KEY": "sk-first-hour",
            "OPENAI_BASE_URL": openai_stub.base_url,
            "ANTHROPIC_API_KEY": "ak-first-hour",
            "ANTHROPIC_BASE_URL": anthropic_stub.base_url,
            **langfuse_stub.env(),
        }
        with serve(tmp_path / "first-hour.duckdb", tmp_path / "server.log", env) as url, chromium() as browser:
            page = new_page(browser)
            try:
                _journey(page, url, tmp_path, shots, halueval, len(framework), openai_stub, langfuse_stub)
            except Exception:
                page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
                raise
    assert anthropic_stub.requests_for(ANTHROPIC_MODEL.split("/")[1])
    assert shots.taken == PAGES_SHOWN, shots.taken  # a picture of every page, under stable names


def _journey(page, url, tmp_path, shots, halueval, n_langfuse, openai_stub, langfuse_stub) -> None:
    main = page.locator('[data-testid="stMain"]')

    # 1. First start: only the one-time admin form.
    page.goto(url)
    settle(page)
    page.get_by_role("heading", name="Create the admin account").wait_for()
    no_exception(page)
    shots.take(page, "first-start")
    fill(page, "Your name", "Ada Admin")
    fill(page, "User name", ADMIN)
    fill(page, "Password", ADMIN_PASSWORD)
    fill(page, "Confirm password", ADMIN_PASSWORD)
    page.get_by_role("button", name="Create admin account").click()
    page.get_by_text(f"Admin account '{ADMIN}' created").wait_for()
    wait_idle(page)
    shots.take(page, "login")
    log_in(page, ADMIN, ADMIN_PASSWORD)
    page.get_by_role("heading", name="Workspace · default").wait_for()

    # 2. The admin adds the analyst, a workspace for the team, and the analyst to it.
    open_page(page, "Admin")
    fill(page, "User name", ANALYST, scope=main)
    fill(page, "Full name", "Ana Lyst", scope=main)
    fill(page, "Initial password", ANALYST_PASSWORD, scope=main)
    page.get_by_role("button", name="Add user").click()
    page.get_by_text(f"User '{ANALYST}' added as analyst.").wait_for()
    wait_idle(page)
    main.locator('[data-testid="stRadio"]').get_by_text("Workspaces", exact=True).click()
    wait_idle(page)
    fill(page, "Name", WORKSPACE, scope=main)
    fill(page, "Description", "Support assistant answers, rated by the team", scope=main)
    page.get_by_role("button", name="Create workspace").click()
    page.get_by_text(f"Workspace '{WORKSPACE}' created").wait_for()
    wait_idle(page)
    members = main.locator('[data-testid="stForm"]', has=page.get_by_role("heading", name="Members"))
    pick(page, "Workspace", WORKSPACE, scope=members)
    pick(page, "User", ANALYST, scope=members)
    members.get_by_role("button", name="Add to workspace").click()
    page.get_by_text(f"'{ANALYST}' added to {WORKSPACE}.").wait_for()
    wait_idle(page)
    no_exception(page)
    shots.take(page, "admin")
    log_out(page)

    # 3. The analyst's first look: an empty workspace; then a file and the Langfuse project come in.
    log_in(page, ANALYST, ANALYST_PASSWORD)
    page.get_by_role("heading", name=f"Workspace · {WORKSPACE}").wait_for()
    assert metric(page, "Traces") == "0"
    no_exception(page)

    open_page(page, "Import", "Import traces")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        str(tmp_path / "halueval-slice.jsonl")
    )
    page.get_by_text("halueval-slice.jsonl").first.wait_for()
    wait_idle(page)
    page.get_by_role("button", name="Import files").click()
    imported = main.locator('[data-testid="stMetric"]', has_text="Imported")
    imported.first.wait_for()
    assert imported.first.locator('[data-testid="stMetricValue"]').inner_text().strip() == str(len(halueval))
    wait_idle(page)
    page.get_by_role("tab", name="Langfuse").click()
    page.get_by_text(f"From {langfuse_stub.url}").wait_for()
    page.get_by_role("button", name="Import from Langfuse").click()
    page.get_by_text("Langfuse import").first.wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stMetric\"]')]"
        ".filter(m => m.innerText.includes('Imported')).length === 2",
        timeout=120_000,
    )
    wait_idle(page)
    counts = [m.locator('[data-testid="stMetricValue"]').inner_text().strip() for m in imported.all()]
    assert counts == [str(n_langfuse), str(len(halueval))], counts  # newest job first
    assert metric(page, "Failed") == "0"
    no_exception(page)
    shots.take(page, "import")

    # 4. The Playground: one prompt on an OpenAI and an Anthropic model (the stubs), side by side.
    open_page(page, "Playground")
    chips = playground_models(page, [OPENAI_MODEL, ANTHROPIC_MODEL])
    assert OPENAI_MODEL in chips and ANTHROPIC_MODEL in chips and "offline/echo" not in chips, chips
    prompt = page.get_by_label("Prompt", exact=True)
    prompt.fill(PROMPT)
    prompt.press("Control+Enter")
    wait_idle(page)
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("Saved 2 runs: see the Runs page.").wait_for()
    wait_idle(page)
    results = page.locator(".st-key-pg_results")
    for model in (OPENAI_MODEL, ANTHROPIC_MODEL):
        model_id = model.split("/")[1]
        results.get_by_text(f"Stub answer from {model_id}: {PROMPT}").wait_for()
    figures = results.locator('[data-testid="stCaptionContainer"]').all_inner_texts()
    assert len(figures) == 2, figures
    for line in figures:  # tokens, latency and cost of each model
        assert re.search(r"\d+ in / \d+ out · [\d,.]+ (ms|s)\b.* · \$[\d.]+", line), line
    no_exception(page)
    shots.take(page, "playground")

    open_page(page, "Runs")
    runs = _grid_text(page, main.locator('[data-testid="stDataFrame"]').first)
    assert OPENAI_MODEL in runs and ANTHROPIC_MODEL in runs, runs
    no_exception(page)
    shots.take(page, "runs")

    # The Traces page lists all of them; open the Claude agent trace from Langfuse.
    open_page(page, "Traces")
    total = len(halueval) + n_langfuse + 2
    page.get_by_text(re.compile(rf"Traces 1–\d+ of {total}\b")).wait_for()
    no_exception(page)
    shots.take(page, "traces")
    pick(page, "Open trace", re.compile(r"^claude\.conversation"), scope=main, typed="claude.conversation")
    page.get_by_role("heading", name="claude.conversation").wait_for()
    wait_idle(page)
    page.get_by_role("tab", name=re.compile(r"^Steps")).click()
    page.get_by_text("claude-sonnet-4-5-20250929").first.wait_for(state="attached")  # a grid cell
    no_exception(page)
    shots.take(page, "trace")

    # 5. An eval set with its criterion (two raters per trace), then twelve ratings by keyboard alone.
    open_page(page, "Eval sets")
    page.get_by_text("No eval set yet").wait_for()
    page.get_by_text("New eval set").click()
    new_set = main.locator('[data-testid="stForm"]').first
    fill(page, "Name", EVAL_SET, scope=new_set)
    fill(page, "Criterion: what 'pass' means", CRITERION, scope=new_set)
    fill(page, "Raters per trace", "2", scope=new_set)
    new_set.get_by_role("button", name="Create eval set").click()
    page.get_by_text(f"Eval set '{EVAL_SET}' created.").wait_for()
    wait_idle(page)
    no_exception(page)
    shots.take(page, "eval-sets")

    open_page(page, "Review")
    page.get_by_text(CRITERION).wait_for()
    mine: dict[str, str] = {}
    sources: dict[str, str] = {}
    _blur(page)
    for i in range(N_RATED):
        trace_id, output, source = review_shown(page), _shown_output(page), _shown_source(page)
        value = _rule(output)
        sources[trace_id] = source
        if i == 3:  # n jumps into the note box; Tab leaves it; the note goes with the rating
            _note(page, "checked against the question")
        if i == N_RATED - 1:
            # The last one: the analyst misjudges it (a second note, then fail): the contradiction found later.
            assert source == "langfuse" and value == "pass", (source, output[:200])
            _note(page, "reads like a non-answer")
            value = "fail"
        review_key(page, {"pass": "1", "fail": "2"}[value], leaving=trace_id)
        mine[trace_id] = value
    contradiction = trace_id
    n_pass = sum(v == "pass" for v in mine.values())
    n_fail = N_RATED - n_pass
    assert n_fail >= 3 and n_pass >= 3, mine
    assert {"file", "langfuse", "playground"} <= set(sources.values()), sources
    assert metric(page, "Pass") == f"{n_pass} / 20"
    assert metric(page, "Fail") == f"{n_fail} / 20"
    assert metric(page, "This session") == str(N_RATED)
    page.get_by_text(f"Your ratings in this set ({N_RATED})").wait_for()
    no_exception(page)
    shots.take(page, "review")
    log_out(page)

    # 6. A second rater: the admin rates the HaluEval answers again (the queue filtered to file traces,
    # which the analyst has all rated) and disagrees once.
    log_in(page, ADMIN, ADMIN_PASSWORD)
    choose(page, page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first, WORKSPACE)
    open_page(page, "Review")
    page.get_by_text(CRITERION).wait_for()
    choose(page, page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first, "file")
    _blur(page)
    wait_idle(page)
    assert metric(page, "Left in this queue") == str(len(halueval))
    # The trace card is drawn after the metric: wait for the filtered queue's first trace to replace the old one.
    page.wait_for_function(
        "ids => { const c = [...document.querySelectorAll('[data-testid=\"stCaptionContainer\"]')]"
        ".find(e => e.innerText.includes(' · id ')); return c && ids.some(i => c.innerText.endsWith(i)); }",
        arg=[t for t, s in sources.items() if s == "file"],
    )
    theirs: dict[str, str] = {}
    for i in range(4):
        trace_id = review_shown(page)
        assert sources.get(trace_id) == "file", "the second rater is served the HaluEval answers the first one rated"
        value = mine[trace_id] if i != 1 else {"pass": "fail", "fail": "pass"}[mine[trace_id]]
        review_key(page, {"pass": "1", "fail": "2"}[value], leaving=trace_id)
        theirs[trace_id] = value
    disputed = list(theirs)[1]
    open_page(page, "Eval sets")
    page.get_by_role("tab", name="Human-human agreement").click()
    panel = main.locator('[data-testid="stTabPanel"]').filter(has_text="Disagreements").first
    panel.get_by_text("Disagreements (1)").wait_for()
    assert metric(page, "Raters", scope=panel) == "2"
    assert metric(page, "Rated traces", scope=panel) == str(N_RATED)
    kappa = _cohen_kappa([mine[t] for t in theirs], list(theirs.values()))
    pairs = _grid_text(page, panel.locator('[data-testid="stDataFrame"]').first)
    assert f"{kappa:.2f}" in pairs and "75%" in pairs and ADMIN in pairs and ANALYST in pairs, pairs
    dispute = panel.locator('[data-testid="stVerticalBlock"]', has_text=disputed).last
    assert f"{ANALYST}: {mine[disputed]}" in dispute.inner_text()
    assert f"{ADMIN}: {theirs[disputed]}" in dispute.inner_text()
    no_exception(page)
    shots.take(page, "agreement")
    log_out(page)

    # 7. Back as the analyst: synthesise evals (no LLM), then have the stub LLM write some, then run them.
    log_in(page, ANALYST, ANALYST_PASSWORD)  # back on the page the admin left (Eval sets)
    page.locator('[data-testid="stSidebar"]').get_by_text("Logged in as Ana Lyst").wait_for()
    open_page(page, "Generate evals")
    page.locator(".st-key-gen_method").get_by_text("Synthesise without an LLM").click()
    wait_idle(page)
    page.locator(".st-key-gen_synth button").click()
    page.get_by_role("heading", name="Latest synthesis").wait_for(timeout=180_000)
    wait_idle(page)
    labels = [v for t, v in mine.items() if t != disputed]  # the disputed trace is a tie: no label
    ratings_line = main.get_by_text(re.compile(r"\d+ ratings \(\d+ pass, \d+ fail\)")).first.inner_text()
    assert f"({labels.count('pass')} pass, {labels.count('fail')} fail)" in ratings_line, ratings_line
    no_exception(page)

    openai_stub.script(OPENAI_MODEL.split("/")[1], _llm_answer())
    page.locator(".st-key-gen_method").get_by_text("Generate with an LLM").click()
    wait_idle(page)
    pick(page, "Model", OPENAI_MODEL, scope=main)
    fill(page, "Candidates", "2", scope=main)
    page.locator(".st-key-gen_start button").click()
    page.get_by_role("heading", name="Latest generation").wait_for(timeout=180_000)
    wait_idle(page)
    page.get_by_text(f"model {OPENAI_MODEL}").wait_for()
    asked = openai_stub.requests_for(OPENAI_MODEL.split("/")[1])
    assert asked and CRITERION in json.dumps(asked[-1]["body"]), "the criterion went to the model"
    chosen = main.get_by_text(re.compile(r"Chosen set \(")).inner_text()
    assert "no_refusal" in chosen, chosen
    no_exception(page)
    shots.take(page, "generate")

    open_page(page, "Evals")
    run_pick = main.locator('[data-testid="stMultiSelect"]').first
    assert "no_refusal" in run_pick.inner_text()
    main.get_by_text(re.compile(r"^the set's traces \(")).click()
    wait_idle(page)
    page.locator(".st-key-evals_run button").click()
    latest = main.get_by_text(re.compile(r"verdicts · (full|reduced) isolation"))
    latest.first.wait_for(timeout=180_000)
    wait_idle(page)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stMarkdownContainer\"]')]"
        ".some(e => /done · (\\d+) of \\1 verdicts/.test(e.innerText))",
        timeout=180_000,
    )
    wait_idle(page)
    no_exception(page)
    shots.take(page, "evals")

    # 8. The matrix: contradictions only, for the LLM's eval; the misjudged trace is the one red cell.
    open_page(page, "Matrix", "Contradiction matrix")
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("✗ contradictions only").click()
    wait_idle(page)
    choose(page, sidebar.locator('[data-testid="stMultiSelect"]').first, re.compile(r"^no_refusal v\d+"))
    _blur(page)
    wait_idle(page)
    page.get_by_text(re.compile(r"Traces 1–1 of 1 · page 1 / 1")).wait_for()
    verdict = main.get_by_text("✗ contradicts the human", exact=True)  # the drill-down's chip
    verdict.wait_for()
    assert "rgb(213, 94, 0)" in verdict.evaluate("e => getComputedStyle(e).backgroundColor")  # vermillion
    said = main.locator("p", has=page.get_by_text("✗ contradicts the human", exact=True)).first.inner_text()
    assert "eval says pass, human label" in said and "fail" in said, said
    grid = _grid_text(page, main.locator('[data-testid="stDataFrame"]').first)
    # The eval's column sits beside the human label, in view without scrolling; then the note.
    assert "✗ pass" in grid and "reads like a non-answer" in grid, grid
    no_exception(page)
    main.get_by_text("line 5 decided it").wait_for()  # the reason names the deciding line of the code
    shots.take(page, "matrix", full=False)  # the table with the red cell scrolled into view
    page.get_by_role("heading", name="Explain a cell").evaluate("e => e.scrollIntoView({block: 'start'})")
    shots.take(page, "matrix-drilldown", full=False)

    # Re-rate it from the drill-down: now it agrees, and the cell turns green with a check mark.
    page.locator(f".st-key-matrix_rerate_value_{contradiction}").get_by_text("pass", exact=True).click()
    wait_idle(page)
    page.get_by_role("button", name="Save my rating").click()
    page.get_by_text("Your rating (pass) is saved; the matrix is updated.").wait_for()
    page.get_by_text("No trace matches these filters").wait_for()
    sidebar.get_by_text("✗ contradictions only").click()  # every row again, then this trace by its id
    wait_idle(page)
    fill(page, "Search input, output, name or id", contradiction, scope=sidebar)
    wait_idle(page)
    page.get_by_text(re.compile(r"Traces 1–1 of 1 · page 1 / 1")).wait_for()
    agrees = main.get_by_text("✓ agrees with the human", exact=True)
    agrees.wait_for()
    assert "rgb(0, 158, 115)" in agrees.evaluate("e => getComputedStyle(e).backgroundColor")  # Okabe-Ito green
    grid = _grid_text(page, main.locator('[data-testid="stDataFrame"]').first)
    assert "✓ pass" in grid and "✗ pass" not in grid, grid
    no_exception(page)

    # Export the whole matrix as CSV.
    page.get_by_role("tab", name="Export").click()
    wait_idle(page)
    rows = list(csv.DictReader(io.StringIO(_download(page, "Matrix (CSV)").read_text(encoding="utf-8"))))
    header = list(rows[0])
    assert header[:2] == ["trace_id", "human_rating"], header
    assert any(h.startswith("no_refusal v") for h in header), header
    by_trace = {r["trace_id"]: r for r in rows}
    assert set(mine) <= set(by_trace)
    assert by_trace[contradiction]["human_rating"] == "pass"
    column = next(h for h in header if h.startswith("no_refusal v"))
    assert by_trace[contradiction][column] == "pass"
    fails = [t for t, v in mine.items() if v == "fail" and t != contradiction and t != disputed]
    assert fails and all(by_trace[t][column] == "fail" for t in fails)

    # Push labels and verdicts to the Langfuse stub.
    page.get_by_role("button", name="Push scores to Langfuse").click()
    pushed = page.get_by_text(re.compile(r"Pushed \d+, skipped \d+, failed 0\."))
    pushed.wait_for(timeout=120_000)
    n_pushed = int(re.search(r"Pushed (\d+)", pushed.inner_text()).group(1))
    scores = list(langfuse_stub.pushed_scores.values())
    assert n_pushed == len(scores) > 0
    human = [s for s in scores if s["name"] == f"human:{EVAL_SET}"]
    labelled_langfuse = [t for t in mine if sources[t] == "langfuse"]
    assert len(human) == len(labelled_langfuse), (human, labelled_langfuse)
    assert {s["traceId"] for s in scores} <= set(langfuse_stub.traces)
    assert any(s["name"].startswith("no_refusal v") and s["value"] == 1 for s in scores)
    no_exception(page)

    # 9. Settings: Langfuse is connected; an API token lists the workspace's traces and eval sets.
    open_page(page, "Settings")
    page.get_by_text(f"Configured: host {langfuse_stub.url}").wait_for()
    page.get_by_role("button", name="Test connection").click()
    page.get_by_text(f"Connected to {langfuse_stub.url} (v2 observations API)").wait_for()
    no_exception(page)
    shots.take(page, "settings")
    fill(page, "Token name", "first-hour script")
    page.get_by_role("button", name="Create token").click()
    page.get_by_text("Copy it now: it is not shown again").wait_for()
    wait_idle(page)
    token = next(t.strip() for t in page.locator("pre code").all_inner_texts() if t.strip().startswith("forge_"))
    ws = urllib.parse.quote(WORKSPACE)
    listed = _get(f"{url}/api/v1/traces?workspace={ws}&limit=100", token)
    assert listed["total"] == total and len(listed["traces"]) == total
    assert set(mine) <= {t["id"] for t in listed["traces"]}
    sets = _get(f"{url}/api/v1/eval-sets?workspace={ws}", token)
    assert [s["name"] for s in sets["eval_sets"]] == [EVAL_SET], sets
    ratings = _get(f"{url}/api/v1/eval-sets/{urllib.parse.quote(EVAL_SET)}/ratings?workspace={ws}", token)
    assert ratings["labels"][contradiction] == "pass"

    # 10. Home at the end of the hour: what the workspace now holds.
    open_page(page, "Home", f"Workspace · {WORKSPACE}")
    assert metric(page, "Traces") == str(total)
    assert metric(page, "Eval sets") == "1"
    assert int(metric(page, "Evals")) >= 2 and int(metric(page, "Runs")) >= 1
    no_exception(page)
    shots.take(page, "overview")
