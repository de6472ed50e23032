from __future__ import annotations

import os
import subprocess
import sys

import pytest

import bandwidth_credentials as bc

PUBLIC = {
    "SERVICE_NAMES",
    "BasicDeprecationWarning",
    "CallbackAuth",
    "CallbackAuthError",
    "CallbackVerification",
    "ConfigurationError",
    "CredentialNotFoundError",
    "CredentialsError",
    "Fetched",
    "InvalidCredentialsError",
    "Provenance",
    "Provider",
    "Resolver",
    "ServiceAuth",
    "Source",
    "SourceAccessDeniedError",
    "SourceAuthenticationError",
    "SourceError",
    "SourceFormatError",
    "SourceNotFoundError",
    "SourceUnavailableError",
    "StoreConflictError",
    "StoreNotSupportedError",
    "TokenClaims",
    "TokenError",
    "UnknownServiceError",
    "Verification",
    "__version__",
    "aget_auth",
    "available_providers",
    "configure",
    "get_auth",
    "get_callback_auth",
    "invalidate",
    "parse_source",
    "register_provider",
    "reload",
    "unregister_provider",
    "verify",
}


def test_all_lists_exactly_the_public_names() -> None:
    assert set(bc.__all__) == PUBLIC
    for name in bc.__all__:
        assert hasattr(bc, name), name


def test_every_public_name_has_a_docstring() -> None:
    for name in bc.__all__:
        obj = getattr(bc, name)
        if callable(obj) and not isinstance(obj, str):
            assert obj.__doc__, name


@pytest.mark.parametrize(
    "name",
    [n for n in PUBLIC if n.endswith("Error")],
)
def test_every_error_derives_from_credentials_error(name: str) -> None:
    assert issubclass(getattr(bc, name), bc.CredentialsError)


def test_unknown_service_error_is_a_value_error() -> None:
    assert issubclass(bc.UnknownServiceError, ValueError)


def test_import_does_not_pull_in_cloud_sdks_or_http_clients() -> None:
    code = (
        "import sys, bandwidth_credentials\n"
        "heavy = [m for m in ('boto3', 'botocore', 'hvac', 'requests', 'httpx',"
        " 'urllib.request', 'asyncio', 'dotenv') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == ""


def test_cold_path_defers_pydantic_until_password_is_read() -> None:
    code = (
        "import sys\n"
        "from bandwidth_credentials import get_auth\n"
        "voice = get_auth('voice')\n"
        "assert voice.headers()['Authorization'].startswith('Basic ')\n"
        "print('pydantic' in sys.modules)\n"
        "from pydantic import SecretStr\n"
        "print(isinstance(voice.password, SecretStr), voice.password.get_secret_value())\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))},
        "BW_ACCOUNT_ID": "920012",
        "BW_USERNAME": "jdoe",
        "BW_PASSWORD": "pw",
        "BANDWIDTH_CREDENTIALS_SOURCES": "env",
        "PYTHONWARNINGS": "ignore",
    }

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )

    assert out.stdout.split() == ["False", "True", "pw"]
