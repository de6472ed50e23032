"""Drive every error path of the leak tests with the real ``sentry-sdk`` capturing them.

Run as ``python -m tests.sentry_paths`` from the project root (``test_sentry.py`` does, in
a fresh process, so Sentry's global hooks never touch the rest of the suite). Sentry is
initialised with its default options plus every frame's local variables recorded
unfiltered: ``include_local_variables=True`` before 3.0, ``data_collection=
{"stack_frame_variables": True}`` from 3.0 (which also turns off 3.0's own masking of
names like ``secret``: the library must not depend on it). A transport records events
instead of sending them. Each path raises a library error; the error is captured inside
its ``except`` block, as an application's error handler (or Sentry's own excepthook)
would. Prints one JSON document: the cases run, the events recorded per case, how many of
the library's frames carried their locals, and for every canary found in an event, where
(a path into the event, never the value).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

import bandwidth_credentials
from bandwidth_credentials import Resolver, _oauth, register_provider, verify
from bandwidth_credentials.testing import CANARY_PASSWORD, CANARY_SECRET, FakeClock
from bandwidth_credentials.testing._graph import find_in_text

from .helpers import MemoryProvider
from .misbehaving import answer, misbehaving, redirect
from .oauth_servers import TokenServer, jwt, serve
from .test_files_leaks import broken_json, dotenv_file, env_file, key_file, single_file
from .test_leaks import CANARIES, CLI_ENVS, SCENARIOS

CLIENT_SECRET = "canary-client-secret-9f"


class Recording(Transport):
    """Keeps every event Sentry would send, as the JSON it would send."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.events: list[dict[str, Any]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        for item in envelope.items:
            payload = item.payload.json
            if isinstance(payload, dict):
                self.events.append(payload)

    def flush(self, timeout: float, callback: Any = None) -> None:
        pass

    def kill(self) -> None:
        pass


def _strings(node: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key, f"{path}.<key>")
            yield from _strings(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{path}[{index}]")
    elif isinstance(node, str):
        yield path, node


def _where(event: dict[str, Any], path: str) -> str:
    """The path, with the function of the frame it is in, if any."""
    try:
        marker = ".stacktrace.frames["
        head, _, rest = path.partition(marker)
        index = int(rest.split("]", 1)[0])
        values = int(head.split("values[", 1)[1].split("]", 1)[0])
        frame = event["exception"]["values"][values]["stacktrace"]["frames"][index]
        return f"{path} (in {frame.get('function')} of {frame.get('module')})"
    except (IndexError, KeyError, ValueError, TypeError):
        return path


def _drop_callers_locals(event: dict[str, Any]) -> None:
    """Forget the local variables of this driver's frames and of the test stores: the
    caller holds its own secrets (the canaries it planted). Every other frame, the
    library's and the client libraries' between the public call and the raise, stays."""
    for value in event.get("exception", {}).get("values", []):
        for frame in (value.get("stacktrace") or {}).get("frames", []):
            module = frame.get("module") or ""
            if module == "__main__" or module.startswith("tests."):
                frame.pop("vars", None)


def _library_frames_with_locals(event: dict[str, Any]) -> int:
    """How many of the library's frames in the event carry their local variables: proof
    that this Sentry records them (a Sentry recording none would find no canary either)."""
    count = 0
    for value in event.get("exception", {}).get("values", []):
        for frame in (value.get("stacktrace") or {}).get("frames", []):
            if (frame.get("module") or "").startswith("bandwidth_credentials") and frame.get(
                "vars"
            ):
                count += 1
    return count


# -- the error paths ---------------------------------------------------------------------

Case = tuple[str, Callable[[], object]]


def _source_cases() -> list[Case]:
    cases: list[Case] = []
    for name, values in SCENARIOS:

        def run(values: dict[str, object] = values) -> None:
            MemoryProvider.stores["a"] = values
            resolver = Resolver(["mem:a"])
            for service in ("voice", "messaging", "numbers", "account"):
                resolver.get_auth(service)
            resolver.resolve()

        cases.append((f"store: {name}", run))

    def foreign() -> None:
        MemoryProvider.fail["b"] = ValueError(f"could not parse {CANARY_PASSWORD}")
        Resolver(["mem:b"]).get_auth("voice")

    cases.append(("store: foreign exception", foreign))
    for index, env in enumerate(CLI_ENVS):

        def from_env(env: dict[str, str] = env) -> None:
            _environment(env)
            resolver = Resolver(["env"])
            for service in ("voice", "messaging", "numbers"):
                resolver.get_auth(service)

        cases.append((f"env {index}", from_env))

    def dotenv_twice() -> None:
        path = Path(tempfile.mkdtemp()) / "creds.env"
        path.write_text(
            f"BW_ACCOUNT_ID=1\nBW_PASSWORD={CANARY_PASSWORD}\nBW_PASSWORD={CANARY_SECRET}\n",
            encoding="utf-8",
        )
        Resolver([f"dotenv:{path}"]).get_auth("voice")

    def secret_file_missing() -> None:
        _environment(
            {"BW_ACCOUNT_ID": "1", "BW_USERNAME": "j", "BW_PASSWORD_FILE": "/nonexistent/x"}
        )
        Resolver(["env"]).get_auth("voice")

    cases += [("dotenv: one name twice", dotenv_twice), ("env: *_FILE", secret_file_missing)]
    callback_values = [
        {"callbackUsername": "a:" + CANARY_SECRET, "callbackPassword": CANARY_PASSWORD},
        {"callbackUsername": "a", "callbackPassword": CANARY_PASSWORD + "\u200b"},
        {"webhookSecret": CANARY_SECRET + "\x07bell"},
        {"tfvWebhookSecret": CANARY_PASSWORD + "\u00e9" * 40},
    ]
    for index, values in enumerate(callback_values):

        def callback(values: dict[str, str] = values) -> None:
            MemoryProvider.stores["cb"] = values
            Resolver(["mem:cb"]).get_callback_auth().verify({}, b"{}")

        cases.append((f"callbacks: unusable value {index}", callback))

    def callback_body() -> None:
        MemoryProvider.stores["cb"] = {"callbackUsername": "u", "callbackPassword": CANARY_SECRET}
        Resolver(["mem:cb"]).get_callback_auth().verify({}, "not bytes")  # type: ignore[arg-type]

    cases.append(("callbacks: a body that is not bytes", callback_body))
    for arrange in (key_file, single_file, broken_json, env_file, dotenv_file):

        def undecodable(arrange: Any = arrange) -> None:
            _environment({})
            patch = pytest.MonkeyPatch()
            try:
                directory = Path(tempfile.mkdtemp())
                patch.chdir(directory)
                Resolver(arrange(directory, patch)).get_auth("voice")
            finally:
                patch.undo()

        cases.append((f"files: {arrange.__name__}", undecodable))
    return cases


def _environment(values: dict[str, str]) -> None:
    for name in [n for n in os.environ if n.upper().startswith(("BW_", "BANDWIDTH_"))]:
        del os.environ[name]
    os.environ.update(values)


def _oauth_cases(
    token_server: TokenServer,
    api_url: str,
    clock: FakeClock,
    expiring: list[Callable[[], None]],
) -> list[Case]:
    token_url = token_server.url

    def oauth(secret: str = CLIENT_SECRET) -> Resolver:
        _environment(
            {
                "BW_ACCOUNT_ID": "920012",
                "BW_CLIENT_ID": "client-abc",
                "BW_CLIENT_SECRET": secret,
                "BW_TOKEN_URL": token_url,
                "BW_VOICE_BASE_URL": api_url + "/api/v2/accounts/920012",
            }
        )
        return Resolver(["env"])

    def refused_headers() -> None:
        oauth(CANARY_SECRET).get_auth("voice").headers()

    def refused_requests() -> None:
        voice = oauth(CANARY_SECRET).get_auth("voice")
        requests.get(voice.url("calls"), auth=voice.requests_auth(), timeout=10)

    def refused_httpx() -> None:
        voice = oauth(CANARY_SECRET).get_auth("voice")
        httpx.get(voice.url("calls"), auth=voice.httpx_auth(), timeout=10)

    def refused_httpx_async() -> None:
        voice = oauth(CANARY_SECRET).get_auth("voice")

        async def call() -> None:
            async with httpx.AsyncClient(timeout=10) as client:
                await client.get(voice.url("calls"), auth=voice.httpx_auth())

        asyncio.run(call())

    def refused_aheaders() -> None:
        voice = oauth(CANARY_SECRET).get_auth("voice")
        asyncio.run(voice.aheaders())

    def refused_sdk() -> None:
        import bandwidth

        voice = oauth(CANARY_SECRET).get_auth("voice")
        with bandwidth.ApiClient(voice.sdk_configuration()) as client:
            bandwidth.CallsApi(client).list_calls("920012")

    def refused_claims() -> None:
        oauth(CANARY_SECRET).get_auth("voice").token_claims()

    def refused_verify() -> None:
        results = verify(["voice"], resolver=oauth(CANARY_SECRET))
        raise bandwidth_credentials.CredentialsError(results[0].detail)

    def refresh_refused_after_401(client: str) -> Callable[[], None]:
        """The API refuses the token (401) and, meanwhile, the token expires and the
        token endpoint starts refusing the client: the retry's refresh raises inside the
        adapter's flow, whose frames hold the refused and the new ``Authorization``."""

        def run() -> None:
            token_server.mode = "ok"
            voice = oauth().get_auth("voice")
            voice.headers()  # a token (a JWT holding a canary) is now cached

            def expire() -> None:  # called by the API as it answers 401
                clock.advance(7200)
                token_server.mode = "401"

            expiring[0] = expire
            url = voice.url("calls")
            if client == "requests":
                requests.get(url, auth=voice.requests_auth(), timeout=10)
            elif client == "httpx":
                httpx.get(url, auth=voice.httpx_auth(), timeout=10)
            else:

                async def call() -> None:
                    async with httpx.AsyncClient(timeout=10) as http:
                        await http.get(url, auth=voice.httpx_auth())

                asyncio.run(call())

        return run

    def expired_then_refused() -> None:
        token_server.mode = "ok"
        voice = oauth().get_auth("voice")
        voice.headers()
        clock.advance(7200)  # past the token's expiry: nothing valid is left to serve
        token_server.mode = "401"
        voice.headers()

    return [
        ("token: refused refresh after a 401, requests", refresh_refused_after_401("requests")),
        ("token: refused refresh after a 401, httpx", refresh_refused_after_401("httpx")),
        ("token: refused refresh after a 401, async", refresh_refused_after_401("async")),
        ("token: expired, refresh refused", expired_then_refused),
        ("token: refused, headers()", refused_headers),
        ("token: refused, requests_auth()", refused_requests),
        ("token: refused, httpx_auth()", refused_httpx),
        ("token: refused, httpx_auth() async", refused_httpx_async),
        ("token: refused, aheaders()", refused_aheaders),
        ("token: refused, sdk_configuration()", refused_sdk),
        ("token: refused, token_claims()", refused_claims),
        ("token: refused, verify()", refused_verify),
    ]


def _failing_endpoint_cases() -> Iterator[tuple[str, Callable[[], object], Any]]:
    """The token endpoint failing in other ways: 500, a redirect, not JSON."""
    odd = jwt({"accounts": ["920012"], "sub": CANARY_PASSWORD, "exp": 10**400})
    behaviours = {
        "exp is not a time": answer(200, json.dumps({"access_token": odd}).encode()),
        "500": answer(500, b'{"error": "server_error"}'),
        "redirect": redirect("http://127.0.0.2:9/elsewhere"),
        "not JSON": answer(200, b"<html/>"),
    }
    for name, behaviour in behaviours.items():

        def run(url: str) -> None:
            _environment(
                {
                    "BW_ACCOUNT_ID": "920012",
                    "BW_CLIENT_ID": "client-abc",
                    "BW_CLIENT_SECRET": CANARY_SECRET,
                    "BW_TOKEN_URL": url + "/token",
                }
            )
            Resolver(["env"]).get_auth("voice").headers()

        yield f"token: {name}", run, behaviour


def _callback_verify_cases() -> list[Case]:
    """Callback requests refused by ``verify()``/``averify()`` and ``for_call()`` with an
    unusable pair, with the configured secrets (canaries) at hand in the library's frames."""
    import base64
    import hashlib
    import hmac

    stores = {
        "basic": {"callbackUsername": "cb-user", "callbackPassword": CANARY_PASSWORD},
        "previous": {
            "callbackUsername": "cb-user",
            "callbackPassword": CANARY_PASSWORD,
            "callbackPasswordPrevious": CANARY_SECRET,
        },
        "hmac": {"webhookSecret": CANARY_SECRET},
        "tfv": {"tfvWebhookSecret": CANARY_PASSWORD},
        "long": {"callbackUsername": "cb-user", "callbackPassword": CANARY_PASSWORD * 40},
    }
    near = "Basic " + base64.b64encode(("cb-user:" + CANARY_PASSWORD + "x").encode()).decode()
    good = "Basic " + base64.b64encode(("cb-user:" + CANARY_PASSWORD).encode()).decode()
    wrong_mac = base64.b64encode(hmac.new(b"k", b"{}", hashlib.sha256).digest()).decode()
    requests_: list[tuple[str, str, object]] = [
        ("basic", "mismatch", {"Authorization": near}),
        ("basic", "missing", {}),
        ("basic", "duplicate", [("Authorization", good), ("Authorization", good)]),
        ("basic", "not basic", {"Authorization": "Bearer " + CANARY_PASSWORD}),
        ("previous", "mismatch", {"authorization": near}),
        ("hmac", "mismatch", {"X-Bandwidth-Signature": wrong_mac}),
        ("tfv", "malformed", {"X-Bandwidth-Signature": "00" * 31}),
        ("hmac", "signature mismatch", {"X-Bandwidth-Signature-SHA-256": wrong_mac}),
        ("tfv", "signature mismatch", {"x-bandwidth-signature-hmac-sha256": "00" * 32}),
    ]
    right_mac = base64.b64encode(hmac.new(CANARY_SECRET.encode(), b"{}", hashlib.sha256).digest())
    cases: list[Case] = []
    for store, label, headers in requests_:

        def refused(store: str = store, headers: object = headers) -> None:
            MemoryProvider.stores["cbv"] = stores[store]
            Resolver(["mem:cbv"]).get_callback_auth().verify(headers, b"{}")  # type: ignore[arg-type,unused-ignore]

        def arefused(store: str = store, headers: object = headers) -> None:
            MemoryProvider.stores["cbv"] = stores[store]
            auth = Resolver(["mem:cbv"]).get_callback_auth()
            asyncio.run(auth.averify(headers, b"{}"))  # type: ignore[arg-type,unused-ignore]

        cases.append((f"callbacks: verify {store} {label}", refused))
        cases.append((f"callbacks: averify {store} {label}", arefused))

    def warm_then_refused() -> None:  # the fast path first (credentials cached), then refused
        MemoryProvider.stores["cbv"] = stores["basic"]
        auth = Resolver(["mem:cbv"]).get_callback_auth()
        auth.verify({"Authorization": good}, b"{}")
        auth.verify({"Authorization": near}, b"{}")

    def warm_then_wrong_signature() -> None:  # the HMAC shortcut raises the mismatch
        MemoryProvider.stores["cbv"] = stores["hmac"]
        auth = Resolver(["mem:cbv"]).get_callback_auth()
        auth.verify({"X-Bandwidth-Signature-SHA-256": right_mac.decode()}, b"{}")
        auth.verify({"X-Bandwidth-Signature-SHA-256": wrong_mac}, b"{}")

    def text_body() -> None:  # a caller's mistake, with the right credentials in the headers
        MemoryProvider.stores["cbv"] = stores["basic"]
        auth = Resolver(["mem:cbv"]).get_callback_auth()
        auth.verify({"Authorization": good}, "{}")  # type: ignore[arg-type]

    def atext_body() -> None:
        MemoryProvider.stores["cbv"] = stores["basic"]
        auth = Resolver(["mem:cbv"]).get_callback_auth()
        asyncio.run(auth.averify({"Authorization": good}, "{}"))  # type: ignore[arg-type]

    def for_call_too_long() -> None:
        MemoryProvider.stores["cbv"] = stores["long"]
        Resolver(["mem:cbv"]).get_callback_auth().for_call()

    def for_call_missing() -> None:
        MemoryProvider.stores["cbv"] = stores["hmac"]
        Resolver(["mem:cbv"]).get_callback_auth().for_call()

    return [
        *cases,
        ("callbacks: verify after a match, refused", warm_then_refused),
        ("callbacks: verify after a signature matched, refused", warm_then_wrong_signature),
        ("callbacks: verify, a text body", text_body),
        ("callbacks: averify, a text body", atext_body),
        ("callbacks: for_call() over 1024 characters", for_call_too_long),
        ("callbacks: for_call() without a pair", for_call_missing),
    ]


def _rotation_cases() -> Iterator[tuple[str, Callable[[], object]]]:
    """``rotate()`` failing at each step it can fail at, against the loopback Bandwidth:
    the old secret, the admin secret, the created secret and the access tokens (JWTs
    carrying a canary) are all at hand in the library's frames."""
    from bandwidth_credentials._rotate import rotate
    from bandwidth_credentials.testing import today_is

    from . import credentials_api
    from . import rotation_kit as kit

    def minted(claims: dict[str, Any]) -> str:  # tokens carry a canary: they are secrets
        return jwt({**claims, "note": CANARY_PASSWORD})

    credentials_api.jwt = minted  # type: ignore[attr-defined]

    def scenario(
        arrange: Callable[[Any, Path, str], dict[str, Any]],
    ) -> Callable[[], object]:
        def run() -> object:
            _environment({})
            with today_is((2026, 12, 6)), kit.bandwidth() as (server, url):
                directory = Path(tempfile.mkdtemp())
                store = directory / "bandwidth.json"
                values = {
                    "BW_ACCOUNT_ID": "920012",
                    "BW_CLIENT_ID": kit.CLIENT_ID,
                    "BW_CLIENT_SECRET": kit.OLD_SECRET,
                    "BW_CLIENT_SECRET_EXPIRES_AT": kit.OLD_EXPIRY,
                    "BW_API_URL": url,
                }
                store.write_text(json.dumps(values))
                store.chmod(0o600)
                options = arrange(server, directory, url)
                return rotate(f"file:{store}", **options)

        return run

    def admin(directory: Path, url: str, secret: str = kit.ADMIN_SECRET) -> str:
        path = directory / "admin.json"
        document = {"client_id": kit.ADMIN_ID, "client_secret": secret, "api_url": url}
        path.write_text(json.dumps(document))
        path.chmod(0o600)
        return f"file:{path}"

    def admin_refused(server: Any, directory: Path, url: str) -> dict[str, Any]:
        return {"admin_source": admin(directory, url, CANARY_SECRET)}

    def own_token_lacks_role(server: Any, directory: Path, url: str) -> dict[str, Any]:
        return {}

    def create_refused(server: Any, directory: Path, url: str) -> dict[str, Any]:
        server.refuse_create = 409
        return {"admin_source": admin(directory, url)}

    def two_active(server: Any, directory: Path, url: str) -> dict[str, Any]:
        server.add_client(kit.CLIENT_ID, CANARY_SECRET)
        return {"admin_source": admin(directory, url)}

    def pending_refused(server: Any, directory: Path, url: str) -> dict[str, Any]:
        path = directory / "bandwidth.json"
        values = json.loads(path.read_text())
        values["BW_CLIENT_SECRET_PENDING"] = credentials_api.new_secret(7)  # unknown there
        path.write_text(json.dumps(values))
        return {"admin_source": admin(directory, url)}

    def promote_race(server: Any, directory: Path, url: str) -> dict[str, Any]:
        path = directory / "bandwidth.json"

        def race(done: str, detail: str) -> None:
            if done == "prove":
                values = json.loads(path.read_text())
                values["BW_NOTE"] = "written by someone else"
                path.write_text(json.dumps(values))

        return {"admin_source": admin(directory, url), "on_step": race}

    def admin_elsewhere(server: Any, directory: Path, url: str) -> dict[str, Any]:
        return {"admin_source": admin(directory, "http://127.0.0.2:9")}

    def no_client_id(server: Any, directory: Path, url: str) -> dict[str, Any]:
        path = directory / "bandwidth.json"
        values = json.loads(path.read_text())
        values["voice"] = {"client_id": kit.CLIENT_ID, "client_secret": CANARY_SECRET}
        del values["BW_CLIENT_ID"]  # a secret at the top level, its client id only nested
        path.write_text(json.dumps(values))
        return {}

    for name, arrange in (
        ("admin token refused", admin_refused),
        ("own token lacks the role", own_token_lacks_role),
        ("create refused", create_refused),
        ("two active secrets", two_active),
        ("pending secret refused", pending_refused),
        ("promote race", promote_race),
        ("admin on another host", admin_elsewhere),
        ("no client id at the top level", no_client_id),
    ):
        yield f"rotate: {name}", scenario(arrange)

    from bandwidth_credentials._secret import Secret
    from bandwidth_credentials.rotation import client_credentials, with_new_secret

    halves = {"clientSecret": kit.OLD_SECRET, "voice": {"clientSecret": CANARY_SECRET}}
    yield (
        "rotate: client_credentials() without a client id",
        (lambda: client_credentials(dict(halves), "secret bandwidth/prod")),
    )
    yield (
        "rotate: with_new_secret() without a client id",
        (lambda: with_new_secret(dict(halves), Secret(CANARY_PASSWORD), None, "secret x")),
    )


def _every_local_variable() -> dict[str, Any]:
    """The ``init`` option recording every frame's locals, unfiltered, in this Sentry."""
    major = int(sentry_sdk.VERSION.split(".")[0])
    if major >= 3:  # 3.0 replaced include_local_variables by data_collection
        return {"data_collection": {"stack_frame_variables": True}}
    return {"include_local_variables": True}


def main() -> None:
    warnings.simplefilter("ignore")
    register_provider("mem", MemoryProvider)
    transport = Recording()
    sentry_sdk.init(
        dsn="http://public@127.0.0.1:9/1",
        transport=transport,
        **_every_local_variable(),
    )
    from .rotation_kit import CANARIES as ROTATION_CANARIES

    canaries = (*CANARIES, CANARY_SECRET, *ROTATION_CANARIES)
    report: dict[str, Any] = {
        "cases": [],
        "raised": {},
        "events": {},
        "leaks": [],
        "library_frames_with_locals": 0,
    }

    def run(name: str, action: Callable[[], object]) -> None:
        before = len(transport.events)
        raised = False
        try:
            action()
        except Exception as exc:  # what an application's error handler does
            raised = True
            sentry_sdk.capture_exception(exc)
        report["raised"][name] = raised
        sentry_sdk.flush()
        report["cases"].append(name)
        report["events"][name] = len(transport.events) - before
        for event in transport.events[before:]:
            report["library_frames_with_locals"] += _library_frames_with_locals(event)
            _drop_callers_locals(event)
            for path, text in _strings(event, "event"):
                for leak in find_in_text(text, canaries, path):
                    report["leaks"].append([name, _where(event, leak.where)])

    for name, action in _source_cases():
        run(name, action)
    for name, action in _callback_verify_cases():
        run(name, action)
    for name, action in _rotation_cases():
        run(name, action)
    token = TokenServer("client-abc", CLIENT_SECRET)
    token.claims = {"accounts": ["920012"], "sub": CANARY_PASSWORD}  # tokens are secrets too
    clock = FakeClock()
    _oauth.clock = clock  # the token managers' clock: tokens expire when the driver says
    expiring: list[Callable[[], None]] = [lambda: None]

    def refuse(conn: Any, request: Any, server: Any) -> None:
        expiring[0]()
        expiring[0] = lambda: None
        answer(401, b"{}")(conn, request, server)

    with serve(token) as root, misbehaving(refuse) as api:
        token.url = root + "/api/v1/oauth2/token"
        for name, action in _oauth_cases(token, api.url, clock, expiring):
            run(name, action)
    for name, action, behaviour in _failing_endpoint_cases():
        with misbehaving(behaviour) as server:
            run(name, lambda action=action, url=server.url: action(url))  # type: ignore[misc]
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
