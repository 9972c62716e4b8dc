"""Generate evals page (AppTest): synthesise as a job, figures shown, versions diff, roll back, refine, export."""

from __future__ import annotations

from forge import auth, jobs
from forge.evals import authoring
from forge.store import evals as eval_store
from tests.evalgen.conftest import store_rated_set
from tests.evals.handmade import placeholder_set

PAGE = "pages/generate.py"


def frame(at, column: str):
    """The first table on the page with ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _wait(at, db, admin, ws):
    job_id = at.session_state["gen_job"]
    job = jobs.wait(db, admin, ws.id, job_id, timeout=120)
    assert job.status == "done", job.error
    return job


def test_synthesise_show_figures_refine_diff_rollback_export(app_as, db, admin, default_ws):
    access = auth.access(db, admin, default_ws.id)
    traces, labels = placeholder_set(60)
    es, _ = store_rated_set(access, "No placeholders", traces, labels, "Never leave [name] placeholders")
    at = app_as("admin", page=PAGE)
    assert not at.exception
    assert any("No evals in this set yet" in i.value for i in at.info)
    # No provider configured: the one button synthesises.
    at.button(key="gen_synth").click().run()
    _wait(at, db, admin, default_ws)
    at.run()
    assert not at.exception, at.exception
    table = frame(at, "kappa 95% CI")
    assert "✔ kept" in set(table["kept"]) and "✖ rejected" in set(table["kept"])
    assert table["kappa 95% CI"].str.contains("–").any()
    text = " ".join(m.value for m in at.markdown)
    assert "Chosen set" in text and "no second rater yet" in text and "Floor" in text and ":green[✔" in text
    exports = [b.label for b in at.get("download_button")]
    assert "Export this eval (.py)" in exports  # the eval shown, and the set's kept evals as a pytest file
    assert any(label.startswith("Export the ") and label.endswith("kept eval(s) as a pytest file") for label in exports)

    # Open a rejected eval for refinement through the query parameters the matrix page uses.
    rejected = eval_store.evals_with_current(access, es["id"], status="rejected")
    target = next(r for r in rejected if authoring.contradictions(access, r["id"])[0])
    at.query_params["eval_set"] = es["id"]
    at.query_params["eval"] = target["id"]
    at.query_params["refine"] = "1"
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="gen_eval").value == target["id"]
    assert not any("agrees with every rated trace" in m.value for m in at.success), [e.value for e in at.error]
    contra = frame(at, "human")
    assert len(contra) > 0 and set(contra["human"]) <= {"pass", "fail"}
    at.button(key="gen_refine").click().run()
    _wait(at, db, admin, default_ws)
    at.run()
    assert not at.exception, at.exception
    versions = eval_store.versions(access, target["id"])
    assert [v.version for v in versions] == [1, 2] and versions[1].parent_version == 1
    assert eval_store.get_eval(access, target["id"]).current_version == 2
    listed = frame(at, "parent")
    assert list(listed["version"]) == ["v1", "v2 (current)"] and list(listed["parent"]) == ["", "v1"]
    codes = [c.value for c in at.code]
    assert versions[0].source.rstrip() in codes and versions[1].source.rstrip() in codes  # side by side
    assert any(c.startswith("--- v1") for c in codes)  # and the diff

    at.selectbox(key="gen_current_pick").set_value(1).run()
    at.button(key="gen_rollback").click().run()
    assert not at.exception
    assert eval_store.get_eval(access, target["id"]).current_version == 1
    assert any("now uses v1" in s.value for s in at.success)


def test_viewer_cannot_generate(app_as, db, admin, default_ws):
    access = auth.access(db, admin, default_ws.id)
    traces, labels = placeholder_set(30)
    store_rated_set(access, "No placeholders", traces, labels, "Never leave [name] placeholders")
    auth.create_user(db, admin, "vic", "correct horse battery staple", "viewer", "Vic Viewer")
    auth.add_member(db, admin, default_ws.id, "vic")
    at = app_as("vic", page=PAGE)
    assert not at.exception
    assert not [b for b in at.button if b.key in ("gen_synth", "gen_start")]
    assert any("not generate" in i.value for i in at.info)


def test_no_eval_sets_says_where_to_go(app_as, db, admin):
    at = app_as("admin", page=PAGE)
    assert not at.exception
    assert any("No eval sets yet" in i.value for i in at.info)


def test_generate_with_an_llm_shows_tokens_cost_and_held_out_figures(app_as, db, admin, default_ws, openai_stub):
    from tests.evals.test_generate import BROKEN_KEYERROR, GOOD_BRACKETS, GOOD_PLACEHOLDER, answer, block

    access = auth.access(db, admin, default_ws.id)
    traces, labels = placeholder_set(60)
    store_rated_set(access, "No placeholders", traces, labels, "Never leave [name] placeholders")
    openai_stub.script(
        "gpt-4o-mini",
        answer(block("placeholder", "placeholders", GOOD_PLACEHOLDER), block("broken", "x", BROKEN_KEYERROR)),
        block("broken", "fixed", GOOD_BRACKETS),
    )
    at = app_as("admin", page=PAGE)
    assert at.segmented_control(key="gen_method").value == "Generate with an LLM"
    assert "openai/gpt-4o-mini" in at.selectbox(key="gen_model").options
    at.selectbox(key="gen_model").set_value("openai/gpt-4o-mini")
    at.number_input(key="gen_k").set_value(2)
    at.button(key="gen_start").click().run()
    _wait(at, db, admin, default_ws)
    at.run()
    assert not at.exception, at.exception
    table = frame(at, "tokens")
    assert list(table["eval"]) == ["broken", "placeholder"] or list(table["eval"]) == ["placeholder", "broken"]
    assert all(t != "-" for t in table["tokens"]) and all(c.startswith("$") for c in table["cost"])
    assert "model openai/gpt-4o-mini" in " ".join(c.value for c in at.caption)
    assert any("tokens in" in c.value for c in at.caption)
