"""Every remote store the library reaches, as rows for the misbehaviour table.

Shared by the core's and the plugins' tests (``from tests.store_rows import STORES``).
``tests/test_misbehaving_stores.py`` runs each misbehaviour (hang, trickle, huge answer,
redirect to another origin, ``Retry-After: 3600``, a 429 storm) against every row: the
fetch must end within the row's documented worst case, with a typed error naming the
store, memory capped, and no canary in any output.

A row says how to point one store's client at a loopback server and fetch once:

    register(StoreRow(
        name="gcp-sm-rest",
        store="Secret Manager",                 # words the error must contain
        body=json_body({...}),                  # a well-formed answer holding CANARY_PASSWORD
        connect=point_gcp_rest,                 # (monkeypatch, server URL, tmp dir) -> fetch
        worst_case=7.0,                         # seconds, for the options connect() sets
    ))

``connect`` sets the environment (credentials are canaries too: ``CANARY_SECRET``) and
returns a callable that fetches once and may be called again (the memory check calls it
twice: the first call builds clients and loads SDK models). Each row's imports happen in
``connect``, so a plugin that is not installed only fails its own rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bandwidth_credentials import SourceError, TokenError, parse_source
from bandwidth_credentials.testing import CANARY_PASSWORD, CANARY_SECRET

from .misbehaving import json_body

__all__ = ["CANARIES", "STORES", "Fetch", "StoreRow", "register"]

#: What no output may contain: the values a store holds and the credential used to ask.
CANARIES = (CANARY_PASSWORD, CANARY_SECRET)

Fetch = Callable[[], object]
Connect = Callable[[pytest.MonkeyPatch, str, Path], Fetch]


@dataclass(frozen=True)
class StoreRow:
    """One remote store: ``name`` (the test id), ``store`` (words its errors contain),
    ``body`` (a well-formed answer carrying the canaries), ``connect`` (see the module
    docstring), ``worst_case`` (the documented longest fetch, seconds, for the options
    ``connect`` sets), ``errors`` (the error types a failed fetch may raise),
    ``content_type`` of its answers, and ``max_requests``: the most requests one fetch
    may make against a store that answers 429 to every one."""

    name: str
    store: str
    body: bytes
    connect: Connect
    worst_case: float
    errors: tuple[type[Exception], ...] = (SourceError,)
    content_type: str = "application/json"
    max_requests: int = 3


STORES: dict[str, StoreRow] = {}


def register(row: StoreRow) -> StoreRow:
    """Add ``row`` to the table (its name must be new)."""
    assert row.name not in STORES, row.name
    STORES[row.name] = row
    return row


# -- HashiCorp Vault ---------------------------------------------------------------------

VAULT_TIMEOUT = 1.0


def _vault(auth: str) -> Connect:
    def connect(monkeypatch: pytest.MonkeyPatch, url: str, tmp: Path) -> Fetch:
        from bandwidth_credentials_vault import VaultProvider

        monkeypatch.setenv("HOME", str(tmp))
        monkeypatch.setenv("VAULT_ADDR", url)
        if auth == "token":
            monkeypatch.setenv("VAULT_TOKEN", CANARY_SECRET)
            options = ""
        else:
            monkeypatch.setenv("VAULT_ROLE_ID", "role-1")
            monkeypatch.setenv("VAULT_SECRET_ID", CANARY_SECRET)
            options = "&auth=approle"
        uri = f"vault:secret/bandwidth/prod?kv=2&timeout={VAULT_TIMEOUT:g}{options}"
        return VaultProvider(parse_source(uri)).fetch

    return connect


def _vault_worst_case() -> float:
    from bandwidth_credentials_vault import VaultProvider

    uri = f"vault:secret/bandwidth/prod?kv=2&timeout={VAULT_TIMEOUT:g}"
    return VaultProvider(parse_source(uri)).worst_case


# One body serves auth/token/lookup-self (ttl 0), an AppRole login and a KV v2 read.
_VAULT_BODY = json_body(
    {
        "auth": {"client_token": CANARY_SECRET, "lease_duration": 0, "renewable": False},
        "data": {
            "data": {"BW_CLIENT_ID": "CLI-1", "BW_CLIENT_SECRET": CANARY_PASSWORD},
            "metadata": {"version": 3},
            "ttl": 0,
        },
    }
)

# -- AWS ---------------------------------------------------------------------------------

AWS_TIMEOUTS = "connect_timeout=0.5&read_timeout=0.5"
AWS_WORST_CASE = 3 * 1.0 + 3.0  # 3 attempts of 0.5 + 0.5 s, 3 s of backoff at most


def _aws(uri: str) -> Connect:
    def connect(monkeypatch: pytest.MonkeyPatch, url: str, tmp: Path) -> Fetch:
        from bandwidth_credentials_aws.parameter_store import ParameterStoreProvider
        from bandwidth_credentials_aws.secrets_manager import SecretsManagerProvider

        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEY000001")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CANARY_SECRET)
        monkeypatch.setenv("AWS_REGION", "us-east-1")
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp / "no-aws-config"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp / "no-aws-credentials"))
        kind = SecretsManagerProvider if uri.startswith("aws-sm:") else ParameterStoreProvider
        return kind(parse_source(f"{uri}?{AWS_TIMEOUTS}")).fetch

    return connect


_SECRET_VALUE = json.dumps({"BW_CLIENT_ID": "CLI-1", "BW_CLIENT_SECRET": CANARY_PASSWORD})
_SM_BODY = json_body(
    {
        "ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:bw-AbCdEf",
        "Name": "bw",
        "VersionId": "v-1",
        "SecretString": _SECRET_VALUE,
        "VersionStages": ["AWSCURRENT"],
    }
)
_SSM_BODY = json_body(
    {"Parameter": {"Name": "/bw/prod", "Type": "SecureString", "Value": _SECRET_VALUE}}
    | {"Parameters": [{"Name": "/bw/prod/X", "Type": "String", "Value": CANARY_PASSWORD}]}
)

EXTENSION_TIMEOUT = 1.0


def _extension(monkeypatch: pytest.MonkeyPatch, url: str, tmp: Path) -> Fetch:
    from bandwidth_credentials_aws.lambda_extension import LambdaExtensionProvider

    monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", url.rsplit(":", 1)[1])
    monkeypatch.setenv("AWS_SESSION_TOKEN", CANARY_SECRET)
    uri = f"aws-lambda-ext:bw?timeout={EXTENSION_TIMEOUT:g}&wait=0"
    return LambdaExtensionProvider(parse_source(uri)).fetch


# -- the OAuth token endpoint ------------------------------------------------------------

TOKEN_TIMEOUT = 1.0


def _token_endpoint(monkeypatch: pytest.MonkeyPatch, url: str, tmp: Path) -> Fetch:
    from bandwidth_credentials import _oauth

    monkeypatch.setattr(_oauth, "TIMEOUT", TOKEN_TIMEOUT)
    monkeypatch.setattr(_oauth, "BACKOFF", 0.0)

    def fetch() -> object:
        # A fresh manager per call: no cached failure between the memory check's calls.
        manager = _oauth.TokenManager(url + "/api/v1/oauth2/token", "CLI-1", CANARY_SECRET)
        return manager.token()

    return fetch


def _token_worst_case() -> float:
    from bandwidth_credentials import _oauth

    return _oauth.ATTEMPTS * TOKEN_TIMEOUT + 0.5


_TOKEN_BODY = json_body(
    {"access_token": CANARY_PASSWORD, "token_type": "Bearer", "expires_in": 3600}
)


# -- Google Cloud Secret Manager (REST) -------------------------------------------------

GCP_TIMEOUT = 1.0
_GCP_PAYLOAD = json.dumps({"accountId": "920012", "password": CANARY_PASSWORD}).encode()


def _gcp_body() -> bytes:
    import base64

    import google_crc32c

    return json_body(
        {
            "name": "projects/123456789012/secrets/bw/versions/1",
            "payload": {
                "data": base64.b64encode(_GCP_PAYLOAD).decode(),
                "dataCrc32c": str(google_crc32c.value(_GCP_PAYLOAD)),
            },
        }
    )


def _gcp_rest(monkeypatch: pytest.MonkeyPatch, url: str, tmp: Path) -> Fetch:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from bandwidth_credentials_gcp.secret_manager import SecretManagerProvider

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "bw-test",
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": "reader@bw-test.iam.gserviceaccount.com",
        "token_uri": "http://127.0.0.1:9/token",  # never asked: the client signs its own JWT
    }
    (tmp / "adc.json").write_text(json.dumps(info))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp / "adc.json"))
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")
    target = "projects/bw-test/secrets/bw"
    uri = f"gcp-sm:{target}?transport=rest&endpoint={url}&timeout={GCP_TIMEOUT:g}"
    return SecretManagerProvider(parse_source(uri)).fetch


def _rows() -> None:
    register(StoreRow("vault", "Vault", _VAULT_BODY, _vault("token"), _vault_worst_case()))
    register(
        StoreRow("vault-approle", "Vault", _VAULT_BODY, _vault("approle"), _vault_worst_case())
    )
    json11 = "application/x-amz-json-1.1"
    register(
        StoreRow(
            "aws-sm",
            "Secrets Manager",
            _SM_BODY,
            _aws("aws-sm:bw"),
            AWS_WORST_CASE,
            content_type=json11,
        )
    )
    register(
        StoreRow(
            "aws-ssm",
            "Parameter Store",
            _SSM_BODY,
            _aws("aws-ssm:/bw/prod"),
            AWS_WORST_CASE,
            content_type=json11,
        )
    )
    register(
        StoreRow(
            "aws-ssm-path",
            "Parameter Store",
            _SSM_BODY,
            _aws("aws-ssm:/bw/prod/"),
            AWS_WORST_CASE,
            content_type=json11,
        )
    )
    register(
        StoreRow(
            "aws-lambda-ext",
            "extension",
            _SM_BODY,
            _extension,
            EXTENSION_TIMEOUT + 0.5,
            max_requests=1,
        )
    )
    register(
        StoreRow(
            "oauth-token",
            "token",
            _TOKEN_BODY,
            _token_endpoint,
            _token_worst_case(),
            errors=(TokenError,),
            max_requests=2,
        )
    )
    register(
        StoreRow("gcp-sm-rest", "Secret Manager", _gcp_body(), _gcp_rest, 3 * GCP_TIMEOUT + 2.0)
    )


_rows()
