"""End to end through the resolver: Secrets Manager (or Parameter Store) stops answering,
then comes back.

A moto server of this test's own is stopped after the first fetch (connections are
refused) and started again on the same port; the resolver serves the last good
credentials in between, within ``max_stale``. Time is a fake clock; background
refreshes run when the test says.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from bandwidth_credentials import Resolver, SourceUnavailableError
from bandwidth_credentials.testing import FakeClock

CREDS = {"accountId": "920012", "username": "jdoe", "password": "before-outage"}


def test_store_down_serves_stale_within_bound_then_recovers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    client = boto3.client("secretsmanager", endpoint_url=url)
    client.create_secret(Name="bandwidth/outage", SecretString=json.dumps(CREDS))
    clock = FakeClock(0.0)
    pending: list[Callable[[], None]] = []
    uri = "aws-sm:bandwidth/outage?ttl=60&max_stale=600&connect_timeout=1"
    resolver = Resolver([uri], clock=clock, spawn=pending.append)

    def call() -> str:
        auth = resolver.get_auth("voice")
        while pending:
            pending.pop()()
        assert auth.password is not None
        return auth.password.get_secret_value()

    try:
        first = call()
        server.stop()
        clock.now = 67.0  # past the 60 s TTL whatever its ±10% jitter
        during = call()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        client.put_secret_value(
            SecretId="bandwidth/outage", SecretString=json.dumps({**CREDS, "password": "after"})
        )
        clock.now = 300.0  # past the backoff, within max_stale: refreshed in the background
        call()
        recovered = call()
    finally:
        server.stop()
        client.close()

    assert first == "before-outage"
    assert during == "before-outage"
    assert recovered == "after"


def test_store_down_past_max_stale_raises_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    client = boto3.client("secretsmanager", endpoint_url=url)
    client.create_secret(Name="bandwidth/outage2", SecretString=json.dumps(CREDS))
    client.close()
    clock = FakeClock(0.0)
    uri = "aws-sm:bandwidth/outage2?ttl=60&max_stale=600&connect_timeout=1"
    resolver = Resolver([uri], clock=clock, spawn=lambda work: work())
    resolver.get_auth("voice")
    server.stop()
    clock.now = 60.0 * 1.1 + 1.0  # past the TTL, whatever its ±10% jitter
    resolver.get_auth("voice")  # the refresh fails; stale credentials are served

    clock.now = 60.0 * 1.1 + 600.0 + 1.0
    with pytest.raises(SourceUnavailableError) as caught:
        resolver.get_auth("voice")

    assert "bandwidth/outage2" in str(caught.value)


def test_parameter_store_down_serves_stale_then_recovers_with_a_new_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    client = boto3.client("ssm", endpoint_url=url)
    fields = {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "jdoe", "BW_PASSWORD": "before-outage"}
    for key, value in fields.items():
        client.put_parameter(
            Name=f"/bandwidth/outage/{key}", Value=value, Type="SecureString", Overwrite=True
        )
    clock = FakeClock(0.0)
    uri = "aws-ssm:/bandwidth/outage/?ttl=60&max_stale=600&connect_timeout=1"
    resolver = Resolver([uri], clock=clock, spawn=lambda work: work())

    try:
        first = resolver.get_auth("voice")
        server.stop()
        clock.now = 61.0
        during = resolver.get_auth("voice")  # the refresh fails; stale credentials served
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        client.put_parameter(
            Name="/bandwidth/outage/BW_PASSWORD", Value="after", Type="SecureString", Overwrite=True
        )
        clock.now = 300.0  # past the backoff, within max_stale
        resolver.get_auth("voice")
        recovered = resolver.get_auth("voice")
    finally:
        server.stop()
        client.close()

    assert first.password is not None
    assert first.password.get_secret_value() == "before-outage"
    assert during.password is not None
    assert during.password.get_secret_value() == "before-outage"
    assert recovered.password is not None
    assert recovered.password.get_secret_value() == "after"
    assert recovered.provenance["password"].version != first.provenance["password"].version
