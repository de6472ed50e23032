"""``gcp-sm``: the official client, over REST and gRPC, against the loopback Secret Manager."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Mapping

import pytest
from gcp_secret_manager_server import SecretStore
from gcp_settings import PROJECT, PROJECT_NUMBER, Loopback

from bandwidth_credentials import (
    ConfigurationError,
    Resolver,
    SourceFormatError,
    SourceUnavailableError,
    parse_source,
)
from bandwidth_credentials.testing import CANARY_PASSWORD, ProviderContract, in_forked_child
from bandwidth_credentials_gcp.secret_manager import SecretManagerProvider

SECRET = f"projects/{PROJECT}/secrets/bandwidth-prod"
VOICE = {"accountId": "920012", "username": "jdoe", "password": CANARY_PASSWORD}


def provider(uri: str) -> SecretManagerProvider:
    return SecretManagerProvider(parse_source(uri))


def resolved(secret: str, number: int) -> str:
    return f"{secret.replace(PROJECT, PROJECT_NUMBER, 1)}/versions/{number}"


class TestGcpSecretManagerContract(ProviderContract):
    """``gcp-sm:`` passes every test a provider must pass, over both transports."""

    scheme = "gcp-sm"

    @pytest.fixture(autouse=True)
    def _server(self, store: SecretStore, loopback: Loopback) -> None:
        self.secrets = store
        self.loopback = loopback

    def store(self, values: Mapping[str, str]) -> str:
        self.secrets.add(SECRET, json.dumps(dict(values)).encode())
        return self.loopback.uri(SECRET)

    def missing_uri(self) -> str:
        return self.loopback.uri(f"projects/{PROJECT}/secrets/absent")


# -- reading ------------------------------------------------------------------------------


def test_reads_the_latest_version_as_a_json_object(store: SecretStore, loopback: Loopback) -> None:
    store.add(SECRET, b'{"old": "1"}')
    store.add(SECRET, json.dumps(VOICE).encode())

    fetched = provider(loopback.uri(SECRET)).fetch()

    assert dict(fetched.values) == VOICE
    assert fetched.version == resolved(SECRET, 2)


def test_reads_a_pinned_version(store: SecretStore, loopback: Loopback) -> None:
    store.add(SECRET, json.dumps(VOICE).encode())
    store.add(SECRET, b'{"newer": "yes"}')

    fetched = provider(loopback.uri(f"{SECRET}/versions/1")).fetch()

    assert dict(fetched.values) == VOICE
    assert fetched.version == resolved(SECRET, 1)


def test_field_reads_the_whole_payload_as_one_value(store: SecretStore, loopback: Loopback) -> None:
    store.add(SECRET, CANARY_PASSWORD.encode())

    fetched = provider(loopback.uri(SECRET, "field=BW_PASSWORD")).fetch()

    assert dict(fetched.values) == {"BW_PASSWORD": CANARY_PASSWORD}


def test_a_regional_secret_is_read_by_its_regional_name(
    store: SecretStore, loopback: Loopback
) -> None:
    regional = f"projects/{PROJECT}/locations/us-east4/secrets/bandwidth-prod"
    store.add(regional, json.dumps(VOICE).encode())

    fetched = provider(loopback.uri(regional)).fetch()

    assert dict(fetched.values) == VOICE
    assert fetched.version == resolved(regional, 1)


@pytest.mark.parametrize(
    ("target", "endpoint"),
    [
        (SECRET, None),
        (
            f"projects/{PROJECT}/locations/us-east4/secrets/s",
            "secretmanager.us-east4.rep.googleapis.com",
        ),
        (
            f"projects/{PROJECT}/locations/europe-west1/secrets/s/versions/2",
            "secretmanager.europe-west1.rep.googleapis.com",
        ),
    ],
)
def test_a_regional_secret_goes_to_its_regional_endpoint(target: str, endpoint: str | None) -> None:
    assert provider(f"gcp-sm:{target}").endpoint == endpoint


def test_latest_moving_to_a_new_version_is_a_change(store: SecretStore, loopback: Loopback) -> None:
    store.add(SECRET, json.dumps(VOICE).encode())
    source = provider(loopback.uri(SECRET))
    first = source.fetch()

    store.add(SECRET, json.dumps({**VOICE, "username": "rotated"}).encode())
    second = source.fetch()

    assert first.version != second.version
    assert second.version == resolved(SECRET, 2)
    assert second.values["username"] == "rotated"


def test_resolver_reads_per_service_objects(store: SecretStore, loopback: Loopback) -> None:
    secret = {
        "accountId": "920012",
        "voice": {"username": "voice-user", "password": CANARY_PASSWORD},
        "messaging": {"username": "msg-user", "password": "msg-pw"},
    }
    store.add(SECRET, json.dumps(secret).encode())
    resolver = Resolver([loopback.uri(SECRET)])

    voice = resolver.get_auth("voice")
    messaging = resolver.get_auth("messaging")

    assert voice.username == "voice-user"
    assert messaging.username == "msg-user"


# -- payload checks -----------------------------------------------------------------------


def test_a_crc32c_mismatch_is_a_format_error(store: SecretStore, loopback: Loopback) -> None:
    store.add(SECRET, json.dumps(VOICE).encode())
    store.corrupt = True

    with pytest.raises(SourceFormatError) as caught:
        provider(loopback.uri(SECRET)).fetch()

    assert "CRC32C" in str(caught.value)
    assert resolved(SECRET, 1) in str(caught.value)


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"[1, 2]", b'"a string"', b"\xff\xfe not utf-8"],
    ids=["text", "array", "json-string", "binary"],
)
def test_a_payload_that_is_not_a_json_object_is_a_format_error(
    store: SecretStore, loopback: Loopback, payload: bytes
) -> None:
    store.add(SECRET, payload)

    with pytest.raises(SourceFormatError) as caught:
        provider(loopback.uri(SECRET)).fetch()

    message = str(caught.value)
    assert "?field=NAME" in message
    assert '"clientId": "...", "clientSecret": "..."' in message  # the current scheme's shape
    assert '"username"' not in message  # never the decommissioned API user's
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


# -- configuration ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("gcp-sm:", "expected gcp-sm:projects/PROJECT/secrets/SECRET"),
        ("gcp-sm:bandwidth-prod", "expected gcp-sm:projects/PROJECT/secrets/SECRET"),
        ("gcp-sm:projects/p1/secrets/s/versions/1/extra", "expected gcp-sm:projects/"),
        ("gcp-sm:projects/p1/secrets/bad.name", "secret 'bad.name'"),
        ("gcp-sm:projects/p1/locations/US_EAST/secrets/s", "location 'US_EAST'"),
        ("gcp-sm:projects/p1/secrets/s/versions/1.5", "version '1.5'"),
        ("gcp-sm:projects/p1/secrets/s?transport=http", "grpc or rest"),
        ("gcp-sm:projects/p1/secrets/s?timeout=0", "'timeout' must be greater than 0"),
        ("gcp-sm:projects/p1/secrets/s?timeout=soon", "'timeout' must be a number"),
        ("gcp-sm:projects/p1/secrets/s?field=", "'field' is empty"),
        ("gcp-sm:projects/p1/secrets/s?version=2", "unknown option(s) version"),
        ("gcp-sm:projects/p1/secrets/s?endpoint=a b", "HOST[:PORT] or a URL"),
        ("gcp-sm:projects/p1/secrets/s?endpoint=https://h.example", "only with transport=rest"),
        (
            "gcp-sm:projects/p1/secrets/s?transport=rest&endpoint=http://sm.example.com",
            "plain http is allowed for loopback addresses only",
        ),
        (
            "gcp-sm:projects/p1/secrets/s?transport=rest&endpoint=https://u:p@h.example",
            "SCHEME://HOST[:PORT] only",
        ),
        (
            "gcp-sm:projects/p1/secrets/s?transport=rest&endpoint=https://h.example/v1",
            "SCHEME://HOST[:PORT] only",
        ),
    ],
)
def test_bad_uris_are_configuration_errors(uri: str, says: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        provider(uri)

    assert says in str(caught.value)


def test_latest_is_the_default_version() -> None:
    source = provider(f"gcp-sm:{SECRET}")

    assert source.secret.name == f"{SECRET}/versions/latest"


def test_the_timeout_bounds_a_hanging_server(store: SecretStore, loopback: Loopback) -> None:
    store.add(SECRET, json.dumps(VOICE).encode())
    store.delay = 3.0
    source = provider(loopback.uri(SECRET, "timeout=0.5"))
    started = time.monotonic()

    with pytest.raises(SourceUnavailableError) as caught:
        source.fetch()

    assert time.monotonic() - started < 2.5
    assert "timed out" in str(caught.value)
    assert "DEADLINE_EXCEEDED" in str(caught.value)


def test_a_forked_child_builds_its_own_client(store: SecretStore, loopback: Loopback) -> None:
    store.add(SECRET, json.dumps(VOICE).encode())
    source = provider(loopback.uri(SECRET))
    source.fetch()
    parents = source.client()
    answer = in_forked_child(
        lambda: f"{source.client() is not parents} {source.fetch().values['username']}"
    )

    assert answer == "True jdoe"
    assert source.client() is parents
    assert len(store.calls) == 2


# -- imports ------------------------------------------------------------------------------


def test_importing_the_plugin_and_building_a_resolver_loads_no_sdk() -> None:
    code = (
        "import sys, bandwidth_credentials, bandwidth_credentials_gcp\n"
        "from bandwidth_credentials_gcp.secret_manager import SecretManagerProvider\n"
        "from bandwidth_credentials import Resolver, parse_source\n"
        "SecretManagerProvider(parse_source('gcp-sm:projects/p1/secrets/s'))\n"
        "Resolver(['gcp-sm:projects/p1/secrets/s'])\n"
        "heavy = ('google.cloud', 'google.api_core', 'google.auth', 'grpc', 'requests',"
        " 'google.protobuf', 'proto', 'google_crc32c')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy"
        " or m.startswith(heavy)))\n"
    )

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
