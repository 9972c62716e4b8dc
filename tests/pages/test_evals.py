"""Evals page (AppTest): the set's evals and code, write + try it before saving, save, run with a summary."""

from __future__ import annotations

import time

from forge import auth, eval_jobs, jobs
from forge.evals.sandbox import isolation_status
from forge.store import eval_results as result_store
from forge.store import evals as eval_store
from tests.conftest import PASSWORD
from tests.evalruns.conftest import CITES, seed_workspace

PAGE = "pages/evals.py"


def _seed(db, admin, ws) -> dict:
    return seed_workspace(auth.access(db, admin, ws.id, "edit"))


def test_lists_the_sets_evals_with_code_origin_and_versions(app_as, db, admin, default_ws):
    seeded = _seed(db, admin, default_ws)
    access = auth.access(db, admin, default_ws.id, "edit")
    eval_store.add_version(access, seeded["cites"].id, CITES.replace("cites a source", "has a citation"))
    at = app_as("admin", page=PAGE)
    assert not at.exception
    titles = [e.label for e in at.expander]
    assert "cites · manual · candidate · v2" in titles
    assert "long enough · llm · kept · v1" in titles and "raises · synth · candidate · v1" in titles
    codes = [c.value for c in at.code]
    assert any("has a citation" in c for c in codes)  # the newest version is shown
    at.selectbox(key=f"evals_version_{seeded['cites'].id}").set_value(1).run()
    assert any("cites a source" in c.value for c in at.code)
    if isolation_status()[0] == "full":
        assert not any("Reduced isolation" in w.value for w in at.warning)


def test_try_it_shows_verdicts_before_saving_then_save(app_as, db, admin, default_ws):
    seeded = _seed(db, admin, default_ws)
    at = app_as("admin", page=PAGE)
    at.text_area(key="evals_source").input(CITES).run()
    at.button(key="evals_try").click().run()
    assert not at.exception
    tried = at.dataframe[0].value
    assert len(tried) == 6 and sorted(tried["human label"]) == ["fail"] * 3 + ["pass"] * 3
    # The eval agrees with every label, and says why.
    assert list(tried["verdict"]) == list(tried["human label"])
    assert set(tried["reason / error"]) == {"cites a source", "no citation"}
    access = auth.access(db, admin, default_ws.id, "read")
    assert len(eval_store.list_evals(access, seeded["eval_set"]["id"])) == 3  # nothing saved by trying

    # A broken eval shows its error per trace, still before saving.
    at.text_area(key="evals_source").input("def evaluate(trace):\n    return 1 / 0\n").run()
    at.button(key="evals_try").click().run()
    assert set(at.dataframe[0].value["verdict"]) == {"error"}
    assert all("ZeroDivisionError" in r for r in at.dataframe[0].value["reason / error"])
    # Statically refused code cannot be tried or saved.
    at.text_area(key="evals_source").input("import os\ndef evaluate(trace):\n    return True\n").run()
    assert any("Not runnable yet" in e.value and "os" in e.value for e in at.error)
    assert at.button(key="evals_save").disabled and at.button(key="evals_try").disabled

    at.text_area(key="evals_source").input(CITES).run()
    at.text_input(key="evals_name").input("my citation check").run()
    at.button(key="evals_save").click().run()
    assert not at.exception
    assert any("Saved the new eval" in s.value for s in at.success)
    saved = {e.name: e for e in eval_store.list_evals(access, seeded["eval_set"]["id"])}
    assert saved["my citation check"].origin == "manual"
    assert eval_store.versions(access, saved["my citation check"].id)[0].source == CITES

    # A new version of an existing eval: the editor starts from its code.
    at.selectbox(key="evals_target").set_value(seeded["long_enough"].id).run()
    assert "len(trace" in at.text_area(key="evals_source").value
    at.text_area(key="evals_source").input("def evaluate(trace):\n    return len(trace['output_text']) > 5\n").run()
    at.button(key="evals_save").click().run()
    assert any("Saved version 2 of" in s.value for s in at.success)
    assert [v.version for v in eval_store.versions(access, seeded["long_enough"].id)] == [1, 2]


def test_run_shows_progress_then_a_summary_with_agreement(app_as, db, admin, default_ws):
    seeded = _seed(db, admin, default_ws)
    at = app_as("admin", page=PAGE)
    picked = at.multiselect(key=f"evals_run_pick_{seeded['eval_set']['id']}").value
    assert sorted(picked) == sorted([seeded["cites"].id, seeded["long_enough"].id])  # current: manual + kept
    at.button(key="evals_run").click().run()
    assert not at.exception
    job = eval_jobs.eval_run_jobs(db, admin, default_ws.id)[0]
    assert jobs.wait(db, admin, default_ws.id, job.id, timeout=120).status == "done"
    at.run()
    assert not at.exception
    summary = at.dataframe[0].value.set_index("eval")
    assert summary.loc["cites", "pass"] == 10 and summary.loc["cites", "fail"] == 10
    assert summary.loc["cites", "labelled"] == 20 and summary.loc["cites", "contradictions"] == 0
    assert summary.loc["cites", "accuracy"].startswith("100%") and summary.loc["cites", "kappa"] == "1.00"
    assert summary.loc["long enough", "contradictions"] == 11
    run = result_store.list_runs(auth.access(db, admin, default_ws.id))[0]
    assert run.status == "done" and run.done == 40


def test_reduced_isolation_is_said(app_as, db, admin, default_ws, monkeypatch):
    _seed(db, admin, default_ws)
    monkeypatch.setenv("FORGE_SANDBOX", "reduced")
    at = app_as("admin", page=PAGE)
    assert any("Reduced isolation" in w.value for w in at.warning)
    at.button(key="evals_run").click().run()
    job = eval_jobs.eval_run_jobs(db, admin, default_ws.id)[0]
    jobs.wait(db, admin, default_ws.id, job.id, timeout=120)
    at.run()
    assert any("reduced isolation" in m.value for m in at.markdown)
    assert result_store.list_runs(auth.access(db, admin, default_ws.id))[0].isolation == "reduced"


def test_viewer_reads_but_cannot_edit_or_run(app_as, db, admin, default_ws):
    _seed(db, admin, default_ws)
    auth.create_user(db, admin, "vera", PASSWORD, "viewer", "Vera Viewer")
    auth.add_member(db, admin, default_ws.id, "vera")
    at = app_as("vera", page=PAGE)
    assert not at.exception
    assert "cites · manual · candidate · v1" in [e.label for e in at.expander]
    assert not at.text_area and not any(b.key in ("evals_try", "evals_save", "evals_run") for b in at.button)
    captions = " ".join(c.value for c in at.caption)
    assert "cannot run evals" in captions and "not write" in captions


def test_empty_state_without_eval_sets(app_as):
    at = app_as("admin", page=PAGE)
    assert not at.exception
    assert any("No eval sets yet" in i.value for i in at.info)


def test_a_running_run_shows_progress_and_can_be_cancelled(app_as, db, admin, default_ws):
    from tests.evalruns.test_jobs import SLOW

    seeded = seed_workspace(auth.access(db, admin, default_ws.id, "edit"), n_traces=1500, n_rated=1500)
    slow = eval_store.create_eval(auth.access(db, admin, default_ws.id, "edit"), seeded["eval_set"]["id"], "slow", SLOW)
    at = app_as("admin", page=PAGE)
    at.multiselect(key=f"evals_run_pick_{seeded['eval_set']['id']}").set_value([slow.id]).run()
    at.button(key="evals_run").click().run()
    job = eval_jobs.eval_run_jobs(db, admin, default_ws.id)[0]
    deadline = time.monotonic() + 60
    while jobs.get(db, admin, default_ws.id, job.id).status == "queued" and time.monotonic() < deadline:
        time.sleep(0.05)
    at.run()
    assert not at.exception
    assert at.get("progress") and "verdicts" in at.get("progress")[0].proto.text
    at.button(key=f"evals_cancel_{job.id}").click().run()
    ended = jobs.wait(db, admin, default_ws.id, job.id, timeout=60)
    assert ended.status == "cancelled"
    at.run()
    assert any("cancelled" in e.label for e in at.expander)
