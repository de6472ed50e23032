"""Names and helpers shared by the Google plugin's tests (a uniquely named module, so
test modules can import it without clashing with another folder's conftest)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bandwidth_credentials.testing import CANARY_SECRET

PROJECT = "bw-test"
PROJECT_NUMBER = "123456789012"
ACCESS_TOKEN = "ya29.canary-access-token-3e91a7-DO-NOT-LEAK"
#: The refresh token is a credential like a password: it doubles as a canary.
REFRESH_TOKEN = CANARY_SECRET
GOOGLE_HOSTS = (
    "secretmanager.googleapis.com",
    "oauth2.googleapis.com",
    "secretmanager.us-east4.rep.googleapis.com",
)
SERVICE_ACCOUNT = "bandwidth-reader@bw-test.iam.gserviceaccount.com"


def write_service_account(path: Path, key: rsa.RSAPrivateKey, token_uri: str) -> Path:
    """A service-account key file, as ``gcloud iam service-accounts keys create`` writes."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": SERVICE_ACCOUNT,
        "client_id": "100000000000000000001",
        "token_uri": token_uri,
    }
    path.write_text(json.dumps(info))
    return path


def write_adc(path: Path, refresh_token: str = REFRESH_TOKEN, token_uri: str | None = None) -> Path:
    """An ``authorized_user`` ADC file, as ``gcloud auth application-default login`` writes.

    Without ``token_uri`` (gcloud writes none) google-auth sends its refresh to
    https://oauth2.googleapis.com/token.
    """
    info = {
        "type": "authorized_user",
        "client_id": "loopback-client.apps.googleusercontent.com",
        "client_secret": "loopback-client-secret",
        "refresh_token": refresh_token,
    }
    if token_uri is not None:
        info["token_uri"] = token_uri
    path.write_text(json.dumps(info))
    return path


@dataclass
class Loopback:
    """Where the provider under test is pointed: one transport's loopback endpoint."""

    transport: str
    endpoint: str

    def uri(self, target: str, query: str = "") -> str:
        extra = f"&{query}" if query else ""
        return f"gcp-sm:{target}?transport={self.transport}&endpoint={self.endpoint}{extra}"
