"""Langfuse importer: the real SDK HTTP client against a local stub serving the 20 real framework traces."""

import itertools

import pytest

from forge import auth
from forge.review import ratings
from forge.store import import_cursors
from forge.store import traces as store
from forge.store.values import parse_time
from forge.traces import langfuse
from tests.stubs.langfuse_stub import LangfuseStub, fail_after_first_page, load_framework_traces, wrong_shape

_keys = itertools.count()  # SDK clients are cached per public key: one key per stub


@pytest.fixture
def framework(shared_data):
    return load_framework_traces(shared_data / "langfuse/framework_traces")


def _stub(monkeypatch, data, **kw):
    stub = LangfuseStub(data, public_key=f"pk-lf-test-{next(_keys)}", **kw).__enter__()
    for k, v in stub.env().items():
        monkeypatch.setenv(k, v)
    return stub


def _steps_total(db):
    return db.scalar("SELECT sum(json_array_length(steps)) FROM traces")


@pytest.mark.parametrize("mode", ["v2", "v1"])
def test_imports_all_framework_traces_then_only_new_ones(db, admin, default_ws, framework, monkeypatch, mode):
    ordered = sorted(framework, key=lambda x: x[0]["timestamp"])
    first_half, later = ordered[:-1], ordered[-1]
    stub = _stub(monkeypatch, first_half, mode=mode, short_pages=True)
    try:
        s = langfuse.import_langfuse(auth.access(db, admin, default_ws.id))
        assert s["api"] == mode and (s["imported"], s["failed"]) == (18, 0)
        if mode == "v1":
            assert ("/api/public/v2/observations", 404) in stub.log
        stub.add(*later)  # newer than everything imported so far
        again = langfuse.import_langfuse(auth.access(db, admin, default_ws.id))
        assert (again["imported"], again["updated"]) == (1, 0)
        assert store.count_traces(auth.access(db, admin, default_ws.id)) == 19 and _steps_total(db) == 135
        forced = langfuse.import_langfuse(auth.access(db, admin, default_ws.id), since="2000-01-01T00:00:00Z")
        assert (forced["imported"], forced["updated"]) == (0, 19)
        assert store.count_traces(auth.access(db, admin, default_ws.id)) == 19
    finally:
        stub.__exit__(None, None, None)


def test_v2_pages_through_short_pages_and_json_strings(db, admin, default_ws, framework, monkeypatch):
    stub = _stub(monkeypatch, framework, short_pages=True)
    try:
        monkeypatch.setattr(langfuse, "V2_PAGE", 10)  # many small pages, some short but not last
        s = langfuse.import_langfuse(auth.access(db, admin, default_ws.id))
        assert s["imported"] == 19 and _steps_total(db) == 135
        tid = db.scalar("SELECT id FROM traces WHERE name = 'joke-generator'")
        t = store.get_trace(auth.access(db, admin, default_ws.id), tid)
        assert t["input"] == {"args": ["programming"], "kwargs": {}}  # came as a JSON string
        assert "bugs" in t["output_text"] and t["models"] == ["openai/gpt-4o-mini-2024-07-18"]
    finally:
        stub.__exit__(None, None, None)


def test_honours_429_retry_after(db, admin, default_ws, framework, monkeypatch):
    import time

    stub = _stub(monkeypatch, framework[:3], rate_limit=1)
    try:
        t0 = time.monotonic()
        s = langfuse.import_langfuse(auth.access(db, admin, default_ws.id), limit=2)
        assert time.monotonic() - t0 >= 0.9  # waited Retry-After: 1
        assert stub.log[0][1] == 429 and s["imported"] == 2
    finally:
        stub.__exit__(None, None, None)


@pytest.mark.parametrize("mode", ["v2", "v1"])
def test_boolean_and_categorical_scores_become_ratings(db, admin, default_ws, framework, monkeypatch, mode):
    ids = [t["id"] for t, _ in framework]
    base = {"source": "API", "observationId": None, "comment": None}
    scores = [
        {**base, "id": "s1", "traceId": ids[0], "name": "ok", "dataType": "BOOLEAN", "value": 1, "stringValue": "True"},
        {
            **base,
            "id": "s2",
            "traceId": ids[1],
            "name": "ok",
            "dataType": "BOOLEAN",
            "value": 0,
            "stringValue": "False",
        },
        {
            **base,
            "id": "s3",
            "traceId": ids[2],
            "name": "verdict",
            "dataType": "CATEGORICAL",
            "value": 0,
            "stringValue": "pass",
        },
        {
            **base,
            "id": "s4",
            "traceId": ids[3],
            "name": "verdict",
            "dataType": "CATEGORICAL",
            "value": 0,
            "stringValue": "maybe",
        },
    ]
    stub = _stub(monkeypatch, framework, mode=mode, scores=scores)
    try:
        s = langfuse.import_langfuse(auth.access(db, admin, default_ws.id), score="ok", eval_set="Helpful")
        assert s["ratings"]["stored"] == 2
        s = langfuse.import_langfuse(auth.access(db, admin, default_ws.id), since="2000-01-01", score="verdict")
        assert s["ratings"]["stored"] == 1 and s["ratings"]["skipped"] == 1
        s = langfuse.import_langfuse(auth.access(db, admin, default_ws.id), since="2000-01-01", score="hallucination")
        assert s["ratings"]["stored"] == 0 and "NUMERIC" in " ".join(s["ratings"]["skipped_reasons"])
        names = {e["name"]: e["ratings"] for e in ratings.list_eval_sets(auth.access(db, admin, default_ws.id))}
        assert names["Helpful"] == 2 and names["verdict"] == 1
        t0 = store.get_trace_by_source(auth.access(db, admin, default_ws.id), "langfuse", ids[1])
        (r,) = ratings.ratings_for_trace(auth.access(db, admin, default_ws.id), t0["id"])
        assert (r["value"], r["rater"]) == ("fail", "langfuse:ok")
    finally:
        stub.__exit__(None, None, None)


def test_status_and_connection_errors_never_show_keys(db, admin, default_ws, framework, monkeypatch):
    st = langfuse.connection_status()
    assert st["configured"] is False and "LANGFUSE_SECRET_KEY" in st["missing"]
    assert langfuse.test_connection()[0] is False
    with pytest.raises(langfuse.LangfuseError, match="not configured"):
        langfuse.import_langfuse(auth.access(db, admin, default_ws.id))
    stub = _stub(monkeypatch, framework[:1])
    try:
        assert langfuse.test_connection() == (True, f"Connected to {stub.url} (v2 observations API)")
        monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-wrong-secret")
        ok, msg = langfuse.test_connection()
        assert not ok and "401" in msg and "sk-wrong-secret" not in msg
    finally:
        stub.__exit__(None, None, None)


def test_viewer_cannot_import(db, admin, default_ws, framework, monkeypatch):
    from forge import auth

    viewer = auth.create_user(db, admin, "vic", "x" * 12, "viewer")
    auth.add_member(db, admin, default_ws.id, "vic")
    with pytest.raises(auth.PermissionDenied):
        langfuse.import_langfuse(auth.access(db, viewer, default_ws.id))


WRONG_SHAPES = [
    pytest.param([{"id": "x"}], "a list instead of an object", id="bare-list"),
    pytest.param("maintenance", "a string ('maintenance') instead of an object", id="string"),
    pytest.param({"data": 5}, "'data' is a number (5), not a list", id="data-5"),
    pytest.param({"data": [], "meta": "x"}, "'meta' is a string ('x'), not an object", id="meta-x"),
    pytest.param(
        {"data": [], "meta": {"cursor": 7, "totalPages": "2"}}, "is a number (7), not a string", id="cursor-7"
    ),
]


@pytest.mark.parametrize("body,what", WRONG_SHAPES)
@pytest.mark.parametrize("mode", ["v2", "v1"])
def test_a_list_of_an_unexpected_shape_is_a_clear_error_naming_the_endpoint(
    db, admin, default_ws, framework, monkeypatch, mode, body, what
):
    path = "/api/public/v2/observations" if mode == "v2" else "/api/public/traces"
    if mode == "v1" and "cursor" in what:
        body, what = {"data": [], "meta": {"totalPages": "2"}}, "'meta.totalPages' is a string ('2')"
    stub = _stub(monkeypatch, framework, mode=mode)
    stub.fault = wrong_shape(path, body)
    try:
        with pytest.raises(langfuse.LangfuseError) as err:
            langfuse.import_langfuse(auth.access(db, admin, default_ws.id))
        assert f"unexpected response for GET {path}" in str(err.value) and what in str(err.value)
        assert store.count_traces(auth.access(db, admin, default_ws.id)) == 0
    finally:
        stub.__exit__(None, None, None)


@pytest.mark.parametrize("body", [[1, 2], "gone", {"id": "t", "observations": "x"}, "nested"])
def test_a_v1_trace_of_an_unexpected_shape_fails_alone(db, admin, default_ws, framework, monkeypatch, body):
    stub = _stub(monkeypatch, framework, mode="v1")
    victim = sorted(t["id"] for t, _ in framework)[0]
    if body == "nested":  # raw JSON 5,000 levels deep: too deep for a JSON reader that recurses
        deep = "[" * 5000 + "]" * 5000
        body = f'{{"id": "{victim}", "metadata": {{"x": {deep}}}}}'.encode()
    stub.fault = wrong_shape(f"/api/public/traces/{victim}", body)
    try:
        s = langfuse.import_langfuse(auth.access(db, admin, default_ws.id))
        assert (s["imported"], s["failed"]) == (18, 1)
        (err,) = s["errors"]
        assert err["file"] == f"langfuse:{victim}" and f"GET /api/public/traces/{victim}" in err["message"]
    finally:
        stub.__exit__(None, None, None)


@pytest.mark.parametrize("mode", ["v2", "v1"])
@pytest.mark.parametrize("failure", ["500", "wrong-shape"])
def test_pages_before_a_failing_page_are_kept_and_the_next_import_gets_the_rest(
    db, admin, default_ws, framework, monkeypatch, mode, failure
):
    monkeypatch.setattr(langfuse, "V2_PAGE", 10)  # many pages; page 2 fails
    monkeypatch.setattr(langfuse, "V1_PAGE", 5)
    path = "/api/public/v2/observations" if mode == "v2" else "/api/public/traces"
    stub = _stub(monkeypatch, framework, mode=mode)
    stub.fault = fail_after_first_page(path) if failure == "500" else wrong_shape(path, {"data": 5}, first_page=False)
    access = auth.access(db, admin, default_ws.id)
    try:
        with pytest.raises(langfuse.ImportInterrupted) as err:
            langfuse.import_langfuse(access)
        message = str(err.value)
        assert f"GET {path}" in message or f"for {path.lstrip('/')}" in message
        assert ("HTTP 500" if failure == "500" else "'data' is a number (5)") in message
        kept = err.value.summary
        assert kept["imported"] > 0 and store.count_traces(access) == kept["imported"]  # page 1 was stored
        assert kept["errors"][-1]["message"] in message
        cursor = import_cursors.get_import_cursor(access, "langfuse", stub.url)
        newest_stored = db.scalar("SELECT max(timestamp) FROM traces")
        assert cursor and parse_time(cursor["last_timestamp"], "t") <= newest_stored
        stub.fault = None  # the server recovers: the next import continues from the cursor
        again = langfuse.import_langfuse(access)
        assert kept["imported"] + again["imported"] == 19
        assert store.count_traces(access) == 19 and _steps_total(db) == 135  # nothing lost, steps complete
    finally:
        stub.__exit__(None, None, None)


def test_a_scores_page_of_an_unexpected_shape_keeps_the_traces_and_names_the_endpoint(
    db, admin, default_ws, framework, monkeypatch
):
    stub = _stub(monkeypatch, framework)
    stub.fault = wrong_shape("/api/public/v3/scores", {"data": "none"})
    access = auth.access(db, admin, default_ws.id)
    try:
        with pytest.raises(langfuse.ImportInterrupted) as err:
            langfuse.import_langfuse(access, score="ok", eval_set="Helpful")
        assert "GET /api/public/v3/scores: 'data' is a string ('none'), not a list" in str(err.value)
        assert err.value.summary["imported"] == 19 and store.count_traces(access) == 19
        assert import_cursors.get_import_cursor(access, "langfuse", stub.url)["last_timestamp"]
    finally:
        stub.__exit__(None, None, None)
