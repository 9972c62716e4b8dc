"""A local Langfuse API stub that speaks the wire format of
``shared/data/langfuse/openapi_excerpt_traces_observations.yml``.

- basic auth (public key : secret key), 401 otherwise;
- ``GET /api/public/v2/observations``: cursor paging (``meta.cursor`` omitted on the
  last page; with ``short_pages`` every other page is short but not the last),
  input/output as raw JSON strings, ``fromStartTime``/``traceId`` filters;
- ``GET /api/public/traces`` (page paging, limit <= 100 else 400), ``/traces/{id}``
  (full details with observations and scores), ``GET /api/public/observations``;
- ``GET /api/public/v3/scores`` (cursor) for v2 mode;
- ``mode="v1"``: v2 and v3 answer 404, as a self-hosted v3 server does;
- ``rate_limit=N``: the first N requests answer 429 with ``Retry-After: 1``;
- ``fault``: ``fault(path, query)`` -> ``(status, body)`` or None, asked before every GET is served: a
  server that breaks part way (``fail_after_first_page``) or answers well-formed JSON of an unexpected
  shape (``wrong_shape``; a ``bytes`` body is sent as it is); a 5xx it gives carries ``retry-after-ms: 1``,
  so retries are quick;
- ``POST /api/public/otel/v1/traces``: OTLP/HTTP ingestion (protobuf or JSON, gzip or not), as the
  langfuse SDK exports; every received span is kept in ``spans`` as ``{"name", "trace_id", "span_id",
  "parent_span_id", "attributes"}`` (attribute values decoded to Python values);
- ``POST /api/public/scores``: create or update a score by its ``id`` (kept in ``pushed_scores``, id -> body);
  ``score_rate_limit=N``: the next N score posts answer 429 with ``Retry-After: 1`` and ``retry-after-ms: 100``.
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse


def load_framework_traces(folder: Path) -> list[tuple[dict, list[dict]]]:
    """(trace, observations) per distinct trace id of the real framework exports."""
    out: dict[str, tuple[dict, list[dict]]] = {}
    for f in sorted(Path(folder).glob("*.json")):
        d = json.loads(f.read_text(encoding="utf-8"))
        out[d["trace"]["id"]] = (d["trace"], d["observations"])
    return list(out.values())


def _t(s: str | None) -> datetime | None:
    if not s:
        return None
    dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def fail_after_first_page(path: str, status: int = 500):
    """A fault: the list at ``path`` answers ``status`` for every page after the first."""

    def fault(p, q):
        later = q.get("cursor") or (q.get("page") not in (None, "1") and "page" in q)
        return (status, {"message": "Internal Server Error"}) if p == path and later else None

    return fault


def wrong_shape(path: str, body, first_page: bool = True):
    """A fault: ``path`` answers 200 with ``body`` (a list, a string, ``{"data": 5}``...) on its first page
    (or, with ``first_page=False``, on the later ones)."""

    def fault(p, q):
        later = bool(q.get("cursor")) or q.get("page") not in (None, "1")
        return (200, body) if p.startswith(path) and later != first_page else None

    return fault


def _io_string(v):
    return v if v is None or isinstance(v, str) else json.dumps(v)


class LangfuseStub:
    def __init__(
        self,
        traces: list[tuple[dict, list[dict]]],
        public_key="pk-lf-stub",
        secret_key="sk-lf-stub",
        mode="v2",
        rate_limit=0,
        short_pages=False,
        scores: list[dict] | None = None,
    ):
        self.traces = {t["id"]: (t, obs) for t, obs in traces}
        self.public_key, self.secret_key = public_key, secret_key
        self.mode = mode
        self.rate_limit = rate_limit
        self.short_pages = short_pages
        self.extra_scores = scores or []
        self.fault = None
        self.log: list[tuple[str, int]] = []
        self.spans: list[dict] = []
        self.pushed_scores: dict[str, dict] = {}
        self.score_posts = 0
        self.score_rate_limit = 0
        self._lock = threading.Lock()
        self._server = None
        self._build()

    def _build(self):
        self.observations = sorted(
            (o for _, obs in self.traces.values() for o in obs),
            key=lambda o: (o.get("startTime") or "", o["id"]),
        )
        self.trace_list = sorted(self.traces.values(), key=lambda x: (x[0]["timestamp"], x[0]["id"]))
        self._v2_cache = None

    def add(self, trace: dict, observations: list[dict]) -> None:
        self.traces[trace["id"]] = (trace, observations)
        self._build()

    def scores_of(self, trace: dict) -> list[dict]:
        return list(trace.get("scores") or []) + [s for s in self.extra_scores if s.get("traceId") == trace["id"]]

    # ------------------------------------------------------------ server

    def __enter__(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                status, body, headers = stub.handle(self.path, self.headers.get("Authorization"))
                data = body if isinstance(body, bytes) else json.dumps(body).encode()  # bytes: sent as they are
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                extra = {}
                if urlparse(self.path).path == "/api/public/scores":
                    status, body, extra = stub.post_score(self.headers.get("Authorization"), raw)
                    data, ctype = json.dumps(body).encode(), "application/json"
                else:
                    status, data, ctype = stub.ingest_otlp(self.path, self.headers, raw)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def env(self) -> dict:
        return {
            "LANGFUSE_HOST": self.url,
            "LANGFUSE_PUBLIC_KEY": self.public_key,
            "LANGFUSE_SECRET_KEY": self.secret_key,
        }

    # ------------------------------------------------------------ scores (POST)

    def post_score(self, authorization: str | None, raw: bytes) -> tuple[int, dict, dict]:
        """Langfuse's score create: upsert by ``id`` (a new id when none is given); 400 on a bad body."""
        expected = "Basic " + base64.b64encode(f"{self.public_key}:{self.secret_key}".encode()).decode()
        with self._lock:
            self.score_posts += 1
            if authorization != expected:
                self.log.append(("/api/public/scores", 401))
                return 401, {"message": "Invalid credentials"}, {}
            if self.score_rate_limit > 0:
                self.score_rate_limit -= 1
                self.log.append(("/api/public/scores", 429))
                return 429, {"message": "Rate limit exceeded"}, {"Retry-After": "1", "retry-after-ms": "100"}
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            if not isinstance(body, dict) or not body.get("traceId") or not body.get("name") or "value" not in body:
                self.log.append(("/api/public/scores", 400))
                return 400, {"message": "traceId, name and value are required"}, {}
            if body.get("dataType") == "BOOLEAN" and body["value"] not in (0, 1):
                self.log.append(("/api/public/scores", 400))
                return 400, {"message": "a BOOLEAN score's value is 0 or 1"}, {}
            score_id = body.get("id") or f"score-{len(self.pushed_scores) + 1}"
            self.pushed_scores[score_id] = {**body, "id": score_id}
            self.log.append(("/api/public/scores", 200))
            return 200, {"id": score_id}, {}

    # ------------------------------------------------------------ OTLP ingestion

    def ingest_otlp(self, raw_path: str, headers, raw: bytes) -> tuple[int, bytes, str]:
        """Accept an OTLP/HTTP trace export; keep its spans. Returns (status, body, content type)."""
        path = urlparse(raw_path).path
        expected = "Basic " + base64.b64encode(f"{self.public_key}:{self.secret_key}".encode()).decode()
        status = 200
        if path != "/api/public/otel/v1/traces":
            status = 404
        elif headers.get("Authorization") != expected:
            status = 401
        with self._lock:
            self.log.append((path, status))
        if status != 200:
            return (
                status,
                json.dumps({"message": "Not found" if status == 404 else "Invalid credentials"}).encode(),
                "application/json",
            )
        if (headers.get("Content-Encoding") or "").lower() == "gzip":
            raw = gzip.decompress(raw)
        from google.protobuf import json_format
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        request = ExportTraceServiceRequest()
        is_json = "json" in (headers.get("Content-Type") or "")
        if is_json:
            json_format.Parse(raw, request)
        else:
            request.ParseFromString(raw)
        spans = [_span_dict(span) for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
        with self._lock:
            self.spans.extend(spans)
        if is_json:
            return 200, b"{}", "application/json"
        return 200, ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf"

    # ------------------------------------------------------------ routes

    def handle(self, raw_path: str, authorization: str | None):
        url = urlparse(raw_path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        status, body, headers = self._route(url.path, q, authorization)
        with self._lock:
            self.log.append((url.path, status))
        return status, body, headers

    def _route(self, path, q, authorization):
        expected = "Basic " + base64.b64encode(f"{self.public_key}:{self.secret_key}".encode()).decode()
        if authorization != expected:
            return 401, {"message": "Invalid credentials"}, {}
        with self._lock:
            if self.rate_limit > 0:
                self.rate_limit -= 1
                return 429, {"message": "Rate limit exceeded"}, {"Retry-After": "1"}
        if self.fault is not None:
            broken = self.fault(path, q)
            if broken is not None:
                status, body = broken
                return status, body, ({"retry-after-ms": "1"} if status >= 500 else {})
        if path == "/api/public/v2/observations":
            return self._v2_observations(q) if self.mode == "v2" else (404, {"message": "Not found"}, {})
        if path == "/api/public/v3/scores":
            return self._v3_scores(q) if self.mode == "v2" else (404, {"message": "Not found"}, {})
        if path == "/api/public/traces":
            return self._v1_traces(q)
        if path.startswith("/api/public/traces/"):
            tid = path.rsplit("/", 1)[1]
            if tid not in self.traces:
                return 404, {"message": "Trace not found"}, {}
            return 200, self._full_trace(*self.traces[tid]), {}
        if path == "/api/public/observations":
            return self._v1_observations(q)
        return 404, {"message": "Not found"}, {}

    def _page_cursor(self, q, items, max_limit):
        try:
            limit = int(q.get("limit") or 50)
        except ValueError:
            return 400, {"message": "limit must be an integer"}, {}
        if limit < 1 or limit > max_limit:
            return 400, {"message": f"limit must be between 1 and {max_limit}"}, {}
        start = int(base64.b64decode(q["cursor"]).decode()) if q.get("cursor") else 0
        size = limit
        if self.short_pages and (start // max(limit, 1)) % 2 == 0 and start:
            size = max(1, limit // 2)  # a short page that is not the last one
        page = items[start : start + size]
        meta = {}
        if start + size < len(items):
            meta["cursor"] = base64.b64encode(str(start + size).encode()).decode()
        return 200, {"data": page, "meta": meta}, {}

    def _v2_observations(self, q):
        if self._v2_cache is None:
            self._v2_cache = self._v2_all()
        items = self._v2_cache
        if q.get("traceId"):
            items = [o for o in items if o["traceId"] == q["traceId"]]
        if q.get("fromStartTime"):
            since = _t(q["fromStartTime"])
            items = [o for o in items if _t(o["startTime"]) >= since]
        return self._page_cursor(q, items, 1000)

    def _v2_all(self):
        trace_names = {tid: t.get("name") for tid, (t, _) in self.traces.items()}
        out = []
        for o in self.observations:
            v2 = {k: v for k, v in o.items() if k not in ("inputUsage", "outputUsage", "totalUsage")}
            v2["input"], v2["output"] = _io_string(o.get("input")), _io_string(o.get("output"))
            v2["metadata"] = o.get("metadata") if isinstance(o.get("metadata"), dict) else {}
            v2["traceName"] = trace_names.get(o["traceId"])
            v2["tags"] = self.traces[o["traceId"]][0].get("tags") or []
            out.append(v2)
        return out

    def _v3_scores(self, q):
        scores = []
        for t, _ in self.traces.values():
            for s in self.scores_of(t):
                if q.get("name") and s.get("name") != q["name"]:
                    continue
                v3 = {k: v for k, v in s.items() if k not in ("traceId", "stringValue")}
                if s.get("dataType") == "BOOLEAN":
                    v3["value"] = bool(s.get("value"))
                elif s.get("dataType") == "CATEGORICAL":
                    v3["value"] = s.get("stringValue")
                v3["subject"] = {"type": "trace", "id": s["traceId"]}
                scores.append(v3)
        return self._page_cursor(q, scores, 1000)

    def _v1_traces(self, q):
        try:
            page, limit = int(q.get("page") or 1), int(q.get("limit") or 50)
        except ValueError:
            return 400, {"message": "page and limit must be integers"}, {}
        if limit > 100 or limit < 1:
            return 400, {"message": "limit must be between 1 and 100"}, {}
        items = self.trace_list
        if q.get("orderBy") == "timestamp.desc":
            items = items[::-1]
        if q.get("fromTimestamp"):
            since = _t(q["fromTimestamp"])
            items = [x for x in items if _t(x[0]["timestamp"]) >= since]
        chunk = items[(page - 1) * limit : page * limit]
        data = []
        for t, obs in chunk:
            d = self._trace_fields(t)
            d.update(
                observations=[o["id"] for o in obs],
                scores=[s.get("id") for s in self.scores_of(t)],
                htmlPath=f"/project/p/traces/{t['id']}",
            )
            data.append(d)
        total = len(items)
        return (
            200,
            {
                "data": data,
                "meta": {"page": page, "limit": limit, "totalItems": total, "totalPages": (total + limit - 1) // limit},
            },
            {},
        )

    def _v1_observations(self, q):
        page, limit = int(q.get("page") or 1), int(q.get("limit") or 50)
        if limit > 100:
            return 400, {"message": "limit must be between 1 and 100"}, {}
        items = [o for o in self.observations if not q.get("traceId") or o["traceId"] == q["traceId"]]
        total = len(items)
        return (
            200,
            {
                "data": items[(page - 1) * limit : page * limit],
                "meta": {"page": page, "limit": limit, "totalItems": total, "totalPages": (total + limit - 1) // limit},
            },
            {},
        )

    @staticmethod
    def _trace_fields(t: dict) -> dict:
        keep = (
            "id",
            "timestamp",
            "name",
            "input",
            "output",
            "sessionId",
            "release",
            "version",
            "userId",
            "metadata",
            "tags",
            "public",
            "environment",
            "latency",
            "totalCost",
            "projectId",
            "bookmarked",
            "createdAt",
            "updatedAt",
        )
        return {k: t.get(k) for k in keep}

    def _full_trace(self, t, obs):
        d = self._trace_fields(t)
        d.update(htmlPath=f"/project/p/traces/{t['id']}", observations=obs, scores=self.scores_of(t))
        return d


def _any_value(v):
    """An OTLP AnyValue as a plain Python value."""
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_any_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _any_value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, kind) if kind else None


def _span_dict(span) -> dict:
    return {
        "name": span.name,
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent_span_id": span.parent_span_id.hex() or None,
        "attributes": {kv.key: _any_value(kv.value) for kv in span.attributes},
    }
