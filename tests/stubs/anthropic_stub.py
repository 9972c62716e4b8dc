"""A local HTTP server that speaks Anthropic messages (plain and SSE streaming).

Same controls as :class:`tests.stubs.openai_stub.StubServer` (including ``script``). The SDK's base URL
is ``stub.base_url`` (no ``/v1``: the SDK adds it).
"""

from __future__ import annotations

import json
import time

from tests.stubs.openai_stub import StubServer

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


class AnthropicStub(StubServer):
    @property
    def base_url(self) -> str:
        return self.root_url

    def _error(self, h, status: int, message: str, headers: dict | None = None) -> None:
        kind = _ERROR_TYPES.get(status, "api_error")
        self.send_json(h, status, {"type": "error", "error": {"type": kind, "message": message}}, headers)

    def handle(self, h, body: dict) -> None:
        if h.path.split("?")[0].rstrip("/") != "/v1/messages":
            return self._error(h, 404, f"Unknown path {h.path}")
        # Older SDKs send x-api-key, newer ones Authorization: Bearer; accept either.
        sent = h.headers.get("x-api-key") or (h.headers.get("Authorization") or "").removeprefix("Bearer ")
        if self.api_key is not None and sent != self.api_key:
            return self._error(h, 401, "invalid x-api-key")
        model = body.get("model", "")
        if model.startswith("missing-"):
            return self._error(h, 404, f"model: {model}")
        if not body.get("max_tokens"):
            return self._error(h, 400, "max_tokens: Field required")
        failure = self._take_failure(model)
        if failure:
            status, retry_after, message = failure
            headers = {"retry-after": retry_after} if retry_after is not None else {}
            return self._error(h, status, message or f"Scripted {status} for {model}", headers)
        if model in self.hang_models:
            return self._hang()
        if self.delay:
            time.sleep(self.delay)
        content = next(
            (m.get("content", "") for m in reversed(body.get("messages", [])) if m.get("role") == "user"), ""
        )
        text = self._take_scripted_text(model)
        if text is None:
            text = self.answer_for(model, content if isinstance(content, str) else json.dumps(content))
        n_in = sum(len(str(m.get("content", "")).split()) + 3 for m in body.get("messages", []))
        n_in += len(str(body.get("system") or "").split())
        n_out = len(text.split())
        if not body.get("stream"):
            return self.send_json(
                h,
                200,
                {
                    "id": "msg_stub",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": text}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": n_in, "output_tokens": n_out},
                },
            )
        try:
            self.start_sse(h)

            def event(name: str, data: dict) -> None:
                h.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
                h.wfile.flush()

            event(
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": "msg_stub",
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": n_in, "output_tokens": 1},
                    },
                },
            )
            event(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            )
            event("ping", {"type": "ping"})
            for i, word in enumerate(text.split(" ")):
                event(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": word if i == 0 else " " + word},
                    },
                )
                if self.chunk_delay:
                    time.sleep(self.chunk_delay)
            event("content_block_stop", {"type": "content_block_stop", "index": 0})
            event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": n_out},
                },
            )
            event("message_stop", {"type": "message_stop"})
        except OSError:
            pass
