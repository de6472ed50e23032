"""Fixtures shared by the AWS plugin's tests: moto's server and a stub Lambda extension.

Everything listens on 127.0.0.1 with an ephemeral port and is started and stopped here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_extension_stub import StubExtension, running
from aws_settings import REGION, SESSION_TOKEN


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto's server mode in this process, on 127.0.0.1 with an ephemeral port."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def aws_env(_isolated: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, moto_url: str) -> str:
    """Fake credentials and a region, every AWS call sent to moto, nothing to IMDS.

    Requests ``_isolated`` (the root conftest's) so it runs after AWS_* was cleared.
    """
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    return moto_url


@pytest.fixture
def sm(aws_env: str) -> Iterator[Any]:
    """A boto3 client on moto, for arranging secrets."""
    import boto3

    client = boto3.client("secretsmanager", region_name=REGION, endpoint_url=aws_env)
    yield client
    client.close()


@pytest.fixture
def new_secret(sm: Any) -> Callable[..., dict[str, Any]]:
    """Create a uniquely named secret in moto; returns create_secret's answer."""

    def create(value: object = None, *, binary: bytes | None = None) -> dict[str, Any]:
        name = f"bandwidth/test-{uuid.uuid4().hex[:12]}"
        if binary is not None:
            answer: dict[str, Any] = sm.create_secret(Name=name, SecretBinary=binary)
        else:
            text = value if isinstance(value, str) else json.dumps(value)
            answer = sm.create_secret(Name=name, SecretString=text)
        return answer

    return create


@pytest.fixture
def ssm(aws_env: str) -> Iterator[Any]:
    """A boto3 SSM client on moto, for arranging parameters."""
    import boto3

    client = boto3.client("ssm", region_name=REGION, endpoint_url=aws_env)
    yield client
    client.close()


@pytest.fixture
def new_path(ssm: Any) -> Callable[..., str]:
    """Put parameters under a fresh path in moto; returns the path (ending in ``/``).

    ``new_path({"BW_PASSWORD": "..."}, kind="SecureString")``; a key may hold slashes
    (``"voice/BW_USERNAME"``) to put a parameter one level deeper.
    """

    def put(values: dict[str, str], kind: str = "SecureString") -> str:
        path = f"/bandwidth/test-{uuid.uuid4().hex[:12]}/"
        for key, value in values.items():
            ssm.put_parameter(Name=path + key, Value=value, Type=kind)
        return path

    return put


@pytest.fixture
def extension(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubExtension]:
    """The stub Lambda extension, with the port and session token set as Lambda sets them."""
    with running(StubExtension(token=SESSION_TOKEN, region=REGION)) as stub:
        monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(stub.port))
        monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
        yield stub
