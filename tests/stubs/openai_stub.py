"""A local HTTP server that speaks OpenAI chat completions (plain and SSE streaming).

Used by tests and bench/fanout with the real ``openai`` SDK. Behaviour is set
on the instance: ``api_key`` (None accepts any), ``delay`` (seconds before the
answer), ``fail(model, status, times, retry_after)`` (queued failures),
``hang_models`` (never answer), ``omit_usage``, ``script(model, *replies)`` (queued answers:
text, or ``ScriptedError`` for a failed request). Models named ``missing-*`` get 404.
Every request is recorded in ``requests`` as ``{"path", "body", "headers", "time"}``.

    with OpenAIStub() as stub:
        client = openai.OpenAI(base_url=stub.base_url, api_key="sk-test")
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class ScriptedError:
    """A queued failed answer in a script: the request gets ``status`` (and Retry-After when given)."""

    status: int
    message: str | None = None
    retry_after: float | str | None = None


class StubServer:
    """Base: a threaded HTTP server on 127.0.0.1 (ephemeral port) with scripted failures."""

    handler_path = "/"
    path_prefix = "/v1"

    def __init__(self, api_key: str | None = "sk-test", delay: float = 0.0, chunk_delay: float = 0.0):
        self.api_key = api_key
        self.delay = delay
        self.chunk_delay = chunk_delay
        self.hang_models: set[str] = set()
        self.hang_seconds = 30.0
        self.omit_usage = False
        self.requests: list[dict] = []
        self._failures: dict[str, deque] = defaultdict(deque)
        self._scripts: dict[str, deque] = defaultdict(deque)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def setup(self):
                super().setup()
                # Headers and body go out in separate writes: without this, Nagle plus
                # delayed ACK adds ~40 ms to every keep-alive answer.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                with stub._lock:
                    stub.requests.append(
                        {"path": self.path, "body": body, "headers": dict(self.headers), "time": time.time()}
                    )
                stub.handle(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # ------------------------------------------------------------ control

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail(
        self,
        model: str,
        status: int,
        times: int = 1,
        retry_after: float | str | None = None,
        message: str | None = None,
    ) -> None:
        """The next ``times`` requests for ``model`` get ``status`` (with Retry-After if given)."""
        for _ in range(times):
            self._failures[model].append((status, retry_after, message))

    def script(self, model: str, *replies: str | ScriptedError) -> None:
        """The next requests for ``model`` get these replies in order (text answers or scripted errors);
        once the script is used up, the default answer comes back again."""
        with self._lock:
            self._scripts[model].extend(replies)

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def requests_for(self, model: str) -> list[dict]:
        return [r for r in self.requests if r["body"].get("model") == model]

    # ------------------------------------------------------------ helpers for subclasses

    def _take_failure(self, model: str):
        with self._lock:
            q = self._failures.get(model)
            if q:
                return q.popleft()
            script = self._scripts.get(model)
            if script and isinstance(script[0], ScriptedError):
                err = script.popleft()
                return err.status, err.retry_after, err.message
            return None

    def _take_scripted_text(self, model: str) -> str | None:
        with self._lock:
            script = self._scripts.get(model)
            return script.popleft() if script and isinstance(script[0], str) else None

    def _hang(self) -> None:
        self._stop.wait(self.hang_seconds)

    @staticmethod
    def send_json(h: BaseHTTPRequestHandler, status: int, obj: dict, headers: dict | None = None) -> None:
        data = json.dumps(obj).encode()
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                h.send_header(k, str(v))
            h.end_headers()
            h.wfile.write(data)
        except OSError:
            pass

    @staticmethod
    def start_sse(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Cache-Control", "no-cache")
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True

    @staticmethod
    def answer_for(model: str, prompt: str) -> str:
        snippet = " ".join(prompt.split())[:60]
        return f"Stub answer from {model}: {snippet}"

    def handle(self, h: BaseHTTPRequestHandler, body: dict) -> None:
        raise NotImplementedError


class OpenAIStub(StubServer):
    @property
    def base_url(self) -> str:
        return self.root_url + "/v1"

    def _error(self, h, status: int, message: str, kind: str, headers: dict | None = None) -> None:
        self.send_json(h, status, {"error": {"message": message, "type": kind, "param": None, "code": kind}}, headers)

    def handle(self, h, body: dict) -> None:
        if h.path.rstrip("/") != "/v1/chat/completions":
            return self._error(h, 404, f"Unknown path {h.path}", "not_found")
        if self.api_key is not None and h.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._error(h, 401, "Incorrect API key provided.", "invalid_api_key")
        model = body.get("model", "")
        if model.startswith("missing-"):
            return self._error(h, 404, f"The model `{model}` does not exist.", "model_not_found")
        failure = self._take_failure(model)
        if failure:
            status, retry_after, message = failure
            headers = {"Retry-After": retry_after} if retry_after is not None else {}
            kind = "rate_limit_exceeded" if status == 429 else "server_error"
            return self._error(h, status, message or f"Scripted {status} for {model}", kind, headers)
        if model in self.hang_models:
            return self._hang()
        if self.delay:
            time.sleep(self.delay)
        prompt = next((m.get("content", "") for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
        text = self._take_scripted_text(model)
        if text is None:
            text = self.answer_for(model, prompt if isinstance(prompt, str) else json.dumps(prompt))
        n_in = sum(len(str(m.get("content", "")).split()) + 3 for m in body.get("messages", []))
        n_out = len(text.split())
        usage = {"prompt_tokens": n_in, "completion_tokens": n_out, "total_tokens": n_in + n_out}
        created = int(time.time())
        if not body.get("stream"):
            resp = {
                "id": "chatcmpl-stub",
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            }
            if not self.omit_usage:
                resp["usage"] = usage
            return self.send_json(h, 200, resp)
        try:
            self.start_sse(h)
            words = text.split(" ")
            for i, word in enumerate(words):
                chunk = {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "delta": ({"role": "assistant"} if i == 0 else {})
                            | {"content": word if i == 0 else " " + word},
                            "finish_reason": None,
                        }
                    ],
                }
                h.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                h.wfile.flush()
                if self.chunk_delay:
                    time.sleep(self.chunk_delay)
            final = {
                "id": "chatcmpl-stub",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            }
            h.wfile.write(f"data: {json.dumps(final)}\n\n".encode())
            include = (body.get("stream_options") or {}).get("include_usage")
            if include and not self.omit_usage:
                tail = {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": usage,
                }
                h.wfile.write(f"data: {json.dumps(tail)}\n\n".encode())
            h.wfile.write(b"data: [DONE]\n\n")
            h.wfile.flush()
        except OSError:
            pass
