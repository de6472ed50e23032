"""Every consumer of credentials sends them only where their own source said.

One table, one rule: the credentials sit in one source (a ``.env`` file) with their
endpoints on 127.0.0.1; another source (the environment) sets every endpoint of the same
services to 127.0.0.2. Each consumer is driven through its real client (requests, httpx
sync and async, the official ``bandwidth-sdk``, ``verify()``, ``bwcreds check --online``,
``bwcreds exec``'s child, the token request): 127.0.0.2 receives nothing, ever, and the
consumer reached 127.0.0.1.

A consumer added without joining the table fails :func:`test_every_consumer_is_in_the_table`:
it enumerates ``ServiceAuth``'s public names, the package's public callables, the
resolver's methods and ``bwcreds``' subcommands, and requires each to be either a row
here or named, with why, as sending nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import bandwidth_credentials
from bandwidth_credentials import CredentialNotFoundError, Resolver, ServiceAuth, verify

from .misbehaving import Server, answer, misbehaving
from .oauth_servers import CLIENT_ID, CLIENT_SECRET, TokenServer, serve

httpx = pytest.importorskip("httpx")
requests = pytest.importorskip("requests")
bandwidth = pytest.importorskip("bandwidth")

pytestmark = pytest.mark.filterwarnings("ignore:Bandwidth decommission")

BWCREDS = str(Path(sys.executable).with_name("bwcreds"))
ACCOUNT = "920012"
PASSWORD = "consumer-password-7c"
TIMEOUT = 10.0


@dataclass
class World:
    """The servers, the sources and what the process environment holds."""

    kind: str  # "oauth" or "basic"
    sources: list[str]
    api: Server  # 127.0.0.1: the service's own API (401 once, then 200)
    token: TokenServer  # 127.0.0.1: the credentials' own token endpoint
    stray: Server  # 127.0.0.2: every endpoint the other source names
    environ: dict[str, str]  # for child processes: the stray settings included
    path: Path  # the .env file holding the credentials

    def without_account(self) -> None:
        """No account id anywhere: resolving asks the token endpoint which account the
        client may use (its ``accounts`` claim), so resolution itself sends the secret."""
        lines = self.path.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if not line.startswith("BW_ACCOUNT_ID=")]
        self.path.write_text("\n".join(kept) + "\n", encoding="utf-8")
        self.token.claims = {"accounts": [ACCOUNT]}

    def resolver(self) -> Resolver:
        return Resolver(self.sources)

    def voice(self) -> ServiceAuth:
        return self.resolver().get_auth("voice")

    def reached(self) -> int:
        """Requests that arrived where the credentials' source points."""
        return len(self.api.requests) + self.token.requests


def _credentials(kind: str, style: str, api: Server, token: TokenServer) -> str:
    """The ``.env`` holding the credentials. ``explicit``: every URL spelled out.
    ``hosts``: the token endpoint and the Voice and Messaging hosts given as host
    overrides (``BW_API_URL``, ...), the paths following from the schema, so an explicit
    URL in another source is what a consumer that mixes sources would pick up."""
    lines = [f"BW_ACCOUNT_ID={ACCOUNT}", f"BW_NUMBERS_BASE_URL={api.url}/api/accounts/{ACCOUNT}"]
    if style == "explicit":
        lines += [
            f"BW_VOICE_BASE_URL={api.url}/api/v2/accounts/{ACCOUNT}",
            f"BW_MESSAGING_BASE_URL={api.url}/api/v2/users/{ACCOUNT}",
            f"BW_TOKEN_URL={token.url}",
        ]
    else:
        lines += [
            f"BW_VOICE_URL={api.url}",
            f"BW_MESSAGING_URL={api.url}",
            f"BW_API_URL={token.url.removesuffix('/api/v1/oauth2/token')}",
        ]
    if kind == "oauth":
        lines += [f"BW_CLIENT_ID={CLIENT_ID}", f"BW_CLIENT_SECRET={CLIENT_SECRET}"]
    else:
        lines += ["BW_USERNAME=jdoe", f"BW_PASSWORD={PASSWORD}"]
    return "\n".join(lines) + "\n"


def _stray(stray: Server) -> dict[str, str]:
    """Every endpoint setting, for the same services, in the other source."""
    return {
        "BW_TOKEN_URL": f"{stray.url}/api/v1/oauth2/token",
        "BW_API_URL": stray.url,
        "BW_VOICE_URL": stray.url,
        "BW_MESSAGING_URL": stray.url,
        "BW_VOICE_BASE_URL": f"{stray.url}/api/v2/accounts/{ACCOUNT}",
        "BW_MESSAGING_BASE_URL": f"{stray.url}/api/v2/users/{ACCOUNT}",
        "BW_NUMBERS_BASE_URL": f"{stray.url}/api/accounts/{ACCOUNT}",
        "BW_ACCOUNT_BASE_URL": f"{stray.url}/api/accounts/{ACCOUNT}",
    }


@pytest.fixture(
    params=[
        ("oauth", "explicit", "credentials first"),
        ("oauth", "hosts", "credentials first"),
        ("oauth", "hosts", "stray first"),
        ("basic", "hosts", "stray first"),
    ],
    ids=", ".join,
)
def world(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[World]:
    kind, style, order = request.param
    token = TokenServer(CLIENT_ID, CLIENT_SECRET)
    with (
        serve(token) as token_root,
        misbehaving(answer(401, b"{}"), answer(200, b"[]")) as api,
        misbehaving(
            answer(200, b'{"access_token": "stray", "expires_in": 3600}'), host="127.0.0.2"
        ) as stray,
    ):
        token.url = token_root + "/api/v1/oauth2/token"
        path = tmp_path / "creds.env"
        path.write_text(_credentials(kind, style, api, token), encoding="utf-8")
        creds = f"dotenv:{path}"
        sources = [creds, "env"] if order == "credentials first" else ["env", creds]
        for name in [n for n in os.environ if n.upper().startswith(("BW_", "BANDWIDTH_"))]:
            monkeypatch.delenv(name)
        for name, value in _stray(stray).items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        yield World(kind, sources, api, token, stray, dict(os.environ), path)
        bandwidth_credentials.configure(resolver=Resolver(["env"]))  # let go of the files
        assert stray.requests == [], f"127.0.0.2 received {len(stray.requests)} request(s)"


# -- the consumers ---------------------------------------------------------------------


def _headers(world: World) -> None:
    voice = world.voice()
    requests.get(voice.url("calls"), headers=voice.headers(), timeout=TIMEOUT)


def _authorization(world: World) -> None:
    voice = world.voice()
    requests.get(
        voice.url("calls"), headers={"Authorization": voice.authorization}, timeout=TIMEOUT
    )


def _aheaders(world: World) -> None:
    voice = world.voice()

    async def call() -> None:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            await client.get(voice.url("calls"), headers=await voice.aheaders())

    asyncio.run(call())


def _requests_auth(world: World) -> None:
    voice = world.voice()
    requests.post(voice.url("calls"), data=b"{}", auth=voice.requests_auth(), timeout=TIMEOUT)


def _httpx_auth(world: World) -> None:
    voice = world.voice()
    with httpx.Client(timeout=TIMEOUT) as client:
        client.post(voice.url("calls"), content=b"{}", auth=voice.httpx_auth())


def _httpx_auth_async(world: World) -> None:
    voice = world.voice()

    async def call() -> None:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            await client.post(voice.url("calls"), content=b"{}", auth=voice.httpx_auth())

    asyncio.run(call())


def _sdk_configuration(world: World) -> None:
    resolver = world.resolver()
    with (
        bandwidth.ApiClient(resolver.get_auth("voice").sdk_configuration()) as client,
        contextlib.suppress(bandwidth.ApiException),  # the API's first answer is 401
    ):
        bandwidth.CallsApi(client).list_calls(ACCOUNT)
    with bandwidth.ApiClient(resolver.get_auth("voice").sdk_configuration()) as client:
        bandwidth.CallsApi(client).list_calls(ACCOUNT)
    messaging = resolver.get_auth("messaging").sdk_configuration()
    # The API answers 401, or a list where the SDK expects an object (ValueError): where
    # the request went is what counts.
    with (
        bandwidth.ApiClient(messaging) as client,
        contextlib.suppress(bandwidth.ApiException, ValueError),
    ):
        bandwidth.MessagesApi(client).list_messages(ACCOUNT)


def _without_account(world: World, action: Callable[[], object]) -> None:
    """Run ``action`` with no account id anywhere: OAuth asks the token endpoint (the
    account comes from the token); Basic has nothing to ask and is not found."""
    world.without_account()
    if world.kind == "oauth":
        action()
        return
    with pytest.raises(CredentialNotFoundError):
        action()


def _discovered(world: World) -> None:
    _without_account(world, lambda: world.resolver().get_auth("voice").headers())


def _discovered_async(world: World) -> None:
    _without_account(world, lambda: asyncio.run(world.resolver().aget_auth("voice")))


def _discovered_resolve(world: World) -> None:
    def resolve() -> None:
        outcome = world.resolver().resolve().services["voice"]
        if isinstance(outcome, Exception):  # per-service problems are returned, not raised
            raise outcome

    _without_account(world, resolve)


def _discovered_default(world: World) -> None:
    bandwidth_credentials.configure(world.sources)
    _without_account(world, lambda: bandwidth_credentials.get_auth("voice").headers())


def _discovered_default_async(world: World) -> None:
    bandwidth_credentials.configure(world.sources)
    _without_account(world, lambda: asyncio.run(bandwidth_credentials.aget_auth("voice")))


def _token_claims(world: World) -> None:
    world.voice().token_claims()


def _verify(world: World) -> None:
    verify(resolver=world.resolver())


def _resolver_verify(world: World) -> None:
    world.resolver().verify(["voice", "numbers"])


def _token_request(world: World) -> None:
    voice = world.voice()
    voice.headers()
    voice.invalidate(voice.authorization)
    voice.current().headers()


def _cli(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BWCREDS, *args],
        capture_output=True,
        text=True,
        env=world.environ,
        timeout=120,
        check=False,
    )


def _check_online(world: World) -> None:
    result = _cli(world, "check", "--online", "--sources", ",".join(world.sources))
    assert "configuration error" not in result.stderr, result.stderr


def _token(world: World) -> None:
    result = _cli(world, "token", "--sources", ",".join(world.sources), "--json")
    assert "configuration error" not in result.stderr, result.stderr
    assert (result.returncode == 0) is (world.kind == "oauth"), result.stderr


def _rotate(world: World) -> None:
    # A dry run reads the store and proves the current secret with a token; it creates
    # and writes nothing.
    source = f"file:{world.path}?format=dotenv"
    result = _cli(world, "rotate", "--source", source, "--dry-run", "--json")
    assert "Traceback" not in result.stderr, result.stderr


# The child resolves its credentials as any program using this library would, then
# calls the API with plain requests.
CHILD = (
    "import requests\n"
    "from bandwidth_credentials import get_auth, verify\n"
    "voice = get_auth('voice')\n"
    "requests.get(voice.url('calls'), headers=voice.headers(), timeout=10)\n"
    "verify(['voice', 'messaging', 'numbers'])\n"
)


def _exec(world: World) -> None:
    sources = ",".join(world.sources)
    result = _cli(world, "exec", "--sources", sources, "--", sys.executable, "-c", CHILD)
    assert result.returncode == 0, result.stderr


CONSUMERS: dict[str, Callable[[World], None]] = {
    "ServiceAuth.headers": _headers,
    "ServiceAuth.authorization": _authorization,
    "ServiceAuth.aheaders": _aheaders,
    "ServiceAuth.requests_auth": _requests_auth,
    "ServiceAuth.httpx_auth": _httpx_auth,
    "ServiceAuth.httpx_auth (async)": _httpx_auth_async,
    "ServiceAuth.sdk_configuration": _sdk_configuration,
    "ServiceAuth.token_claims": _token_claims,
    "ServiceAuth.invalidate": _token_request,
    "Resolver.get_auth": _discovered,
    "Resolver.aget_auth": _discovered_async,
    "Resolver.resolve": _discovered_resolve,
    "get_auth": _discovered_default,
    "aget_auth": _discovered_default_async,
    "verify": _verify,
    "Resolver.verify": _resolver_verify,
    "bwcreds check": _check_online,
    "bwcreds exec": _exec,
    "bwcreds token": _token,
    "bwcreds rotate": _rotate,
}

# Rows that only ask for an OAuth token: with Basic credentials they send nothing.
TOKENS_ONLY = frozenset(
    {
        "ServiceAuth.token_claims",
        "ServiceAuth.invalidate",
        "Resolver.get_auth",
        "Resolver.aget_auth",
        "Resolver.resolve",
        "get_auth",
        "aget_auth",
        "bwcreds token",
        "bwcreds rotate",
    }
)

# Public names that send nothing anywhere, and why.
SENDS_NOTHING: dict[str, str] = {
    **{
        f"ServiceAuth.{name}": "a plain attribute (no secret, no request)"
        for name in (
            "account_id",
            "base_url",
            "client_id",
            "environment",
            "kind",
            "provenance",
            "scheme",
            "service",
            "username",
        )
    },
    "ServiceAuth.password": "the caller's own value to send; base_url says where",
    "ServiceAuth.url": "builds a URL on base_url",
    "ServiceAuth.current": "a lookup in the resolver",
    **{
        f"Resolver.{name}": "resolution only: sources are read, nothing is sent to Bandwidth"
        for name in ("close", "get_auth_nowait", "invalidate", "reload", "skipped")
    },
    **dict.fromkeys(
        (
            "available_providers",
            "configure",
            "invalidate",
            "parse_source",
            "register_provider",
            "reload",
            "unregister_provider",
        ),
        "resolution or registry only",
    ),
    "get_callback_auth": "checks what Bandwidth sends to you; sends nothing anywhere",
    "Resolver.get_callback_auth": "checks what Bandwidth sends to you; sends nothing anywhere",
    "bwcreds callback": "signs a body locally (for curl); sends nothing",
    "bwcreds explain": "reads sources, prints where each field came from",
    "bwcreds providers": "lists the installed schemes",
}


@pytest.mark.parametrize("consumer", list(CONSUMERS))
def test_credentials_go_only_where_their_source_points(world: World, consumer: str) -> None:
    CONSUMERS[consumer](world)

    assert world.stray.requests == []
    if world.kind == "oauth" or consumer not in TOKENS_ONLY:
        assert world.reached() > 0  # the consumer did use the credentials


def _public(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def _subcommands() -> set[str]:
    from bandwidth_credentials._cli import _parser

    found: set[str] = set()
    for action in _parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            found |= set(action.choices)
    return {f"bwcreds {name}" for name in found}


def test_every_consumer_is_in_the_table() -> None:
    package = {
        name
        for name in bandwidth_credentials.__all__
        if inspect.isfunction(getattr(bandwidth_credentials, name))
    }
    public = (
        {f"ServiceAuth.{name}" for name in _public(ServiceAuth)}
        | {f"Resolver.{name}" for name in _public(Resolver)}
        | package
        | _subcommands()
    )
    known = {name.split(" (")[0] for name in CONSUMERS} | set(SENDS_NOTHING)

    assert sorted(public - known) == []  # add a row to CONSUMERS (or say why it sends nothing)
    assert sorted(known - public) == []  # the table names nothing that is gone
