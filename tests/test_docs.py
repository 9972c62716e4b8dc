"""The README and docs/ say only what works: their examples run, their lists match the code."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from forge.evals.contract import ALLOWED_IMPORTS
from forge.review.ratings import normalize_rating

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_links_the_trace_and_eval_docs_which_exist():
    for doc in ("docs/traces.md", "docs/evals.md"):
        assert f"]({doc})" in README and (ROOT / doc).is_file()
    assert "DESIGN.md" not in README  # not in the repository


def test_eval_doc_lists_exactly_the_allowed_imports():
    text = (ROOT / "docs" / "evals.md").read_text(encoding="utf-8")
    line = next(li for li in text.splitlines() if li.startswith("- Allowed imports:"))
    listed = set(re.findall(r"`(\w+)`", line))
    nxt = text.splitlines()[text.splitlines().index(line) + 1]
    listed |= set(re.findall(r"`(\w+)`", nxt))
    assert listed == set(ALLOWED_IMPORTS)


def test_every_rating_spelling_in_the_trace_doc_is_accepted():
    text = (ROOT / "docs" / "traces.md").read_text(encoding="utf-8")
    row = next(li for li in text.splitlines() if li.startswith("| `rating` |"))
    spellings = re.findall(r"`([^`]+)`", row.split("|")[2]) + ["👍", "👎"]
    assert len(spellings) > 15
    for word in spellings:
        normalize_rating(word)  # raises on a spelling the importer would refuse


def test_forge_run_example_works_as_written(tmp_path):
    from forge import auth
    from forge.store import Database

    db_path = tmp_path / "docs.duckdb"
    db = Database(str(db_path))
    auth.create_first_admin(db, "admin", "docs-admin-password", "Ada")
    db.close()
    line = next(li for li in README.splitlines() if li.startswith("forge run "))
    args = shlex.split(line)[1:]
    env = {**os.environ, "FORGE_DB": str(db_path), "FORGE_USER": "admin", "FORGE_PASSWORD": "docs-admin-password"}
    env.pop("OPENAI_API_KEY", None)
    proc = subprocess.run(
        [sys.executable, "-m", "forge", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    results = {r["model"]: r for r in map(json.loads, proc.stdout.splitlines())}
    echo = results["offline/echo"]
    # The context file was read and sent first: the model saw it.
    assert echo["error"] is None and '<context name="policy.md">' in echo["output"]


def _readme_commands() -> list[list[str]]:
    """Every `forge ...` line of the README's shell blocks and CI example, as arguments (comments dropped)."""
    out = []
    for raw in README.splitlines():
        line = re.sub(r"^\s*-\s*run:\s*", "", raw).strip()
        line = re.sub(r"^(?:[A-Z_]+=\S+\s+)+", "", line)  # FORGE_TRACES=... forge ...
        if not line.startswith("forge ") or "|" in line:
            continue
        out.append(shlex.split(line, comments=True)[1:])
    return out


def test_every_forge_command_in_the_readme_parses():
    from forge.cli import build_parser

    commands = _readme_commands()
    assert len(commands) > 20 and ["eval", "export"] in [c[:2] for c in commands]
    parser = build_parser()
    for args in commands:
        try:
            parser.parse_args(args)
        except SystemExit as exc:  # argparse's way of refusing
            raise AssertionError(f"README command does not parse: forge {shlex.join(args)}") from exc


def test_the_readme_shows_every_screenshot_and_each_exists():
    shown = set(re.findall(r"\]\((docs/screenshots/[\w.-]+\.png)\)", README))
    on_disk = {f"docs/screenshots/{p.name}" for p in (ROOT / "docs" / "screenshots").glob("*.png")}
    assert shown == on_disk and len(shown) >= 15  # the Tour: one picture per page of the journey
    assert "## Tour" in README and "make screenshots" in README
