"""Every wait bounded, every read capped: real hvac against misbehaving loopback servers.

The server (``tests.misbehaving``) hangs, trickles a valid answer one byte at a time,
resets mid-body, streams 100 MB, or answers 429/503 with ``Retry-After``. Each test
asserts the elapsed time against the documented bound (generously: the machines are
noisy) and that no canary (the token, the secret's values) leaks.
"""

from __future__ import annotations

import contextlib
import email.utils
import os
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.misbehaving import (
    answer,
    hang,
    huge,
    json_body,
    misbehaving,
    redirect,
    reset_mid_body,
    retry_after,
    trickle,
)

from bandwidth_credentials import (
    CredentialsError,
    Resolver,
    SourceAuthenticationError,
    SourceFormatError,
    SourceUnavailableError,
    parse_source,
)
from bandwidth_credentials.testing import (
    CANARY_PASSWORD,
    CANARY_SECRET,
    check_no_leaks,
    fetch_failing,
    forked_during,
)
from bandwidth_credentials_vault import VaultProvider
from bandwidth_credentials_vault._provider import RETRY_WAIT_CAP

TOKEN = CANARY_SECRET  # the Vault token is a canary too
CREDS = {"accountId": "920012", "username": "jdoe", "password": CANARY_PASSWORD}
# One body that serves both auth/token/lookup-self (ttl 0: never expires) and a KV v2 read.
SECRET = json_body({"data": {"data": CREDS, "metadata": {"version": 3}, "ttl": 0}})
URI = "vault:secret/bandwidth/prod?kv=2"
CANARIES = (CANARY_PASSWORD, CANARY_SECRET)


@pytest.fixture
def vault_at(monkeypatch: pytest.MonkeyPatch, home: Path) -> Callable[[str], None]:
    """Point VAULT_ADDR at a server, with the canary token."""

    def point(url: str) -> None:
        monkeypatch.setenv("VAULT_ADDR", url)
        monkeypatch.setenv("VAULT_TOKEN", TOKEN)

    return point


def provider(timeout: float = 2.0, uri: str = URI) -> VaultProvider:
    return VaultProvider(parse_source(f"{uri}&timeout={timeout:g}"))


def failing(source: VaultProvider) -> tuple[CredentialsError, float]:
    """Fetch, expecting a library error; the error and the seconds it took."""
    return fetch_failing(source.fetch, CANARIES)


def test_a_trickling_answer_ends_at_the_deadline(vault_at: Callable[[str], None]) -> None:
    with misbehaving(trickle(SECRET, interval=1.5)) as server:
        vault_at(server.url)

        error, elapsed = failing(provider(timeout=2.0))

        arrived = len(server.requests)
    assert isinstance(error, SourceUnavailableError)
    assert "no complete answer within 2 s (timed out)" in str(error)
    assert 1.9 <= elapsed < 4.0  # one attempt: a timed-out one is not retried
    assert arrived == 1


def test_a_hanging_vault_ends_at_the_deadline(vault_at: Callable[[str], None]) -> None:
    with misbehaving(hang()) as server:
        vault_at(server.url)

        error, elapsed = failing(provider(timeout=1.0))

    assert isinstance(error, SourceUnavailableError)
    assert 0.9 <= elapsed < 3.0


def test_a_reset_mid_body_is_retried_then_unavailable(
    vault_at: Callable[[str], None], no_backoff: list[float]
) -> None:
    with misbehaving(reset_mid_body()) as server:
        vault_at(server.url)

        error, elapsed = failing(provider())

        arrived = len(server.requests)
    assert isinstance(error, SourceUnavailableError)
    assert arrived == 3
    assert no_backoff == [0.25, 0.5]
    assert elapsed < 5.0


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_huge_answer_is_refused_without_being_read(
    vault_at: Callable[[str], None], no_backoff: list[float], chunked: bool
) -> None:
    with misbehaving(huge(100 << 20, chunked=chunked)) as server:
        vault_at(server.url)
        tracemalloc.start()

        error, elapsed = failing(provider(timeout=10.0))

        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        arrived = len(server.requests)
    assert isinstance(error, SourceFormatError)
    assert "larger than 1048576 bytes" in str(error)
    assert peak < 8 << 20  # the cap (1 MiB) and buffers, not 100 MB
    assert elapsed < 5.0
    assert arrived == 1  # not retried
    assert no_backoff == []


@pytest.mark.parametrize(("first", "second"), [(429, 503), (503, 429)])
def test_a_short_retry_after_is_waited_between_attempts(
    vault_at: Callable[[str], None], no_backoff: list[float], first: int, second: int
) -> None:
    script = (retry_after(first, "1"), retry_after(second, "1"), answer(200, SECRET))
    with misbehaving(*script) as server:
        vault_at(server.url)

        fetched = check_no_leaks(provider().fetch, CANARIES)

    assert fetched.values == CREDS
    assert no_backoff == [1.0, 1.0]  # Retry-After, above the 0.25 s and 0.5 s backoff


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_a_long_retry_after_ends_the_attempts_and_is_carried_on_the_error(
    vault_at: Callable[[str], None], no_backoff: list[float], status: int, form: str
) -> None:
    value = "90"
    if form == "http-date":
        value = email.utils.formatdate(time.time() + 90, usegmt=True)
    with misbehaving(retry_after(status, value)) as server:
        vault_at(server.url)

        error, _ = failing(provider())

        arrived = len(server.requests)
    assert isinstance(error, SourceUnavailableError)
    assert error.retry_after is not None
    assert 80 <= error.retry_after <= 90
    assert RETRY_WAIT_CAP < 80
    assert arrived == 1
    assert no_backoff == []


def test_values_already_read_are_cut_from_vault_error_texts(
    vault_at: Callable[[str], None],
) -> None:
    echo = json_body({"errors": [f"value {CANARY_PASSWORD} refused for token {TOKEN}"]})
    with misbehaving(answer(200, SECRET), answer(200, SECRET), answer(400, echo)) as server:
        vault_at(server.url)
        source = provider()
        source.fetch()

        error, _ = failing(source)

    assert isinstance(error, SourceFormatError)
    assert "value [redacted] refused for token [redacted]" in str(error)


# -- files: a FIFO or a device fails at once, typed and named -------------------------------


@pytest.fixture(params=["fifo", "device"])
def special_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A FIFO nobody writes to, or a link to /dev/zero (endless)."""
    path = tmp_path / "special"
    if request.param == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    return path


@pytest.mark.parametrize("position", ["jwt_path", "VAULT_SECRET_ID_FILE", "~/.vault-token"])
def test_a_fifo_or_device_as_a_login_file_fails_at_once(
    monkeypatch: pytest.MonkeyPatch, home: Path, special_file: Path, position: str
) -> None:
    with misbehaving(answer(200, SECRET)) as server:
        monkeypatch.setenv("VAULT_ADDR", server.url)
        uri = URI
        if position == "jwt_path":
            uri += f"&auth=kubernetes&role=app&jwt_path={special_file}"
        elif position == "VAULT_SECRET_ID_FILE":
            uri += "&auth=approle"
            monkeypatch.setenv("VAULT_ROLE_ID", "role-id")
            monkeypatch.setenv("VAULT_SECRET_ID_FILE", str(special_file))
        else:
            (home / ".vault-token").symlink_to(special_file)
        started = time.monotonic()

        with pytest.raises(SourceAuthenticationError) as caught:
            provider(uri=uri).fetch()

        elapsed = time.monotonic() - started
        arrived = len(server.requests)
    assert elapsed < 1.0
    assert "not a regular file" in str(caught.value)
    assert arrived == 0
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


# -- fork -------------------------------------------------------------------------------------


def test_a_child_forked_during_a_fetch_fetches_on_its_own(
    vault_at: Callable[[str], None],
) -> None:
    with misbehaving(hang(), answer(200, SECRET)) as server:
        vault_at(server.url)
        resolver = Resolver([URI + "&timeout=5"])

        def child() -> bool:  # its own fetch, within the bound
            started = time.monotonic()
            auth = resolver.get_auth("voice")
            assert auth.password is not None
            fresh = auth.password.get_secret_value() == CANARY_PASSWORD
            return fresh and time.monotonic() - started < 4

        said = forked_during(
            lambda: resolver.get_auth("voice"), server.arrived, child, server.stop, timeout=20
        )

    assert said == "True"


def test_the_vault_token_never_follows_a_redirect_to_another_origin(
    vault_at: Callable[[str], None],
) -> None:
    # Every answer of "Vault" is a 307 to another host (a standby's redirect, or not).
    with (
        misbehaving(answer(body=SECRET), host="127.0.0.2") as elsewhere,
        misbehaving(redirect(elsewhere.url + "/v1/secret/data/bandwidth/prod", 307)) as vault,
    ):
        vault_at(vault.url)

        with contextlib.suppress(CredentialsError):
            provider().fetch()

    assert vault.requests  # the token went to the configured Vault
    assert all(r.headers.get("x-vault-token") == TOKEN for r in vault.requests)
    assert all("x-vault-token" not in r.headers for r in elsewhere.requests)
