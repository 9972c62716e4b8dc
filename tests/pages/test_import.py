"""The import page: a file import runs as a job and ends with its summary and row errors."""

from __future__ import annotations

import json

import pytest

from forge import auth, jobs
from forge.store.traces import count_traces

GOOD = [{"id": f"q{i}", "input": f"question {i}", "output": f"answer {i}"} for i in range(4)]
FILE = ("\n".join(json.dumps(r) for r in GOOD) + "\n{not json\n").encode()


def _wait_for_jobs(db, user, ws):
    for job in jobs.recent(db, user, ws.id):
        jobs.wait(db, user, ws.id, job.id, timeout=30)


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_file_import_shows_summary_and_the_bad_line(db, admin, default_ws, app_as):
    at = app_as("admin", page="pages/import.py")
    assert not at.exception
    assert any("No imports yet" in c.value for c in at.caption)
    at.file_uploader(key="import_files").set_value(("chats.jsonl", FILE, "application/jsonl"))
    at.run()
    at.button(key="import_start").click().run()
    assert not at.exception
    _wait_for_jobs(db, admin, default_ws)
    at.run()
    assert not at.exception
    assert count_traces(auth.access(db, admin, default_ws.id)) == 4
    assert _metric(at, "Imported") == "4" and _metric(at, "Failed") == "1"
    errors = at.dataframe[0].value
    assert list(errors["line"]) == [5] and "chats.jsonl" in errors["file"].iloc[0]
    assert "None" not in errors.to_string()  # an empty field is blank
    assert any("chats.jsonl" in m.value for m in at.markdown)

    # Importing the same file again updates instead of duplicating.
    at.file_uploader(key="import_files").set_value(("chats.jsonl", FILE, "application/jsonl"))
    at.run()
    at.button(key="import_start").click().run()
    _wait_for_jobs(db, admin, default_ws)
    at.run()
    assert count_traces(auth.access(db, admin, default_ws.id)) == 4
    newest = jobs.recent(db, admin, default_ws.id)[0]
    assert newest.result["imported"] == 0 and newest.result["updated"] + newest.result["skipped"] == 4


def test_running_job_shows_a_progress_bar_and_failures_show_as_errors(db, admin, default_ws, app_as):
    import threading

    gate = threading.Event()

    def work(progress):
        progress(2, 8, "reading chats.jsonl")
        gate.wait(20)
        raise OSError("disk full")

    job = jobs.start(db, admin, default_ws.id, "import", work, params={"files": ["chats.jsonl"]})
    at = app_as("admin", page="pages/import.py")
    assert not at.exception
    bars = at.get("progress")
    assert bars and "reading chats.jsonl" in bars[0].proto.text
    gate.set()
    jobs.wait(db, admin, default_ws.id, job.id, timeout=20)
    at.run()
    assert any("disk full" in e.value for e in at.error)


def test_langfuse_tab_points_to_settings_when_unconfigured(app_as):
    at = app_as("admin", page="pages/import.py")
    assert any("Langfuse is not configured" in i.value for i in at.info)


def test_viewers_cannot_import(db, admin, default_ws, app_as):
    from forge import auth
    from tests.conftest import PASSWORD

    auth.create_user(db, admin, "vic", PASSWORD, "viewer")
    auth.add_member(db, admin, default_ws.id, "vic")
    at = app_as("vic")
    assert not at.exception
    with pytest.raises(ValueError):  # Import is not in a viewer's menu
        at.switch_page("pages/import.py")
    assert not at.get("file_uploader")


def test_langfuse_import_runs_as_a_job_against_a_real_http_stub(
    db, admin, default_ws, app_as, monkeypatch, shared_data
):
    from tests.stubs.langfuse_stub import LangfuseStub, load_framework_traces

    data = load_framework_traces(shared_data / "langfuse" / "framework_traces")
    with LangfuseStub(data, public_key="pk-lf-import-page") as stub:
        for k, v in stub.env().items():
            monkeypatch.setenv(k, v)
        at = app_as("admin", page="pages/import.py")
        assert not at.exception
        at.button(key="import_lf_start").click().run()
        assert not at.exception
        _wait_for_jobs(db, admin, default_ws)
        at.run()
    job = jobs.recent(db, admin, default_ws.id)[0]
    assert job.kind == "import-langfuse" and job.status == "done", job.error
    assert count_traces(auth.access(db, admin, default_ws.id)) == 19
    assert _metric(at, "Imported") == "19"


def test_a_running_import_can_be_cancelled_from_the_page(db, admin, default_ws, app_as):
    import time

    def work(progress):
        for i in range(400):  # reports progress until told to stop
            progress(i, 400, f"row {i}")
            time.sleep(0.05)
        return {"imported": 400}

    job = jobs.start(db, admin, default_ws.id, "import", work, params={"files": ["big.jsonl"]})
    at = app_as("admin", page="pages/import.py")
    assert not at.exception
    at.button(key=f"import_cancel_{job.id}").click().run()
    assert not at.exception
    done = jobs.wait(db, admin, default_ws.id, job.id, timeout=20)
    assert done.status == "cancelled"
    at.run()
    assert not any(b.key == f"import_cancel_{job.id}" for b in at.button)


def _badges(at) -> list[str]:
    return [m.value for m in at.markdown if "-badge[" in m.value]


def test_job_badges_tell_done_from_done_with_errors_from_failed(db, admin, default_ws, app_as):
    clean = ("\n".join(json.dumps(r) for r in GOOD)).encode()
    at = app_as("admin", page="pages/import.py")
    at.file_uploader(key="import_files").set_value(("clean.jsonl", clean, "application/jsonl"))
    at.run()
    at.button(key="import_start").click().run()
    _wait_for_jobs(db, admin, default_ws)
    at.run()
    assert any(":green-badge[" in b and "done" in b for b in _badges(at))
    at.file_uploader(key="import_files").set_value(("chats.jsonl", FILE, "application/jsonl"))
    at.run()
    at.button(key="import_start").click().run()
    _wait_for_jobs(db, admin, default_ws)
    at.run()
    newest = _badges(at)[0]  # the newest job comes first
    assert ":orange-badge[" in newest and "done with 1 error" in newest and "errors" not in newest

    def broken(progress):
        raise OSError("disk full")

    job = jobs.start(db, admin, default_ws.id, "import", broken, params={"files": ["x.jsonl"]})
    jobs.wait(db, admin, default_ws.id, job.id, timeout=20)
    at.run()
    assert ":red-badge[" in _badges(at)[0] and "failed" in _badges(at)[0]
    assert not any(":green-badge[" in b and "failed" in b for b in _badges(at))


def test_a_new_eval_set_gets_the_criterion_typed_in_the_form(db, admin, default_ws, app_as):
    from forge.review.ratings import list_eval_sets

    rated = "\n".join(json.dumps({**r, "rating": "up"}) for r in GOOD).encode()
    at = app_as("admin", page="pages/import.py")
    assert at.text_area(key="import_criterion").disabled  # no eval set named yet
    at.file_uploader(key="import_files").set_value(("rated.jsonl", rated, "application/jsonl"))
    at.text_input(key="import_eval_set").input("Polite")
    at.run()
    at.text_area(key="import_criterion").input("The answer is courteous.")
    at.run()
    at.button(key="import_start").click().run()
    assert not at.exception
    _wait_for_jobs(db, admin, default_ws)
    sets = list_eval_sets(auth.access(db, admin, default_ws.id))
    assert [(s["name"], s["criterion"], s["ratings"]) for s in sets] == [("Polite", "The answer is courteous.", 4)]
