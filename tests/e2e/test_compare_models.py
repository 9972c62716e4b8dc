"""Compare two models on a dataset, judged by the team's own eval, in a real browser (Playwright + Debian chromium).

The app is started as `make run` starts it, with the real SDKs pointed at the OpenAI-wire and Anthropic-wire stub
servers. An analyst, in a workspace that already holds an eval set with one kept eval: saves a Playground prompt
under a name, changes it (v2), diffs the versions on the Prompts page and rolls back; adds a Markdown file to the
context library and finds it by tag and text; uploads a CSV with one bad row (named by line and column, the rest
kept); runs the prompt over the dataset on both models with a spend limit (the Anthropic stub fails two calls),
judges the batch with the eval, checks the pass rates against the stub's own answers, filters to failing rows and
exports the CSV. Pictures of the four new pages go to docs/screenshots/ with FORGE_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

import pytest

from tests.e2e.browser import (
    NEEDS_CHROMIUM,
    Screenshots,
    choose,
    chromium,
    fill,
    log_in,
    new_page,
    no_exception,
    open_page,
    playground_models,
    serve,
    settle,
    wait_idle,
)
from tests.e2e.browser import blur as _blur
from tests.e2e.browser import download as _download
from tests.e2e.browser import grid_text as _grid_text

pytestmark = [pytest.mark.e2e, NEEDS_CHROMIUM]

ADMIN, ADMIN_PASSWORD = "ada", "compare-admin-2026"
ANALYST, ANALYST_PASSWORD = "ana", "compare-analyst-2026"
OPENAI_MODEL, ANTHROPIC_MODEL = "openai/gpt-4o-mini", "anthropic/claude-haiku-4-5"
PROMPT_NAME = "Support answer"
SYSTEM = "You answer customers of an outdoor shop, politely and briefly."
TEMPLATE_V1 = "Customer question: {{question}}"
TEMPLATE_V2 = "Answer briefly. Customer question: {{question}}"
EVAL_SET = "Refund questions"
EVAL_NAME = "mentions_refund"
MENTIONS_REFUND = """def evaluate(trace):
    return "refund" in (trace.get("output_text") or "").lower()
"""
QUESTIONS = [
    "How do I get a refund for my order?",
    "Where is my parcel?",
    "Can I change my delivery address?",
    "Is a refund possible after 30 days?",
    "Do you ship to Canada?",
    "Refund status for order 1234?",
]
BAD_LINE = 6  # the CSV's line that lacks its notes cell (the header is line 1)
FAILED_ROWS = {1, 4}  # dataset rows (1-based) whose Anthropic call the stub answers with a 500
SPEND_LIMIT = 0.5
PAGES_SHOWN = ["prompts", "context-library", "datasets", "batch-runs"]
DOC = "# Refund policy\n\nRefunds are paid within 30 days of a return, to the card that paid.\n"


def _csv(path: Path) -> Path:
    """The dataset upload: the questions with one bad row (a cell short) at BAD_LINE."""
    lines = ["question,notes"]
    for i, q in enumerate(QUESTIONS, start=1):
        lines.append(f'"{q}",row {i}')
        if len(lines) == BAD_LINE - 1:
            lines.append('"Do you sell gift cards?"')  # its notes cell is missing
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _wilson(passed: int, n: int) -> tuple[float, float]:
    """The 95 % Wilson score interval, by its formula."""
    z = 1.959963984540054
    p = passed / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _rate_cell(passed: int, n: int) -> str:
    low, high = _wilson(passed, n)
    return f"{passed / n:.0%} [{low:.0%}–{high:.0%}] n={n}"


def _write_template(page, text: str) -> None:
    """Type the Playground's template (its "Prompt" box; "Open a saved prompt" has a "Prompt" picker too)."""
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    box.fill(text)
    box.press("Tab")


def _seed(db_path: Path) -> None:
    """Users, and the team's eval set with one kept eval (grown from ratings in the first-hour test)."""
    from forge import auth
    from forge.store import Database
    from forge.store import evals as eval_store
    from forge.store import ratings as rating_store

    db = Database(str(db_path))
    admin = auth.create_first_admin(db, ADMIN, ADMIN_PASSWORD, "Ada Admin")
    ws = auth.resolve_workspace(db, admin)
    auth.create_user(db, admin, ANALYST, ANALYST_PASSWORD, "analyst", "Ana Lyst")
    auth.add_member(db, admin, ws.id, ANALYST)
    acc = auth.access(db, admin, ws.id, "edit")
    es = rating_store.get_or_create_eval_set(acc, EVAL_SET, "The answer deals with the refund the customer asks for.")
    ev = eval_store.create_eval(acc, es["id"], EVAL_NAME, MENTIONS_REFUND, origin="llm")
    eval_store.set_status(acc, ev.id, "kept")
    db.close()


def test_compare_two_models_on_a_dataset(tmp_path):
    from tests.stubs.anthropic_stub import AnthropicStub
    from tests.stubs.openai_stub import OpenAIStub, ScriptedError

    db_path = tmp_path / "compare.duckdb"
    _seed(db_path)
    shots = Screenshots(tmp_path)
    with OpenAIStub(api_key="sk-compare") as openai_stub, AnthropicStub(api_key="ak-compare") as anthropic_stub:
        env = {
            "FORGE_COOKIE_KEY": "compare-models-cookie-key-" + "c" * 32,
            "FORGE_SECRETS": str(tmp_path / "no-secrets.toml"),
            "FORGE_BCRYPT_ROUNDS": "4",
            "OPENAI_API_KEY": "sk-compare",
            "OPENAI_BASE_URL": openai_stub.base_url,
            "ANTHROPIC_API_KEY": "ak-compare",
            "ANTHROPIC_BASE_URL": anthropic_stub.base_url,
            # One call at a time and no retries: the stub's scripted 500s land on known rows.
            "FORGE_BATCH_CONCURRENCY": "1",
            "FORGE_LLM_MAX_RETRIES": "0",
        }
        # The Anthropic model's answers in call order (one call per row): a 500 on FAILED_ROWS, else its usual answer.
        model_id = ANTHROPIC_MODEL.split("/")[1]
        anthropic_stub.script(
            model_id,
            *[
                ScriptedError(500, "overloaded, try later")
                if i in FAILED_ROWS
                else anthropic_stub.answer_for(model_id, TEMPLATE_V1.replace("{{question}}", q))
                for i, q in enumerate(QUESTIONS, start=1)
            ],
        )
        with serve(db_path, tmp_path / "server.log", env) as url, chromium() as browser:
            page = new_page(browser)
            try:
                _flow(page, url, tmp_path, shots)
            except Exception:
                page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
                raise
        # Both SDKs spoke HTTP to the stubs: six calls each, rendered from the rolled-back template (= v1).
        asked = [r["body"]["messages"][-1]["content"] for r in openai_stub.requests_for(OPENAI_MODEL.split("/")[1])]
        assert sorted(asked) == sorted(TEMPLATE_V1.replace("{{question}}", q) for q in QUESTIONS)
        assert len(anthropic_stub.requests_for(model_id)) == len(QUESTIONS)
    assert shots.taken == PAGES_SHOWN, shots.taken


def _flow(page, url: str, tmp_path: Path, shots: Screenshots) -> None:
    main = page.locator('[data-testid="stMain"]')
    page.goto(url)
    settle(page)
    log_in(page, ANALYST, ANALYST_PASSWORD)

    # 1. Playground: a system prompt and a template on two models, saved under a name; changed, saved again.
    open_page(page, "Playground")
    chips = playground_models(page, [OPENAI_MODEL, ANTHROPIC_MODEL])
    assert OPENAI_MODEL in chips and ANTHROPIC_MODEL in chips and "offline/echo" not in chips, chips
    fill(page, "System prompt", SYSTEM)
    _write_template(page, TEMPLATE_V1)
    wait_idle(page)
    page.get_by_label("{{question}}", exact=True).wait_for()  # the template's variable gets its box
    fill(page, "Prompt name", PROMPT_NAME)
    wait_idle(page)
    page.get_by_role("button", name="Save as prompt").click()
    page.get_by_text(f"Saved {PROMPT_NAME} v1.").wait_for()
    wait_idle(page)
    _write_template(page, TEMPLATE_V2)
    wait_idle(page)
    page.get_by_role("button", name="Save as prompt").click()
    page.get_by_text(f"Saved {PROMPT_NAME} v2.").wait_for()
    wait_idle(page)
    no_exception(page)

    # The Prompts page: the two versions, their diff (the template line changed), then roll back to v1.
    open_page(page, "Prompts")
    page.get_by_role("heading", name="Compare versions").wait_for()
    diff = main.locator('[data-testid="stCode"]').filter(has_text="+Answer briefly.").first
    diff.wait_for()
    text = diff.inner_text()
    assert f"-{TEMPLATE_V1}" in text and f"+{TEMPLATE_V2}" in text, text
    versions = _grid_text(page, main.locator('[data-testid="stDataFrame"]').nth(1))
    assert "v1" in versions and "v2" in versions and ANALYST in versions, versions
    no_exception(page)
    shots.take(page, "prompts")
    version_box = main.locator('[data-testid="stSelectbox"]', has=page.get_by_text("Version", exact=True)).first
    choose(page, version_box, "v1")
    page.get_by_role("button", name="Roll back to v1").click()
    page.get_by_text(f"Rolled back: {PROMPT_NAME} v3 is now equal to v1.").wait_for()
    wait_idle(page)
    shown = main.locator('[data-testid="stCode"]').all_inner_texts()
    assert TEMPLATE_V1 in shown, shown  # v3, the latest, shows v1's template
    no_exception(page)

    # The context library: a Markdown file with a tag, found by tag and by text.
    page.get_by_role("tab", name="Context library").click()
    library = main.locator('[data-testid="stTabPanel"]').filter(has_text="Search name, tag or text").first
    library.get_by_text("The context library is empty").wait_for()
    library.get_by_text("Add documents").click()
    library.get_by_role("tab", name="Upload files").click()
    doc = tmp_path / "refund-policy.md"
    doc.write_text(DOC, encoding="utf-8")
    library.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(doc))
    library.get_by_text("refund-policy.md").first.wait_for()
    wait_idle(page)
    fill(page, "Tags for these files (comma-separated)", "policy, support", scope=library)
    wait_idle(page)
    library.locator(".st-key-lib_add_files button").click()
    library.get_by_text("Added 1 document: refund-policy.md").wait_for()
    wait_idle(page)
    tags = library.locator('[data-testid="stMultiSelect"]', has=page.get_by_text("Tags", exact=True)).first
    choose(page, tags, "policy")
    _blur(page)
    wait_idle(page)
    found = _grid_text(page, library.locator('[data-testid="stDataFrame"]').first)
    assert "refund-policy.md" in found and "policy, support" in found, found
    fill(page, "Search name, tag or text", "within 30 days", scope=library)
    wait_idle(page)
    found = _grid_text(page, library.locator('[data-testid="stDataFrame"]').first)
    assert "refund-policy.md" in found and "Refunds are paid within 30 days" in found, found
    no_exception(page)
    shots.take(page, "context-library")
    fill(page, "Search name, tag or text", "shipping to Mars", scope=library)
    library.get_by_text("No document matches: loosen the search.").wait_for()
    no_exception(page)

    # 2. Datasets: a CSV with one bad row; the error names its line and column, the six valid rows are kept.
    open_page(page, "Datasets")
    page.get_by_role("tab", name="Upload a file").click()
    upload = main.locator('[data-testid="stTabPanel"]').filter(has=page.locator('[data-testid="stFileUploader"]'))
    upload.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        str(_csv(tmp_path / "support_questions.csv"))
    )
    upload.get_by_text(f"{len(QUESTIONS)} valid row(s) in support_questions.csv").wait_for()
    wait_idle(page)
    upload.get_by_text("1 problem(s) on 1 row(s)").wait_for()
    errors = _grid_text(page, upload.locator('[data-testid="stDataFrame"]').first)
    assert f"{BAD_LINE} | notes | missing value" in errors, errors
    preview = _grid_text(page, upload.locator('[data-testid="stDataFrame"]').nth(1))
    assert QUESTIONS[0] in preview and "gift cards" not in preview, preview
    no_exception(page)
    shots.take(page, "datasets")
    upload.get_by_role("button", name=f"Save {len(QUESTIONS)} row(s) as “support questions”").click()
    page.get_by_text(f"Saved support questions v1 ({len(QUESTIONS)} rows).").wait_for()
    wait_idle(page)
    page.get_by_role("tab", name="Open").click()
    main.get_by_text(re.compile(rf"^support questions v1 · {len(QUESTIONS)} rows · saved by ana")).wait_for()
    no_exception(page)

    # 4. Batch runs: the prompt (v3 = v1's text) over the dataset on both models, with a spend limit.
    open_page(page, "Batch runs")
    page.get_by_text(f"{len(QUESTIONS) * 2} calls").first.wait_for()
    plan = main.get_by_text(re.compile(r"calls\*?\*? \(")).first.inner_text()
    assert f"({len(QUESTIONS)} rows × 2 models), 1 at a time" in plan and "Estimated cost: $" in plan, plan
    chips = main.locator('[data-testid="stMultiSelect"]').first.inner_text()
    assert OPENAI_MODEL in chips and ANTHROPIC_MODEL in chips, chips  # the saved prompt's models
    estimate = _grid_text(page, main.locator('[data-testid="stDataFrame"]').first)
    assert OPENAI_MODEL in estimate and ANTHROPIC_MODEL in estimate and "$" in estimate, estimate
    fill(page, "Spend limit in USD (0 = none)", str(SPEND_LIMIT), scope=main)
    wait_idle(page)
    page.get_by_role("button", name="Start batch").click()
    page.get_by_text("Batch started").wait_for()
    done = main.get_by_text(re.compile(rf"^{len(QUESTIONS) * 2} of {len(QUESTIONS) * 2} calls · spent \$"))
    done.first.wait_for(timeout=120_000)
    wait_idle(page)
    assert done.count() == 1, done.all_inner_texts()  # the job's box once, nothing left over from the run before
    no_exception(page)

    page.get_by_role("tab", name="Results").click()
    results = main.locator('[data-testid="stTabPanel"]').filter(has_text="Judge with the kept evals of").first
    caption = results.get_by_text(re.compile(r"over support questions v1 by ana")).inner_text()
    assert f"{PROMPT_NAME} v3" in caption and "(limit $0.5" in caption, caption
    page.get_by_role("button", name="Judge", exact=True).click()
    page.get_by_text("Judging started").wait_for()
    results.get_by_role("heading", name="Pass rates by model").wait_for(timeout=120_000)
    wait_idle(page)

    # The pass rates, worked out from the stubs' answers ("Stub answer from MODEL: " + the prompt's start).
    from tests.stubs.anthropic_stub import AnthropicStub
    from tests.stubs.openai_stub import OpenAIStub

    rendered = [TEMPLATE_V1.replace("{{question}}", q) for q in QUESTIONS]
    outputs = {
        OPENAI_MODEL: {i: OpenAIStub.answer_for("gpt-4o-mini", p) for i, p in enumerate(rendered, start=1)},
        ANTHROPIC_MODEL: {
            i: AnthropicStub.answer_for("claude-haiku-4-5", p)
            for i, p in enumerate(rendered, start=1)
            if i not in FAILED_ROWS
        },
    }
    verdicts = {m: {i: "refund" in o.lower() for i, o in outs.items()} for m, outs in outputs.items()}
    rates = _grid_text(page, results.locator('[data-testid="stDataFrame"]').first)
    for model, got in verdicts.items():
        cell = _rate_cell(sum(got.values()), len(got))
        assert cell in rates, (model, cell, rates)
    assert f"{EVAL_NAME} v1" in rates and "failed calls" in rates, rates
    assert re.search(rf"{re.escape(ANTHROPIC_MODEL)} \|[^|]+\|[^|]+\| {len(FAILED_ROWS)} \|", rates), rates
    outputs_grid = results.locator('[data-testid="stDataFrame"]').nth(1)
    grid = _grid_text(page, outputs_grid)
    assert "⚠" in grid and all(q in grid for q in QUESTIONS), grid  # the failed calls are shown as such
    no_exception(page)
    shots.take(page, "batch-runs")

    # Failing only: a row where a call failed or an eval failed; the last row passes on both models.
    failing = {
        i
        for i in range(1, len(QUESTIONS) + 1)
        if i in FAILED_ROWS or not all(v.get(i, True) for v in verdicts.values())
    }
    assert failing and len(failing) < len(QUESTIONS)
    results.get_by_text("Failing only").click()
    wait_idle(page)
    page.wait_for_function(
        "q => ![...document.querySelectorAll('[role=\"gridcell\"]')].some(c => c.innerText.includes(q))",
        arg=QUESTIONS[-1],
    )
    grid = _grid_text(page, outputs_grid)
    for i, q in enumerate(QUESTIONS, start=1):
        assert (q in grid) == (i in failing), (i, q, grid)
    no_exception(page)

    # Export: one line per row and model, the verdicts as pass/fail, the failed calls with their error.
    rows = list(csv.DictReader(io.StringIO(_download(page, "Export CSV").read_text(encoding="utf-8"))))
    header = list(rows[0])
    assert header[:3] == ["row", "var_question", "model"], header
    label = f"{EVAL_NAME} v1"
    assert label in header and "output" in header and "error" in header, header
    assert len(rows) == len(QUESTIONS) * 2, len(rows)
    for r in rows:
        i, model = int(r["row"]), r["model"]
        assert r["var_question"] == QUESTIONS[i - 1]
        if model == ANTHROPIC_MODEL and i in FAILED_ROWS:
            assert "overloaded" in r["error"] and not r[label], r
        else:
            assert r["output"] == outputs[model][i] and not r["error"], r
            assert r[label] == ("pass" if verdicts[model][i] else "fail"), r
