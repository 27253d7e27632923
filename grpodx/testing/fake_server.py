"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests and benchmarks: scripted replies, injected faults, latency.

Tests talk to it exactly as the project talks to a real provider (`model: openai/<name>` plus
`api_base=server.url`), so retries, timeouts and parsing run through LiteLLM and the OpenAI
client for real instead of through patched internals.

    def handler(request: dict) -> str | int | Reply:
        return "It started yesterday."            # 200 with this text
        return 429                                # an injected status code
        return Reply("slow answer", latency=0.5)  # delay before answering

    with FakeOpenAIServer(handler) as server:
        ... litellm.acompletion(model="openai/fake", api_base=server.url, api_key="sk-test", ...)
        server.requests  # every JSON body received, in arrival order
        server.headers   # their HTTP headers (lower-case names), e.g. "authorization"
        server.errors    # exceptions the handler raised (answered with HTTP 500)

Faults of its own, drawn per request from a seeded generator before the handler is asked
(`server.faults_injected` counts each kind), so reliability tests need no hand-written chaos:

    FakeOpenAIServer(handler, Faults(failure_rate=0.2, malformed_rate=0.4, seed=0))
    FakeOpenAIServer(handler, Faults(out_of_range_rate=1.0))    # '{"score": 7}', 1e309, -2, ...
    FakeOpenAIServer(handler, Faults(hang_rate=0.1, hang=30.0))  # a reply that never comes in time
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """What the server does with one request."""

    text: str = ""
    status: int = 200
    """Anything but 200 sends an OpenAI-style error body with this status instead of `text`."""
    latency: float = 0.0
    """Seconds to wait before answering (to exercise timeouts and concurrency)."""


@dataclass(frozen=True)
class Faults:
    """Per-request fault rates (each in 0..1, drawn in this order; the rest reach the handler)."""

    failure_rate: float = 0.0
    """Answer HTTP 500 (a provider outage: retried by the caller)."""
    malformed_rate: float = 0.0
    """Answer 200 with text that holds no score and no sense."""
    out_of_range_rate: float = 0.0
    """Answer 200 with a judge score outside 0..1 ('{"score": 7}', '1e309', 'Score: -2', ...)."""
    hang_rate: float = 0.0
    """Wait `hang` seconds before answering (past any sane client timeout)."""
    hang: float = 30.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("failure_rate", "malformed_rate", "out_of_range_rate", "hang_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"Faults.{name} must lie in 0..1, got {getattr(self, name)}")


MALFORMED = ("Bestoma", "1. Pneumonia is likely given the fever.", "I cannot grade this.", "{score: }")
OUT_OF_RANGE = ('{"score": 7, "rationale": "7/10"}', '{"score": 1e309}', "Score: -2", '{"score": 10}', "Score: 11/10")


class _Injector:
    """Draws each request's fault (None: let the handler answer) from `faults`' own generator."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.counts = {"failure": 0, "malformed": 0, "out_of_range": 0, "hang": 0}
        self._random = random.Random(faults.seed)

    def __call__(self) -> Reply | None:
        f, draw = self.faults, self._random.random()
        for kind, rate in (("failure", f.failure_rate), ("malformed", f.malformed_rate), ("out_of_range", f.out_of_range_rate), ("hang", f.hang_rate)):
            if draw < rate:
                self.counts[kind] += 1
                return self._reply(kind)
            draw -= rate
        return None

    def _reply(self, kind: str) -> Reply:
        if kind == "failure":
            return Reply(status=500)
        if kind == "hang":
            return Reply('{"score": 1.0}', latency=self.faults.hang)
        pool = MALFORMED if kind == "malformed" else OUT_OF_RANGE
        return Reply(self._random.choice(pool))


Handler = Callable[[dict[str, Any]], "str | int | Reply"]


def _as_reply(result: str | int | Reply) -> Reply:
    if isinstance(result, Reply):
        return result
    if isinstance(result, bool) or not isinstance(result, (str, int)):
        raise TypeError(f"FakeOpenAIServer handler must return str, int or Reply, got {type(result).__name__}")
    return Reply(text=result) if isinstance(result, str) else Reply(status=result)


def _count_words(request: dict[str, Any]) -> int:
    """Whitespace word count as a stand-in for tokens: deterministic and good enough for usage tests."""
    return sum(len(str(m.get("content", "")).split()) for m in request.get("messages", []))


def _completion(request: dict[str, Any], text: str) -> dict[str, Any]:
    prompt, completion = _count_words(request), len(text.split())
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "fake"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }


def _error(status: int) -> dict[str, Any]:
    kind = "rate_limit_error" if status == 429 else "server_error"
    return {"error": {"message": f"injected HTTP {status}", "type": kind, "param": None, "code": str(status)}}


class FakeOpenAIServer:
    """Serves POST /v1/chat/completions from `handler` in a background thread."""

    def __init__(self, handler: Handler, faults: Faults | None = None) -> None:
        self.handler = handler
        self._inject = _Injector(faults or Faults())
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        """The HTTP headers of every request, in arrival order (to check which key was sent)."""
        self.errors: list[str] = []
        """Exceptions the handler raised (each answered with HTTP 500), so a test bug is visible."""
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._request_class())
        self._server.daemon_threads = True
        # A short poll interval makes shutdown (and so each test) fast.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), name="fake-openai", daemon=True)

    @property
    def faults_injected(self) -> dict[str, int]:
        """How many requests got each injected fault so far."""
        with self._lock:
            return dict(self._inject.counts)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _answer(self, request: dict[str, Any], headers: dict[str, str]) -> tuple[Reply, dict[str, Any]]:
        with self._lock:
            self.requests.append(request)
            self.headers.append(headers)
            fault = self._inject()
        if fault is not None:
            return fault, (_completion(request, fault.text) if fault.status == 200 else _error(fault.status))
        try:
            reply = _as_reply(self.handler(request))
        except Exception as error:  # a broken handler must not hang or reset the client
            with self._lock:
                self.errors.append(f"{type(error).__name__}: {error}")
            return Reply(status=500), _error(500)
        body = _completion(request, reply.text) if reply.status == 200 else _error(reply.status)
        return reply, body

    def _request_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Request(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: without this, a reply can wait on a delayed ACK

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                length = int(self.headers.get("Content-Length", 0))
                try:
                    request = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError as error:
                    return self._send(400, {"error": {"message": f"bad JSON: {error}", "type": "invalid_request"}})
                reply, body = server._answer(request, {k.lower(): v for k, v in self.headers.items()})
                if reply.latency:
                    time.sleep(reply.latency)
                self._send(reply.status, body)

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing left to tell it

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

        return _Request


def main(argv: list[str] | None = None) -> int:
    """`python -m grpodx.testing.fake_server --text T [--latency-ms N] [--malformed-rate R ...]`: serve one fixed reply from its own
    process (as a remote provider would: its work does not share the client's interpreter),
    print the URL on one line, run until killed."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m grpodx.testing.fake_server", description=main.__doc__.splitlines()[0] if main.__doc__ else None)
    parser.add_argument("--text", required=True, help="the reply to every request")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before each reply")
    for name in ("failure", "malformed", "out-of-range", "hang"):
        parser.add_argument(f"--{name}-rate", type=float, default=0.0, help=f"share of requests answered with an injected {name} fault")
    parser.add_argument("--hang-s", type=float, default=30.0, help="how long a hang lasts")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault draws")
    args = parser.parse_args(argv)
    reply = Reply(args.text, latency=args.latency_ms / 1000)
    faults = Faults(args.failure_rate, args.malformed_rate, args.out_of_range_rate, args.hang_rate, args.hang_s, args.seed)
    with FakeOpenAIServer(lambda request: reply, faults) as server:
        print(server.url, flush=True)
        threading.Event().wait()  # until the parent kills the process
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
