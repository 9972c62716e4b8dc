"""Langfuse importer over Langfuse's public HTTP API (plain httpx, the project keys as basic auth).

Reads v2 observations (``GET /api/public/v2/observations``, cursor paging,
grouped by ``traceId``); when the server answers 404 there (self-hosted v3)
it falls back to v1 (``GET /api/public/traces`` page paging, ``/traces/{id}``
for observations and scores). Requests are retried on 429/5xx honouring
``Retry-After``, as the SDK's client does. Responses are read as plain JSON: parsing
50,000 observations into pydantic models would be the slowest part of an import.

Incremental: per workspace and host the newest trace timestamp (and the trace
ids at that instant) is kept in ``import_cursors``; the next import asks only
for what started at or after it. Re-imports update in place (upsert).

Every response is checked for the shape the API documents (an object with a ``data`` list,
``meta`` an object, a string cursor, a whole number of pages): anything else is an error naming
the endpoint. A listing that fails part way keeps what came before: those traces are stored,
the cursor moves over exactly them, and ImportInterrupted says so (importing again continues).
"""

from __future__ import annotations

import gc
import queue
import random
import threading
import time
from collections import Counter
from typing import Any

import httpx

from forge import config
from forge.review import ratings as review_ratings
from forge.store import import_cursors
from forge.store import traces as trace_store
from forge.store.access import Access
from forge.store.types import ImportSummary, Progress, Trace
from forge.store.values import retry_after
from forge.traces.langfuse_mapping import langfuse_to_unified, prepare_observation
from forge.traces.model import TraceFieldError, iso, loads, parse_time

V2_FIELDS = "core,basic,time,io,metadata,model,usage,prompt,metrics,trace_context"
V2_PAGE = 1000
V1_PAGE = 100  # the v1 API refuses more
BATCH = 2000
MAX_RETRIES = 6


class LangfuseError(Exception):
    """The Langfuse server could not be used (not configured, unreachable, refused the keys)."""


class _NotFound(LangfuseError):
    pass


class _Unexpected(LangfuseError):
    """A response of a shape the importer does not know."""


class ImportInterrupted(LangfuseError):
    """The import stopped early (a failing page, an odd response); what came before it is stored.

    ``summary`` counts what was stored; the import cursor covers exactly that, so importing
    again continues from there.
    """

    def __init__(self, message: str, summary: ImportSummary):
        super().__init__(message)
        self.summary = summary


def _settings() -> tuple[str | None, str | None, str | None]:
    host = config.get("LANGFUSE_HOST") or config.get("LANGFUSE_BASE_URL")
    return (host.rstrip("/") if host else None), config.get("LANGFUSE_PUBLIC_KEY"), config.get("LANGFUSE_SECRET_KEY")


def connection_status() -> dict:
    """``{"configured": bool, "host": str|None, "missing": [variable names]}`` — never the keys."""
    host, pk, sk = _settings()
    missing = [
        name for name, v in (("LANGFUSE_HOST", host), ("LANGFUSE_PUBLIC_KEY", pk), ("LANGFUSE_SECRET_KEY", sk)) if not v
    ]
    return {"configured": not missing, "host": host, "missing": missing}


class _Api:
    """GET JSON from Langfuse's public API over plain httpx (basic auth with the project keys).

    Retries 408/409/429/5xx up to MAX_RETRIES times, waiting what ``Retry-After`` asks
    (at most a minute) or 1, 2, 4... seconds with jitter, like the langfuse SDK's client.
    """

    def __init__(self):
        status = connection_status()
        if not status["configured"]:
            raise LangfuseError("Langfuse is not configured: set " + ", ".join(status["missing"]))
        host, pk, sk = _settings()
        self.host = host
        self._http = httpx.Client(base_url=host + "/", auth=(pk, sk), headers={"X-Langfuse-Public-Key": pk}, timeout=60)
        self.requests = 0

    def _send(self, path: str, params: dict | None) -> httpx.Response:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        for attempt in range(MAX_RETRIES + 1):
            resp = self._http.get(path, params=query)
            if attempt == MAX_RETRIES or not (resp.status_code >= 500 or resp.status_code in _RETRY_STATUSES):
                return resp
            time.sleep(_retry_delay(resp, attempt))
        raise AssertionError("unreachable")

    def get(self, path: str, params: dict | None = None) -> Any:
        self.requests += 1
        try:
            resp = self._send(path, params)
        except httpx.HTTPError as exc:
            raise LangfuseError(f"cannot reach Langfuse at {self.host}: {exc.__class__.__name__}: {exc}") from exc
        if resp.status_code == 404:
            raise _NotFound(f"{path}: not found (HTTP 404)")
        if resp.status_code in (401, 403):
            raise LangfuseError(f"Langfuse at {self.host} refused the keys (HTTP {resp.status_code})")
        if resp.status_code == 429:
            raise LangfuseError(f"Langfuse at {self.host} is rate limiting (HTTP 429) after {MAX_RETRIES} retries")
        if resp.status_code >= 400:
            raise LangfuseError(f"Langfuse at {self.host} answered HTTP {resp.status_code} for {path}")
        try:
            return loads(resp.content)  # resp.json(), through orjson when that gives the same result
        except ValueError as exc:
            raise LangfuseError(f"Langfuse at {self.host} sent a response that is not JSON for {path}") from exc
        except RecursionError:  # a shape no Langfuse sends: for one trace, that trace fails alone
            raise self.unexpected(path, "JSON nested too deeply to read") from None

    def unexpected(self, path: str, what: str) -> LangfuseError:
        """The error for a response of a shape the importer does not know, naming the endpoint."""
        return _Unexpected(f"Langfuse at {self.host} sent an unexpected response for GET /{path}: {what}")

    def page(self, path: str, params: dict) -> tuple[list, dict]:
        """One list page: (``data``, ``meta``), checked to be what the API documents."""
        body = self.get(path, params)
        if not isinstance(body, dict):
            raise self.unexpected(path, f"{_kind(body)} instead of an object with a 'data' list")
        data = body.get("data")
        if not isinstance(data, list):
            raise self.unexpected(path, f"'data' is {_kind(data)}, not a list")
        meta = body.get("meta")
        if meta is None:
            meta = {}
        if not isinstance(meta, dict):
            raise self.unexpected(path, f"'meta' is {_kind(meta)}, not an object")
        cursor = meta.get("cursor")
        if cursor is not None and not isinstance(cursor, str):
            raise self.unexpected(path, f"'meta.cursor' is {_kind(cursor)}, not a string")
        pages = meta.get("totalPages")
        if pages is not None and (isinstance(pages, bool) or not isinstance(pages, int)):
            raise self.unexpected(path, f"'meta.totalPages' is {_kind(pages)}, not a whole number")
        return data, meta

    def trace(self, trace_id: str) -> dict:
        """One trace with its observations and scores (v1), checked to be an object."""
        path = f"api/public/traces/{trace_id}"
        body = self.get(path)
        if not isinstance(body, dict):
            raise self.unexpected(path, f"{_kind(body)} instead of a trace object")
        for key in ("observations", "scores"):
            if body.get(key) is not None and not isinstance(body[key], list):
                raise self.unexpected(path, f"'{key}' is {_kind(body[key])}, not a list")
        return body

    def close(self):
        try:
            self._http.close()
        except Exception:  # closing is best effort
            pass


def _kind(value: Any) -> str:
    """What a JSON value is, for messages: "a list", "a string ('x')", "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value[:40]!r})"
    return {"list": "a list", "dict": "an object"}.get(type(value).__name__, type(value).__name__)


_RETRY_STATUSES = (408, 409, 429)
_MAX_RETRY_DELAY = 60.0


def _retry_delay(resp: httpx.Response, attempt: int) -> float:
    """Seconds to wait before retry ``attempt + 1``: the server's Retry-After, else exponential with jitter."""
    wait = retry_after(resp.headers)
    if wait:
        return min(wait, _MAX_RETRY_DELAY)
    return min(1.0 * 2**attempt, _MAX_RETRY_DELAY) * (1 + (random.random() - 0.5) * 0.2)


def test_connection() -> tuple[bool, str]:
    """(ok, message) after one small request; the message never contains the keys."""
    try:
        api = _Api()
    except LangfuseError as exc:
        return False, str(exc)
    try:
        try:
            api.get("api/public/v2/observations", {"limit": 1})
            return True, f"Connected to {api.host} (v2 observations API)"
        except _NotFound:
            api.get("api/public/traces", {"limit": 1, "page": 1})
            return True, f"Connected to {api.host} (self-hosted: v1 traces API)"
    except LangfuseError as exc:
        return False, str(exc)
    finally:
        api.close()


# ---------------------------------------------------------------- fetching


class _Fetched:
    """What a fetch got: traces to map, and why it stopped early (pages before a failing one are kept).

    ``items``: {trace id: {"trace": full v1 trace or None, "observations": [...] or None, "prepared": {...}}}.
    ``failure``: the error that ended the listing early, or None when it got everything.
    ``cap``: on an early end, the earliest start time of what was left out (the cursor stays before it).
    """

    def __init__(self):
        self.items: dict[str, dict] = {}
        self.failure: LangfuseError | None = None
        self.cap: str | None = None
        self.bad: list[tuple[str, str]] = []  # (trace id, message): traces whose own endpoint answered oddly

    def stop(self, exc: LangfuseError, cap: str | None = None) -> None:
        self.failure = exc
        if cap is not None and (self.cap is None or cap < self.cap):
            self.cap = cap


def _pages_ahead(api: _Api, path: str, params: dict):
    """Cursor-paged GETs (each page's ``data``), each requested as soon as the one before has arrived.

    A thread follows ``meta.cursor`` while the caller works on the pages it has, so the
    server prepares page k+1 while we map page k. Yields pages in order; an error is
    raised where the sequential loop would raise it. Stopping early stops the thread.
    """
    out: queue.Queue = queue.Queue()
    stop = threading.Event()

    def fetch():
        cursor = None
        try:
            while not stop.is_set():
                data, meta = api.page(path, {**params, "cursor": cursor})
                cursor = meta.get("cursor") or None
                out.put((data, None))
                if not cursor:
                    out.put((None, None))
                    return
        except BaseException as exc:  # handed over to the caller
            out.put((None, exc))

    worker = threading.Thread(target=fetch, name="forge-langfuse-pages", daemon=True)
    worker.start()
    try:
        while True:
            data, exc = out.get()
            if exc is not None:
                raise exc
            if data is None:
                return
            yield data
    finally:
        stop.set()
        worker.join()


def _fetch_v2(api: _Api, since, limit, progress) -> _Fetched:
    """Traces rebuilt from v2 observations; a failing page ends the listing with the pages before it kept."""
    got = _Fetched()
    groups: dict[str, list] = {}
    prepared: dict[int, tuple] = {}
    params: dict[str, Any] = {"fields": V2_FIELDS, "limit": V2_PAGE}
    if since is not None:
        params["fromStartTime"] = iso(since)
    path = "api/public/v2/observations"
    if limit:  # stops on a count: fetch one page at a time, never one too many
        pages = _pages_one_by_one(api, path, params)
    else:
        pages = _pages_ahead(api, path, params)
    n = 0
    n_pages = 0
    try:
        for page in pages:
            n_pages += 1
            for o in page:
                if isinstance(o, dict) and isinstance(o.get("traceId"), str) and o["traceId"]:
                    groups.setdefault(o["traceId"], []).append(o)
                    n += 1
                    try:  # per-observation mapping while the next page downloads
                        prepared[id(o)] = prepare_observation(o)
                    except Exception:  # raised again, in order, when its trace is mapped
                        pass
            if progress:
                progress(0, None, f"fetched {n} observations of {len(groups)} traces")
            _settle()
            # A short page is not the last one: only a missing cursor ends the listing.
            if limit and len(groups) > limit:
                break
    except LangfuseError as exc:
        if n_pages == 0:
            raise  # nothing fetched (a 404 here means a v1 server: the caller falls back)
        got.stop(exc)
    # A trace that started before ``since`` (or sits at a page/limit edge) may have come
    # without its root or some parents: fetch it whole so an update never loses steps.
    for tid in list(groups):
        obs = groups[tid]
        ids = {o.get("id") for o in obs if isinstance(o.get("id"), str)}
        parents = [o.get("parentObservationId") for o in obs]
        has_root = any(not p for p in parents)
        orphan = any(p and (not isinstance(p, str) or p not in ids) for p in parents)
        if not has_root or orphan:
            if got.failure is None:
                try:
                    groups[tid] = _observations_of(api, tid)
                    continue
                except LangfuseError as exc:
                    got.stop(exc)
            # Not fetched whole (the server failed): left for the next import, which starts before it.
            got.stop(got.failure, min(_start(o) for o in obs))
            del groups[tid]
    got.items = {tid: {"trace": None, "observations": obs, "prepared": prepared} for tid, obs in groups.items()}
    return got


def _start(o: dict) -> str:
    v = o.get("startTime")
    return v if isinstance(v, str) else ""


def _settle() -> None:
    """Keep the cyclic GC's full collections off the pages fetched so far (no process-wide switch-off).

    The fetched observations stay alive until the import ends, and each full collection walked
    all of them again: measured on bench/import_traces (10,000 traces x 5 steps), 7 full
    collections took 0.75 s of 2.7 s importer CPU; with this, one took 0.01 s and the CPU is
    back to 2.0 s. ``gc.freeze()`` moves what is alive now into the permanent generation; the
    collector stays on for everything created afterwards (in every thread), and reference
    counting frees garbage as always. ``import_langfuse`` calls ``gc.unfreeze()`` when it ends.
    """
    gc.freeze()


def _pages_one_by_one(api: _Api, path: str, params: dict):
    cursor = None
    while True:
        data, meta = api.page(path, {**params, "cursor": cursor})
        yield data
        cursor = meta.get("cursor") or None
        if not cursor:
            return


def _observations_of(api: _Api, trace_id: str) -> list[dict]:
    params = {"fields": V2_FIELDS, "limit": V2_PAGE, "traceId": trace_id}
    return [
        o for page in _pages_one_by_one(api, "api/public/v2/observations", params) for o in page if isinstance(o, dict)
    ]


def _fetch_v1(api: _Api, since, limit, progress) -> _Fetched:
    """Full traces from v1 (page paging, oldest first); a failing request ends it with what came before kept."""
    got = _Fetched()
    listed: list[str] = []
    page_no = 1
    try:
        while True:
            # Oldest first, so that what was fetched before a failure is everything up to a time.
            params: dict[str, Any] = {"page": page_no, "limit": V1_PAGE, "orderBy": "timestamp.asc"}
            if since is not None:
                params["fromTimestamp"] = iso(since)
            data, meta = api.page("api/public/traces", params)
            listed += [t["id"] for t in data if isinstance(t, dict) and isinstance(t.get("id"), str) and t["id"]]
            total_pages = meta.get("totalPages") or 0
            if progress:
                progress(0, None, f"listed {len(listed)} traces")
            if page_no >= total_pages or not data or (limit and len(listed) >= limit):
                break
            page_no += 1
    except LangfuseError as exc:
        if page_no == 1:
            raise
        got.stop(exc)
    listed = list(dict.fromkeys(listed))[: limit or None]
    for i, tid in enumerate(listed, 1):
        try:
            got.items[tid] = {"trace": api.trace(tid), "observations": None}
        except _Unexpected as exc:  # this trace's answer has an odd shape: the others still come
            got.bad.append((tid, str(exc)))
        except LangfuseError as exc:
            got.stop(exc)
            break
        if progress and i % 50 == 0:
            progress(i, len(listed), f"fetched {i} of {len(listed)} traces")
    return got


def _fetch_scores_v2(api: _Api, score: str, trace_ids: set[str]) -> list[dict]:
    out = []
    try:
        for page in _pages_one_by_one(api, "api/public/v3/scores", {"name": score, "limit": 1000}):
            for s in page:
                if not isinstance(s, dict):
                    continue
                subject = s.get("subject") if isinstance(s.get("subject"), dict) else {}
                tid = s.get("traceId") or subject.get("id") or subject.get("traceId")
                if isinstance(tid, str) and tid in trace_ids:
                    out.append({**s, "traceId": tid})
    except _NotFound:  # a server without the scores API: no ratings, the traces are still imported
        pass
    return out


def score_to_rating(s: dict) -> tuple[str | None, str | None]:
    """(rating, None) for BOOLEAN/CATEGORICAL scores, else (None, reason skipped)."""
    kind = (s.get("dataType") or "").upper()
    if kind == "BOOLEAN":
        value = s.get("value")
        if value is None:
            value = s.get("stringValue")
    elif kind == "CATEGORICAL":
        value = s.get("stringValue") if s.get("stringValue") is not None else s.get("value")
    else:
        return None, f"{kind or 'untyped'} scores are not ratings (only BOOLEAN and CATEGORICAL are)"
    try:
        return review_ratings.normalize_rating(value), None
    except ValueError:
        return None, f"{kind} value {str(value)[:30]!r} is not pass/fail/neutral"


# ---------------------------------------------------------------- import


def import_langfuse(
    access: Access,
    since: str | None = None,
    limit: int | None = None,
    score: str | None = None,
    eval_set: str | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import new traces from the configured Langfuse; summary as files.import_files plus
    ``api`` ("v2" or "v1") and ``ratings``. Raises LangfuseError when the server cannot be used,
    and ImportInterrupted (a LangfuseError carrying the summary) when it failed part way: what
    was fetched before the failure is stored, and the cursor covers only that."""
    access.need("import")
    if score:
        access.need("rate")
    if limit is not None and limit < 1:
        raise ValueError("--limit must be at least 1")
    since_dt = parse_time(since, "since") if since else None
    api = _Api()
    summary = ImportSummary()
    try:
        cursor = import_cursors.get_import_cursor(access, "langfuse", api.host) or {}
        seen_before = set(cursor.get("seen_ids") or [])
        last_ts = parse_time(cursor.get("last_timestamp"), "last_timestamp") if cursor else None
        from_ts = since_dt if since_dt is not None else last_ts
        try:
            fetched = _fetch_v2(api, from_ts, limit, progress)
            summary.api = "v2"
        except _NotFound:
            fetched = _fetch_v1(api, from_ts, limit, progress)
            summary.api = "v1"
        for tid, message in fetched.bad:
            summary.failed += 1
            summary.error(f"langfuse:{tid}", None, None, message)

        traces, raw_scores = _map(fetched.items, summary, since_dt, last_ts, seen_before)
        traces.sort(key=lambda t: t["timestamp"] or "")
        if limit:
            traces = traces[:limit]

        ids: dict[str, str] = {}
        stored: list[Trace] = []

        def batch_stored(chunk, res):
            stored.extend(chunk)
            summary.imported += res["imported"]
            summary.updated += res["updated"]
            ids.update({t["source_id"]: fid for t, fid in zip(chunk, res["ids"], strict=True)})
            if progress:
                progress(len(stored), len(traces), f"stored {len(stored)} of {len(traces)} traces")

        complete = fetched.failure is None
        try:
            # batch k+1 is prepared while batch k is written; oldest first, so what is stored is
            # everything up to a time even when a batch fails
            trace_store.upsert_batches(
                access,
                (traces[start : start + BATCH] for start in range(0, len(traces), BATCH)),
                done=batch_stored,
            )
        except BaseException:
            _advance_cursor(access, api.host, stored, last_ts, seen_before, False, fetched.cap)
            raise
        _advance_cursor(access, api.host, stored, last_ts, seen_before, complete, fetched.cap)

        failure = fetched.failure
        if score:
            try:
                if summary.api == "v2":
                    raw_scores = _fetch_scores_v2(api, score, set(ids))
                rows, reasons = scores_to_ratings(score, raw_scores, ids)
                summary.ratings.eval_set, summary.ratings.stored = review_ratings.import_ratings(
                    access, eval_set or score, rows
                )
                summary.ratings.skipped = sum(reasons.values())
                summary.ratings.skipped_reasons = dict(reasons)
            except LangfuseError as exc:
                failure = failure or exc
        summary.requests = api.requests
        if failure is not None:
            summary.error("langfuse", None, None, str(failure))
            raise ImportInterrupted(
                f"{failure} — the import stopped there; the {len(stored)} traces fetched before it are "
                f"stored ({summary.imported} new, {summary.updated} updated): import again to continue",
                summary,
            ) from None
    finally:
        api.close()
        gc.unfreeze()  # what _settle exempted goes back to the oldest generation
    if progress:
        progress(
            summary.imported + summary.updated,
            summary.imported + summary.updated,
            f"done: {summary.imported} new, {summary.updated} updated",
        )
    return summary


def _map(items: dict, summary: ImportSummary, since_dt, last_ts, seen_before: set) -> tuple[list[Trace], list]:
    """Fetched traces as unified ones (each popped as mapped), and the v1 traces' raw scores."""
    traces: list[Trace] = []
    raw_scores: list[dict] = []
    for tid in list(items):
        # Popped as mapped: each trace's raw observations are freed once its unified trace exists,
        # so the live heap (and what the cyclic GC walks) does not hold both at once.
        item = items.pop(tid)
        prepared = item.get("prepared")
        try:
            t = langfuse_to_unified(item["trace"], item["observations"], prepared)
        except TraceFieldError as exc:
            summary.failed += 1
            summary.error(f"langfuse:{tid}", None, exc.field, exc.message)
            continue
        except (TypeError, AttributeError, ValueError, RecursionError) as exc:
            # a trace whose fields have shapes Langfuse does not send (ids that are lists, ...): its own error
            summary.failed += 1
            summary.error(f"langfuse:{tid}", None, None, f"unexpected shape of this trace's data: {exc}")
            continue
        finally:
            for o in (item["observations"] or ()) if prepared else ():
                prepared.pop(id(o), None)
        ts = parse_time(t["timestamp"], "timestamp")
        if since_dt is None and ts is not None and ts == last_ts and tid in seen_before:
            summary.skipped += 1  # the boundary trace of the last import, already stored
            continue
        traces.append(t)
        if item["trace"] is not None:
            raw_scores += [s for s in item["trace"].get("scores") or [] if isinstance(s, dict)]
    return traces, raw_scores


def _advance_cursor(
    access: Access, host: str, stored: list[Trace], last_ts, seen_before: set, complete: bool, cap: str | None
) -> None:
    """Move the import cursor to the newest trace stored (never back, never past ``cap``).

    After a complete import, the traces at that instant are remembered as seen (the next import
    skips them). After an early stop none are: a trace stored from the pages before the failure
    may miss observations of the failed page, and the next import fetches it again.
    """
    stamped = [t["timestamp"] for t in stored if t["timestamp"]]
    if not stamped:
        return
    newest = max(stamped)
    newest_dt = parse_time(newest, "timestamp")
    cap_dt = parse_time(cap, "cap") if cap else None
    seen: set[str] = set()
    if cap_dt is not None and cap_dt <= newest_dt:
        newest, newest_dt = iso(cap_dt), cap_dt
    elif complete:
        seen = {t["source_id"] for t in stored if t["timestamp"] == newest}
    if last_ts is not None and newest_dt < last_ts:
        return
    if last_ts is not None and newest_dt == last_ts:
        seen |= seen_before
    import_cursors.set_import_cursor(access, "langfuse", host, {"last_timestamp": newest, "seen_ids": sorted(seen)})


def scores_to_ratings(score: str, raw_scores: list[dict], ids: dict[str, str]) -> tuple[list[dict], Counter[str]]:
    """The ratings (``[{"trace_id", "value", "note", "rater"}]``, Forge trace ids) carried by Langfuse
    scores named ``score`` on the imported traces ``ids`` ({Langfuse id: Forge id}), and why others were skipped."""
    reasons: Counter[str] = Counter()
    rows = []
    for s in raw_scores:
        if s.get("name") != score or s.get("traceId") not in ids:
            continue
        if s.get("observationId"):
            reasons["scores on an observation, not the trace"] += 1
            continue
        value, reason = score_to_rating(s)
        if value is None:
            reasons[reason] += 1
            continue
        rows.append(
            {"trace_id": ids[s["traceId"]], "value": value, "note": s.get("comment"), "rater": f"langfuse:{score}"}
        )
    return rows, reasons
