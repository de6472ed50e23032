"""Every adapter, through the real framework: a plain WSGI app behind a real loopback HTTP
server (raw request bytes), a plain ASGI app, Starlette's ``add_middleware``, Flask's,
FastAPI's and Django's test clients. Each accepts every scheme as Bandwidth sends it
(the view still reads the body), answers every malformed request as the table says with
nothing echoed, and follows a rotation served from a ``file:`` source that changes under
the running app."""

from __future__ import annotations

import io
import json
import socket
import threading
import wsgiref.simple_server
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import django
import pytest
from django.conf import settings
from fastapi import Depends, FastAPI, Request, Response

import bandwidth_credentials as bc
from bandwidth_credentials import Resolver
from bandwidth_credentials.testing import FakeClock, watch_for_leaks

from .callback_kit import (
    ACCEPTED,
    ENV,
    OLD_PASSWORD,
    PASSWORD,
    REFUSED,
    SECRETS,
    USER,
    VOICE_BODY,
    Refused,
    Sent,
    basic,
    sent_values,
)

if not settings.configured:
    settings.configure(
        SECRET_KEY="callback-tests-" + "k" * 40,
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["testserver"],
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        DATA_UPLOAD_MAX_MEMORY_SIZE=None,
    )
    django.setup()

Headers = list[tuple[str, "str | bytes"]]


class Answer(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes


def _joined(headers: Headers) -> list[tuple[str, str]]:
    """Repeated headers joined with a comma, as WSGI servers hand them to the app."""
    out: dict[str, tuple[str, str]] = {}
    for name, value in headers:
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        key = name.lower()
        out[key] = (name, out[key][1] + "," + text) if key in out else (name, text)
    return list(out.values())


def _echo(scheme: str, body: bytes) -> bytes:
    """What every test view answers: the scheme it was told and the body it read."""
    return json.dumps({"scheme": scheme, "body": body.decode()}).encode()


# -- the applications ------------------------------------------------------------------


def _plain_wsgi() -> Callable[..., Any]:
    from bandwidth_credentials.callbacks.wsgi import ENVIRON_KEY, CallbackAuthMiddleware

    def inner(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [_echo(environ[ENVIRON_KEY].scheme, body)]

    return CallbackAuthMiddleware(inner)


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class SocketClient:
    """A plain WSGI app behind wsgiref's HTTP server on 127.0.0.1; requests are written
    as raw bytes, header names spelled exactly as given."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.server = wsgiref.simple_server.make_server(
            "127.0.0.1", 0, app, handler_class=_QuietHandler
        )
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def post(self, headers: Headers, body: bytes, length: bytes | None = None) -> Answer:
        host, port = self.server.server_address[:2]
        lines = [b"POST /callbacks HTTP/1.1", f"Host: {host}:{port}".encode()]
        lines += [
            name.encode() + b": " + (v if isinstance(v, bytes) else v.encode("latin-1"))
            for name, v in headers
        ]
        declared = str(len(body)).encode() if length is None else length
        lines += [b"Content-Length: " + declared, b"Connection: close"]
        head = b"\r\n".join(lines) + b"\r\n\r\n"
        with socket.create_connection((host, port), timeout=10) as conn:
            # A body over the limit is answered from Content-Length, before it is read.
            conn.sendall(head if len(body) > bc.callbacks.DEFAULT_MAX_BODY else head + body)
            received = b""
            while chunk := conn.recv(65536):
                received += chunk
        status_line, _, rest = received.partition(b"\r\n")
        header_text, _, payload = rest.partition(b"\r\n\r\n")
        found = {}
        for line in header_text.split(b"\r\n"):
            name, _, value = line.decode("latin-1").partition(":")
            found[name.strip().lower()] = value.strip()
        return Answer(int(status_line.split()[1]), found, payload)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ASGIClient:
    def __init__(self, app: Any) -> None:
        from starlette.testclient import TestClient

        self.app = app
        self.client = TestClient(app)

    def post(self, headers: Headers, body: bytes, length: bytes | None = None) -> Answer:
        if length is not None:
            return _asgi_call(self.app, [*headers, ("Content-Length", length)], body)
        answer = self.client.post("/callbacks", content=body, headers=headers)
        return Answer(
            answer.status_code, {k.lower(): v for k, v in answer.headers.items()}, answer.content
        )

    def close(self) -> None:
        self.client.close()


def _asgi_call(app: Any, headers: Headers, body: bytes, *, leaves: bool = False) -> Answer:
    """One request handed to an ASGI application as a server hands it: the header
    bytes as received (a test client would write its own Content-Length). ``leaves``:
    the client sends ``body`` as the first part of a longer one, then disconnects (the
    answer is then status 0 when nothing was sent)."""
    import asyncio

    raw = [
        (name.lower().encode(), value if isinstance(value, bytes) else value.encode("latin-1"))
        for name, value in headers
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/callbacks",
        "raw_path": b"/callbacks",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *raw],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    messages: list[dict[str, Any]] = [{"type": "http.request", "body": body, "more_body": leaves}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    if not sent:
        return Answer(0, {}, b"")
    start = next(m for m in sent if m["type"] == "http.response.start")
    found = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(start["status"], found, payload)


def _plain_asgi() -> Any:
    from bandwidth_credentials.callbacks.asgi import SCOPE_KEY, CallbackAuthMiddleware

    async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": _echo(scope[SCOPE_KEY].scheme, body)})

    return CallbackAuthMiddleware(inner, app=None)


def _starlette() -> Any:
    from starlette.applications import Starlette
    from starlette.routing import Route

    from bandwidth_credentials.callbacks.asgi import SCOPE_KEY, CallbackAuthMiddleware

    async def view(request: Request) -> Response:
        return Response(_echo(request.scope[SCOPE_KEY].scheme, await request.body()))

    app = Starlette(routes=[Route("/callbacks", view, methods=["POST"])])
    app.add_middleware(CallbackAuthMiddleware, app=None, max_body=bc.callbacks.DEFAULT_MAX_BODY)
    return app


def _fastapi(called: bool) -> Any:
    from bandwidth_credentials.callbacks.fastapi import verify_callback

    api = FastAPI()
    dependency = verify_callback(app=None, max_body=1024 * 1024) if called else verify_callback

    @api.post("/callbacks")
    async def view(
        request: Request,
        verified: bc.CallbackVerification = Depends(dependency),  # noqa: B008 - FastAPI's idiom
    ) -> Response:
        return Response(_echo(verified.scheme, await request.body()))

    return api


class FlaskClient:
    def __init__(self, called: bool) -> None:
        from flask import Flask, g, request

        from bandwidth_credentials.callbacks.flask import verify_callback

        app = Flask("callbacks")
        decorate = verify_callback(app=None, max_body=1024 * 1024) if called else verify_callback

        @app.post("/callbacks")
        @decorate
        def view() -> bytes:
            return _echo(g.bandwidth_callback.scheme, request.get_data())

        self.client = app.test_client()

    def post(self, headers: Headers, body: bytes, length: bytes | None = None) -> Answer:
        overrides = {} if length is None else {"CONTENT_LENGTH": length.decode("latin-1")}
        answer = self.client.post(
            "/callbacks", data=body, headers=_joined(headers), environ_overrides=overrides
        )
        return Answer(
            answer.status_code, {k.lower(): v for k, v in answer.headers.items()}, answer.data
        )

    def close(self) -> None:
        pass


def _django_view(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse(_echo(request.bandwidth_callback.scheme, request.body))


def _django_views() -> tuple[Any, Any]:
    from django.views.decorators.csrf import csrf_exempt

    from bandwidth_credentials.callbacks.django import verify_callback

    bare = csrf_exempt(verify_callback(_django_view))
    called = csrf_exempt(verify_callback(app=None, max_body=1024 * 1024)(_django_view))
    return bare, called


_DJANGO_BARE, _DJANGO_CALLED = _django_views()
_SMALL = 64  # max_body of the chunked-request apps below


def _urls() -> list[Any]:
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    from bandwidth_credentials.callbacks.django import verify_callback

    small = csrf_exempt(verify_callback(max_body=_SMALL)(_django_view))
    return [
        path("callbacks", _DJANGO_BARE),
        path("called/callbacks", _DJANGO_CALLED),
        path("small/callbacks", small),
    ]


urlpatterns = _urls()


class DjangoClient:
    def __init__(self, called: bool) -> None:
        from django.test import Client

        self.client = Client()
        self.path = "/called/callbacks" if called else "/callbacks"

    def post(self, headers: Headers, body: bytes, length: bytes | None = None) -> Answer:
        meta: dict[str, str] = {}
        if length is not None:
            meta["CONTENT_LENGTH"] = length.decode("latin-1")
        content_type = "application/octet-stream"
        for name, value in _joined(headers):
            if name.lower() == "content-type":
                content_type = value
            else:
                meta["HTTP_" + name.upper().replace("-", "_")] = value
        answer = self.client.generic(
            "POST", self.path, data=body, content_type=content_type, **meta
        )
        return Answer(
            answer.status_code, {k.lower(): v for k, v in answer.headers.items()}, answer.content
        )

    def close(self) -> None:
        pass


CLIENTS: dict[str, Callable[[], Any]] = {
    "wsgi middleware (loopback server)": lambda: SocketClient(_plain_wsgi()),
    "asgi middleware": lambda: ASGIClient(_plain_asgi()),
    "starlette add_middleware": lambda: ASGIClient(_starlette()),
    "flask bare": lambda: FlaskClient(called=False),
    "flask called": lambda: FlaskClient(called=True),
    "fastapi bare": lambda: ASGIClient(_fastapi(called=False)),
    "fastapi called": lambda: ASGIClient(_fastapi(called=True)),
    "django bare": lambda: DjangoClient(called=False),
    "django called": lambda: DjangoClient(called=True),
}


@pytest.fixture(params=list(CLIENTS))
def client(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    bc.configure(["env"])
    made = CLIENTS[request.param]()
    yield made
    made.close()


@pytest.mark.parametrize(
    ("sent", "scheme", "previous"), ACCEPTED, ids=lambda v: getattr(v, "name", "")
)
def test_each_scheme_reaches_the_view_with_its_body(
    client: Any, sent: Sent, scheme: str, previous: bool
) -> None:
    del previous

    answer = client.post(sent.headers, sent.body)

    assert answer.status == 200, answer.body
    assert json.loads(answer.body) == {"scheme": scheme, "body": sent.body.decode()}


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.name)
def test_every_malformed_request_is_answered_without_echo(client: Any, case: Refused) -> None:
    with watch_for_leaks([*SECRETS, *sent_values(case)]) as watch:
        answer = client.post(case.headers, case.body)

    assert answer.status == case.status
    challenge = answer.headers.get("www-authenticate")
    if case.status == 401:
        assert challenge == 'Basic realm="Bandwidth callbacks"'
    else:
        assert challenge is None
    assert b"Traceback" not in answer.body
    assert watch.exception is None
    assert not any(r.levelname in ("ERROR", "CRITICAL") for r in watch.records)


@pytest.mark.parametrize(
    ("length", "status"),
    [
        (b"\xb2", 400),  # superscript two: str.isdigit() says yes, int() says no
        (b"1\xb9", 400),
        (b"+5", 400),
        (b"-1", 400),
        (b"0x10", 400),
        (b"5, 5", 400),
        (b"9" * 5000, 413),  # more digits than int() takes
    ],
    ids=["superscript", "digit and superscript", "plus", "negative", "hex", "list", "huge"],
)
def test_a_malformed_content_length_is_refused_cleanly(
    client: Any, length: bytes, status: int
) -> None:
    with watch_for_leaks([*SECRETS, basic()]) as watch:
        answer = client.post([("Authorization", basic())], VOICE_BODY, length)

    assert answer.status == status
    assert b"Traceback" not in answer.body
    assert watch.exception is None


@pytest.mark.parametrize(
    "name", ["asgi middleware", "starlette add_middleware", "fastapi bare", "fastapi called"]
)
def test_a_client_leaving_mid_body_is_no_error(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    bc.configure(["env"])
    running = CLIENTS[name]()
    try:
        with watch_for_leaks([*SECRETS, basic()]) as watch:
            answer = _asgi_call(
                running.app, [("Authorization", basic())], VOICE_BODY[:40], leaves=True
            )
    finally:
        running.close()

    assert watch.exception is None
    assert not any(r.levelname in ("ERROR", "CRITICAL") for r in watch.records)
    assert answer.status in (0, 400)  # nobody is there to read an answer


_HMAC_ONLY = {
    "subscriptions": {"BW_WEBHOOK_SECRET": ENV["BW_WEBHOOK_SECRET"]},
    "tfv": {"BW_TFV_WEBHOOK_SECRET": ENV["BW_TFV_WEBHOOK_SECRET"]},
    "both": {
        "BW_WEBHOOK_SECRET": ENV["BW_WEBHOOK_SECRET"],
        "BW_TFV_WEBHOOK_SECRET": ENV["BW_TFV_WEBHOOK_SECRET"],
    },
}


@pytest.mark.parametrize("configured", list(_HMAC_ONLY))
@pytest.mark.parametrize("name", list(CLIENTS))
@pytest.mark.parametrize(
    "headers",
    [[("Content-Type", "application/json")], [("Authorization", basic())]],
    ids=["nothing", "Basic, not configured"],
)
def test_no_signature_under_hmac_alone_is_403_without_a_challenge(
    monkeypatch: pytest.MonkeyPatch, configured: str, name: str, headers: Headers
) -> None:
    # RFC 7235 requires a challenge with every 401, and the HMAC schemes have none.
    for key, value in _HMAC_ONLY[configured].items():
        monkeypatch.setenv(key, value)
    bc.configure(["env"])
    made = CLIENTS[name]()
    try:
        with watch_for_leaks([*SECRETS, basic()]) as watch:
            answer = made.post(headers, VOICE_BODY)
    finally:
        made.close()

    assert (answer.status, answer.headers.get("www-authenticate")) == (403, None)
    assert watch.exception is None


def test_no_credentials_configured_is_503(monkeypatch: pytest.MonkeyPatch) -> None:
    bc.configure(["env"])
    for make in CLIENTS.values():
        made = make()
        try:
            with watch_for_leaks([PASSWORD]):
                answer = made.post([("Authorization", basic())], VOICE_BODY)
        finally:
            made.close()

        assert answer.status == 503


def _write_json(path: Path, values: dict[str, str]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(values))
    tmp.replace(path)


@pytest.mark.parametrize("name", list(CLIENTS))
def test_a_rotation_overlap_under_a_running_app(name: str, tmp_path: Path) -> None:
    creds = tmp_path / "callbacks.json"
    _write_json(creds, {"callback_username": USER, "callback_password": OLD_PASSWORD})
    clock = FakeClock()
    bc.configure(resolver=Resolver([f"file:{creds}"], clock=clock, inline=True))
    running = CLIENTS[name]()
    old = [("Authorization", basic(password=OLD_PASSWORD))]
    new = [("Authorization", basic(password=PASSWORD))]
    try:
        before = (running.post(old, VOICE_BODY).status, running.post(new, VOICE_BODY).status)
        _write_json(
            creds,
            {
                "callback_username": USER,
                "callback_password": PASSWORD,
                "callback_previous_username": USER,
                "callback_previous_password": OLD_PASSWORD,
            },
        )
        clock.advance(6)
        during = (running.post(old, VOICE_BODY).status, running.post(new, VOICE_BODY).status)
        _write_json(creds, {"callback_username": USER, "callback_password": PASSWORD})
        clock.advance(6)
        after = (running.post(old, VOICE_BODY).status, running.post(new, VOICE_BODY).status)
    finally:
        running.close()

    assert (before, during, after) == ((200, 401), (200, 200), (401, 200))


# -- chunked requests (no Content-Length) behind a real WSGI server --------------------


def _chunked_apps() -> dict[str, Callable[..., Any]]:
    from flask import Flask, g, request

    from bandwidth_credentials.callbacks.flask import verify_callback
    from bandwidth_credentials.callbacks.wsgi import ENVIRON_KEY, CallbackAuthMiddleware

    def inner(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [_echo(environ[ENVIRON_KEY].scheme, body)]

    flask_app = Flask("chunked")

    @flask_app.post("/callbacks")
    @verify_callback(max_body=_SMALL)
    def view() -> bytes:
        return _echo(g.bandwidth_callback.scheme, request.get_data())

    return {
        "wsgi middleware": CallbackAuthMiddleware(inner, max_body=_SMALL),
        "flask": flask_app.wsgi_app,
        "django": _django_small,
    }


def _django_small(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    """Django's own WSGI handler, serving the view with ``max_body=_SMALL``."""
    from django.core.handlers.wsgi import WSGIHandler

    environ["PATH_INFO"] = "/small/callbacks"
    return WSGIHandler()(environ, start_response)


def _post_chunked(address: tuple[str, int], headers: list[tuple[str, str]], body: bytes) -> Answer:
    host, port = address
    lines = [b"POST /callbacks HTTP/1.1", f"Host: {host}:{port}".encode()]
    lines += [f"{name}: {value}".encode() for name, value in headers]
    lines += [b"Transfer-Encoding: chunked", b"Connection: close"]
    chunks = b"".join(
        f"{len(part):x}\r\n".encode() + part + b"\r\n"
        for part in (body[i : i + 20] for i in range(0, len(body), 20))
    )
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + chunks + b"0\r\n\r\n")
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    status_line, _, rest = received.partition(b"\r\n")
    head, _, payload = rest.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        body = b""
        while True:
            size_line, _, payload = payload.partition(b"\r\n")
            size = int(size_line, 16)
            if not size:
                break
            body, payload = body + payload[:size], payload[size + 2 :]
        payload = body
    return Answer(int(status_line.split()[1]), {}, payload)


@pytest.mark.parametrize("name", ["wsgi middleware", "flask", "django"])
def test_a_chunked_body_is_read_whole_and_capped(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from werkzeug.serving import make_server

    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    bc.configure(["env"])
    server = make_server("127.0.0.1", 0, _chunked_apps()[name], threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    address = (server.host, server.port)
    fits, over = b"{" + b"x" * (_SMALL - 2) + b"}", b"{" + b"x" * (_SMALL - 1) + b"}"
    try:
        answers = [
            _post_chunked(address, [("Authorization", basic())], body) for body in (fits, over)
        ]
    finally:
        server.shutdown()
        server.server_close()

    assert answers[0].status == 200
    assert json.loads(answers[0].body) == {"scheme": "basic", "body": fits.decode()}
    assert answers[1].status == 413


def test_django_s_own_body_limit_is_the_one_told(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.test import override_settings

    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    bc.configure(["env"])
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10), watch_for_leaks(SECRETS) as watch:
        answer = DjangoClient(called=False).post([("Authorization", basic())], VOICE_BODY)

    assert answer.status == 413
    told = [r.getMessage() for r in watch.records if r.name == "bandwidth_credentials"]
    assert told == ["callback refused (request): the body is over 10 bytes"]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_flask_s_own_stricter_limit_still_applies(
    monkeypatch: pytest.MonkeyPatch, chunked: bool
) -> None:
    from flask import Flask, request

    from bandwidth_credentials.callbacks.flask import verify_callback

    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    bc.configure(["env"])
    app = Flask("strict")
    app.config["MAX_CONTENT_LENGTH"] = 100

    @app.post("/callbacks")
    @verify_callback  # max_body 1 MiB: the application's 100 bytes still bind
    def view() -> bytes:
        return request.get_data()

    body = b"{" + b" " * 200 + b"}"
    if chunked:
        answer = app.test_client().post(
            "/callbacks",
            input_stream=io.BytesIO(body),
            headers={"Authorization": basic(), "Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},
        )
    else:
        answer = app.test_client().post("/callbacks", data=body, headers={"Authorization": basic()})

    assert answer.status_code == 413


@pytest.mark.parametrize("name", ["wsgi middleware", "flask", "django"])
def test_a_chunked_body_a_server_does_not_dechunk_is_411(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # wsgiref hands the application the raw chunked stream, no Content-Length and no
    # wsgi.input_terminated: the body cannot be read, so it is never verified as empty.
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    bc.configure(["env"])
    server = wsgiref.simple_server.make_server(
        "127.0.0.1", 0, _chunked_apps()[name], handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with watch_for_leaks([*SECRETS, basic()]) as watch:
            answer = _post_chunked(
                server.server_address[:2], [("Authorization", basic())], VOICE_BODY
            )
    finally:
        server.shutdown()
        server.server_close()

    assert answer.status == 411
    assert watch.exception is None


@pytest.mark.parametrize(
    ("terminated", "status"), [(True, 200), (False, 411)], ids=["dechunked", "raw"]
)
def test_django_s_test_client_with_a_chunked_body(
    monkeypatch: pytest.MonkeyPatch, terminated: bool, status: int
) -> None:
    from django.test import Client

    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    bc.configure(["env"])
    extra = {"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked"}
    if terminated:
        # As a dechunking server hands it over: the body to its end (the test client's
        # own stream refuses a read past its declared length).
        extra["wsgi.input_terminated"] = True  # type: ignore[assignment]
        extra["wsgi.input"] = io.BytesIO(VOICE_BODY)  # type: ignore[assignment]

    answer = Client().generic(
        "POST",
        "/callbacks",
        data=VOICE_BODY,
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(),
        **extra,
    )

    assert answer.status_code == status
    if terminated:
        assert json.loads(answer.content) == {"scheme": "basic", "body": VOICE_BODY.decode()}
