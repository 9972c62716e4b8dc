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

    def close(self):
        try:
            self._http.close()
        except Exception:  # closing is best effort
            pass


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


def _pages_ahead(api: _Api, path: str, params: dict):
    """Cursor-paged GETs, each page requested as soon as the one before has arrived.

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
                page = api.get(path, {**params, "cursor": cursor})
                cursor = (page.get("meta") or {}).get("cursor") if isinstance(page, dict) else None
                out.put((page, None))
                if not cursor:
                    return
        except BaseException as exc:  # handed over to the caller
            out.put((None, exc))

    worker = threading.Thread(target=fetch, name="forge-langfuse-pages", daemon=True)
    worker.start()
    try:
        while True:
            page, exc = out.get()
            if exc is not None:
                raise exc
            yield page
            if not (page.get("meta") or {}).get("cursor"):
                return
    finally:
        stop.set()
        worker.join()


def _fetch_v2(api: _Api, since, limit, progress) -> dict[str, dict]:
    """{trace id: {"trace": None, "observations": [...], "prepared": {...}}} from v2 observations."""
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
    for page in pages:
        for o in page.get("data") or []:
            if isinstance(o, dict) and o.get("traceId"):
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
    # A trace that started before ``since`` (or sits at a page/limit edge) may have come
    # without its root or some parents: fetch it whole so an update never loses steps.
    for tid, obs in groups.items():
        ids = {o.get("id") for o in obs}
        has_root = any(not o.get("parentObservationId") for o in obs)
        orphan = any(o.get("parentObservationId") and o["parentObservationId"] not in ids for o in obs)
        if not has_root or orphan:
            groups[tid] = _observations_of(api, tid)
    return {tid: {"trace": None, "observations": obs, "prepared": prepared} for tid, obs in groups.items()}


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
        page = api.get(path, {**params, "cursor": cursor})
        yield page
        cursor = (page.get("meta") or {}).get("cursor")
        if not cursor:
            return


def _observations_of(api: _Api, trace_id: str) -> list[dict]:
    params = {"fields": V2_FIELDS, "limit": V2_PAGE, "traceId": trace_id}
    return [
        o
        for page in _pages_one_by_one(api, "api/public/v2/observations", params)
        for o in page.get("data") or []
        if isinstance(o, dict)
    ]


def _fetch_v1(api: _Api, since, limit, progress) -> dict[str, dict]:
    """{trace id: {"trace": full trace, "observations": None}} from v1 traces (page paging)."""
    listed: list[str] = []
    page_no = 1
    while True:
        params: dict[str, Any] = {"page": page_no, "limit": V1_PAGE}
        if since is not None:
            params["fromTimestamp"] = iso(since)
        page = api.get("api/public/traces", params)
        listed += [t["id"] for t in page.get("data") or [] if isinstance(t, dict) and t.get("id")]
        total_pages = (page.get("meta") or {}).get("totalPages") or 0
        if progress:
            progress(0, None, f"listed {len(listed)} traces")
        if page_no >= total_pages or not page.get("data") or (limit and len(listed) >= limit):
            break
        page_no += 1
    listed = list(dict.fromkeys(listed))[: limit or None]
    out = {}
    for i, tid in enumerate(listed, 1):
        out[tid] = {"trace": api.get(f"api/public/traces/{tid}"), "observations": None}
        if progress and i % 50 == 0:
            progress(i, len(listed), f"fetched {i} of {len(listed)} traces")
    return out


def _fetch_scores_v2(api: _Api, score: str, trace_ids: set[str]) -> list[dict]:
    out = []
    try:
        for page in _pages_one_by_one(api, "api/public/v3/scores", {"name": score, "limit": 1000}):
            for s in page.get("data") or []:
                subject = s.get("subject") if isinstance(s.get("subject"), dict) else {}
                tid = s.get("traceId") or subject.get("id") or subject.get("traceId")
                if tid in trace_ids:
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
    ``api`` ("v2" or "v1") and ``ratings``. Raises LangfuseError when the server cannot be used."""
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

        traces: list[Trace] = []
        raw_scores: list[dict] = []
        for tid in list(fetched):
            # Popped as mapped: each trace's raw observations are freed once its unified trace exists,
            # so the live heap (and what the cyclic GC walks) does not hold both at once.
            item = fetched.pop(tid)
            prepared = item.get("prepared")
            try:
                t = langfuse_to_unified(item["trace"], item["observations"], prepared)
            except TraceFieldError as exc:
                summary.failed += 1
                summary.error(f"langfuse:{tid}", None, exc.field, exc.message)
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
        traces.sort(key=lambda t: t["timestamp"] or "")
        if limit:
            traces = traces[:limit]

        ids: dict[str, str] = {}
        stored = 0

        def batch_stored(chunk, res):
            nonlocal stored
            stored += len(chunk)
            summary.imported += res["imported"]
            summary.updated += res["updated"]
            ids.update({t["source_id"]: fid for t, fid in zip(chunk, res["ids"], strict=True)})
            if progress:
                progress(stored, len(traces), f"stored {stored} of {len(traces)} traces")

        # batch k+1 is prepared while batch k is written
        trace_store.upsert_batches(
            access,
            (traces[start : start + BATCH] for start in range(0, len(traces), BATCH)),
            done=batch_stored,
        )

        if score:
            if summary.api == "v2":
                raw_scores = _fetch_scores_v2(api, score, set(ids))
            rows, reasons = scores_to_ratings(score, raw_scores, ids)
            summary.ratings.eval_set, summary.ratings.stored = review_ratings.import_ratings(
                access, eval_set or score, rows
            )
            summary.ratings.skipped = sum(reasons.values())
            summary.ratings.skipped_reasons = dict(reasons)

        stamped = [t for t in traces if t["timestamp"]]
        if stamped:
            newest = max(t["timestamp"] for t in stamped)
            newest_dt = parse_time(newest, "timestamp")
            if last_ts is None or newest_dt >= last_ts:
                seen = {t["source_id"] for t in stamped if t["timestamp"] == newest}
                if last_ts is not None and newest_dt == last_ts:
                    seen |= seen_before
                import_cursors.set_import_cursor(
                    access, "langfuse", api.host, {"last_timestamp": newest, "seen_ids": sorted(seen)}
                )
        summary.requests = api.requests
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
