#!/usr/bin/env python3
"""A loopback server of the OpenAI Chat Completions API for Lookout's narrative tests and demo.

The request is checked with the official `openai` Python SDK's own types (PyPI `openai`, pinned in
infra/local/requirements.txt): the body must validate, in pydantic's strict mode, as
`openai.types.chat.completion_create_params.CompletionCreateParamsNonStreaming`, with no key
that the SDK's TypedDicts do not name (at the top and in each message, by its role). The answer is
an `openai.types.chat.ChatCompletion` built by the SDK and dumped as JSON.

Routes (any path prefix before `/chat/completions`, so `--base /v1` is the usual base URL):
  POST <prefix>/chat/completions   checked, recorded, answered by the mode:
      ok      200, a ChatCompletion with `--text` (or the mode's `text`), usage counted
      refuse  200, a ChatCompletion whose message has `content: null` and a `refusal`
      fail    500, an OpenAI error JSON (`server_error`)
      hang    sleeps `hang_s` seconds (default 30) before answering as `ok`
      429     429 with `Retry-After: <retry_after_s>` and an OpenAI error JSON
    A wrong path is 404; a body that is not JSON or breaks the SDK's types is 400
    (`invalid_request_error`, naming the field); a missing or wrong key is 401 (when `--api-key`
    is given: `Authorization: Bearer <key>`, or `api-key: <key>` with `--auth api-key`).
    Every request, refused or not, is recorded first: path (with query), headers (names in lower
    case), body (text), and `problem` (why it was refused, or null).
  GET  /_control/requests          the recorded requests, oldest first, as JSON
  POST /_control/mode              `{"mode": "ok"|"refuse"|"fail"|"hang"|"429", "text": ...,
                                   "hang_s": ..., "retry_after_s": ...}`
  POST /_control/reset             forgets the recorded requests and goes back to `ok`

Usage:
  openai_server.py [--host 127.0.0.1] [--port 0] [--api-key KEY] [--auth bearer|api-key]
                   [--text TEXT] [--mode MODE]
      prints `LISTENING <port>` once bound, then serves until killed (SIGTERM, SIGINT)
  openai_server.py --self-test
      starts the server on a free port and calls it with the official `openai` client (an
      answer, a refusal, a 500, a 429, a wrong key) and with a raw body the SDK's types refuse;
      exits 0 when every answer is as expected
"""

from __future__ import annotations

import argparse
import http.server
import json
import sys
import threading
import time
import typing
import uuid

import openai
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion, ChatCompletionMessage, ChatCompletionMessageParam
from openai.types.chat import completion_create_params
from openai.types.chat.chat_completion import Choice
from pydantic import TypeAdapter, ValidationError

PARAMS = completion_create_params.CompletionCreateParamsNonStreaming
PARAMS_ADAPTER = TypeAdapter(PARAMS)
MODES = ("ok", "refuse", "fail", "hang", "429")
DEFAULT_TEXT = "Generated account: the hour's checks as the facts state them."
REFUSAL = "I'm sorry, I can't help with that."


def typed_dict_keys(cls: type) -> set[str]:
    """Every key a TypedDict of the SDK names (required or not)."""
    return set(cls.__required_keys__) | set(cls.__optional_keys__)


def message_classes() -> dict[str, type]:
    """The SDK's message TypedDicts by their `role` literal."""
    by_role = {}
    for cls in typing.get_args(ChatCompletionMessageParam):
        role = typing.get_type_hints(cls)["role"]
        for value in typing.get_args(role):
            by_role[value] = cls
    return by_role


MESSAGES_BY_ROLE = message_classes()


def check_body(raw: bytes) -> tuple[dict | None, str | None]:
    """The body as a dict when it is a valid non-streaming Chat Completions request, else the
    problem (a field path and what is wrong)."""
    try:
        body = json.loads(raw)
    except ValueError as e:
        return None, f"the body is not JSON: {e}"
    if not isinstance(body, dict):
        return None, "the body is not a JSON object"
    try:
        validated = PARAMS_ADAPTER.validate_python(body, strict=True)
        # `messages` is an Iterable in the SDK's types: pydantic checks its items when they are
        # iterated, and each item's `content` (an Iterable too, unless a string) likewise.
        for message in validated["messages"]:
            content = message.get("content")
            if content is not None and not isinstance(content, str):
                list(content)
    except ValidationError as e:
        first = e.errors()[0]
        return None, f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    extra = set(body) - typed_dict_keys(PARAMS)
    if extra:
        return None, f"keys the API does not know: {sorted(extra)}"
    if not body["messages"]:
        return None, "messages: empty"
    for i, message in enumerate(body["messages"]):
        cls = MESSAGES_BY_ROLE.get(message.get("role"))
        extra = set(message) - typed_dict_keys(cls) if cls else {"role"}
        if extra:
            return None, f"messages.{i}: keys the API does not know: {sorted(extra)}"
    return body, None


def error_json(message: str, kind: str, code: str | None = None, param: str | None = None) -> bytes:
    """OpenAI's error shape."""
    return json.dumps({"error": {"message": message, "type": kind, "param": param, "code": code}}).encode()


def completion(body: dict, text: str | None, refusal: str | None) -> bytes:
    """A ChatCompletion built by the SDK's model; usage from the body's length (4 bytes a token)."""
    prompt_tokens = max(1, len(json.dumps(body["messages"])) // 4)
    completion_tokens = max(1, len((text or refusal or "").encode()) // 4)
    answer = ChatCompletion(
        id=f"chatcmpl-{uuid.uuid4().hex[:24]}",
        object="chat.completion",
        created=int(time.time()),
        model=body["model"],
        choices=[Choice(index=0, finish_reason="stop", logprobs=None,
                        message=ChatCompletionMessage(role="assistant", content=text, refusal=refusal))],
        usage=CompletionUsage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                              total_tokens=prompt_tokens + completion_tokens),
    )
    return answer.model_dump_json().encode()


class State:
    """What the control routes set and read."""

    def __init__(self, api_key: str | None, auth: str, text: str, mode: str) -> None:
        self.lock = threading.Lock()
        self.api_key = api_key
        self.auth = auth
        self.default_text = text
        self.requests: list[dict] = []
        self.set_mode({"mode": mode})

    def set_mode(self, settings: dict) -> None:
        mode = settings.get("mode", "ok")
        if mode not in MODES:
            raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")
        with self.lock:
            self.mode = mode
            self.text = settings.get("text") or self.default_text
            self.hang_s = float(settings.get("hang_s", 30))
            self.retry_after_s = int(settings.get("retry_after_s", 7))


class Handler(http.server.BaseHTTPRequestHandler):
    state: State
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout): nothing to answer

    def read_body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path == "/_control/requests":
            with self.state.lock:
                self.answer(200, json.dumps(self.state.requests).encode())
        else:
            self.answer(404, error_json(f"no route GET {self.path}", "invalid_request_error"))

    def do_POST(self) -> None:  # noqa: N802
        raw = self.read_body()
        if self.path == "/_control/mode":
            try:
                self.state.set_mode(json.loads(raw or b"{}"))
            except (ValueError, TypeError) as e:
                self.answer(400, error_json(str(e), "invalid_request_error"))
                return
            self.answer(200, b'{"ok":true}')
            return
        if self.path == "/_control/reset":
            with self.state.lock:
                self.state.requests.clear()
            self.state.set_mode({"mode": "ok"})
            self.answer(200, b'{"ok":true}')
            return
        self.chat(raw)

    def chat(self, raw: bytes) -> None:
        record = {
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": raw.decode("utf-8", "replace"),
            "problem": None,
        }
        with self.state.lock:
            self.state.requests.append(record)
            mode, text, hang_s, retry_after_s = (self.state.mode, self.state.text, self.state.hang_s,
                                                 self.state.retry_after_s)

        def refuse(status: int, problem: str, kind: str, code: str | None = None) -> None:
            with self.state.lock:
                record["problem"] = problem
            self.answer(status, error_json(problem, kind, code))

        if not self.path.split("?", 1)[0].endswith("/chat/completions"):
            refuse(404, f"no route POST {self.path}", "invalid_request_error", "unknown_url")
            return
        if (self.headers.get("content-type") or "").split(";")[0].strip().lower() != "application/json":
            refuse(400, f"content-type: expected application/json, got {self.headers.get('content-type')!r}",
                   "invalid_request_error")
            return
        if self.state.api_key is not None:
            if self.state.auth == "api-key":
                given = self.headers.get("api-key")
            else:
                value = self.headers.get("authorization") or ""
                given = value[len("Bearer "):] if value.startswith("Bearer ") else None
            if given != self.state.api_key:
                refuse(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
                return
        body, problem = check_body(raw)
        if problem is not None:
            refuse(400, problem, "invalid_request_error")
            return
        if mode == "hang":
            time.sleep(hang_s)
            mode = "ok"
        if mode == "fail":
            self.answer(500, error_json("The server had an error while processing your request.", "server_error"))
        elif mode == "429":
            self.answer(429, error_json("Rate limit reached for requests.", "requests", "rate_limit_exceeded"),
                        {"retry-after": str(retry_after_s)})
        elif mode == "refuse":
            self.answer(200, completion(body, None, REFUSAL))
        else:
            self.answer(200, completion(body, text, None))


def serve(host: str, port: int, state: State) -> http.server.ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = http.server.ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def self_test() -> int:
    """Calls the server with the official `openai` client; 0 when every answer is as expected."""
    key = "sk-self-test-key"
    state = State(key, "bearer", "Self-test narrative.", "ok")
    server = serve("127.0.0.1", 0, state)
    base = f"http://127.0.0.1:{server.server_address[1]}/v1"
    client = openai.OpenAI(base_url=base, api_key=key, max_retries=0, timeout=10)
    problems = []

    def call():
        return client.chat.completions.create(
            model="lookout-test",
            messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "{}"}],
            max_tokens=50,
        )

    got = call()
    if got.choices[0].message.content != "Self-test narrative." or got.usage is None:
        problems.append(f"ok: {got}")
    state.set_mode({"mode": "refuse"})
    got = call()
    if got.choices[0].message.refusal != REFUSAL or got.choices[0].message.content is not None:
        problems.append(f"refuse: {got}")
    for mode, error in [("fail", openai.InternalServerError), ("429", openai.RateLimitError)]:
        state.set_mode({"mode": mode})
        try:
            call()
            problems.append(f"{mode}: answered")
        except error as e:
            if mode == "429" and e.response.headers.get("retry-after") != "7":
                problems.append(f"429 without Retry-After: {e.response.headers}")
    state.set_mode({"mode": "ok"})
    try:
        openai.OpenAI(base_url=base, api_key="sk-wrong", max_retries=0).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}])
        problems.append("a wrong key was answered")
    except openai.AuthenticationError:
        pass
    # What the SDK would never send is refused by the SDK's types.
    import urllib.error
    import urllib.request
    for bad in [{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": "50"},
                {"model": "m", "messages": [{"role": "user", "content": "x"}], "secret_header": "x"},
                {"model": "m", "messages": [{"role": "wizard", "content": "x"}]},
                {"model": "m", "messages": [{"role": "user", "text": "x"}]},
                {"model": "m", "messages": [{"role": "user", "content": 5}]},
                {"messages": [{"role": "user", "content": "x"}]}]:
        req = urllib.request.Request(f"{base}/chat/completions", data=json.dumps(bad).encode(), method="POST",
                                     headers={"content-type": "application/json", "authorization": f"Bearer {key}"})
        try:
            urllib.request.urlopen(req, timeout=10)
            problems.append(f"accepted {bad}")
        except urllib.error.HTTPError as e:
            if e.code != 400:
                problems.append(f"{bad}: {e.code}")
    recorded = len(state.requests)
    if recorded != 11:
        problems.append(f"recorded {recorded} requests, expected 11")
    server.shutdown()
    for p in problems:
        print(f"self-test: FAIL {p}")
    print(f"self-test: openai {openai.__version__}, {recorded} requests, "
          f"{'OK' if not problems else 'FAILED'}")
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key")
    parser.add_argument("--auth", choices=("bearer", "api-key"), default="bearer")
    parser.add_argument("--text", default=DEFAULT_TEXT)
    parser.add_argument("--mode", choices=MODES, default="ok")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    if not (args.host.startswith("127.") or args.host == "::1"):
        parser.error("--host must be a loopback address")
    server = serve(args.host, args.port, State(args.api_key, args.auth, args.text, args.mode))
    print(f"LISTENING {server.server_address[1]}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
