"""Every service's base URL and token URL in every environment, and the host overrides."""

from __future__ import annotations

import pytest

from bandwidth_credentials import SERVICE_NAMES, Resolver

from .test_cli import bwcreds

TOKEN_PATH = "/api/v1/oauth2/token"

PROD, TEST = "prod", "test"
# service -> (production base URL, test/uat base URL) for account 920012. Sources: the
# official CLI's cmdutil host helpers (api, voice; Messaging has no test host), Bandwidth's
# Numbers docs (test.dashboard.bandwidth.com), MFA: no test host documented.
TABLE = {
    "voice": (
        "https://voice.bandwidth.com/api/v2/accounts/920012",
        "https://test.voice.bandwidth.com/api/v2/accounts/920012",
    ),
    "messaging": (
        "https://messaging.bandwidth.com/api/v2/users/920012",
        "https://messaging.bandwidth.com/api/v2/users/920012",
    ),
    "numbers": (
        "https://dashboard.bandwidth.com/api/accounts/920012",
        "https://test.dashboard.bandwidth.com/api/accounts/920012",
    ),
    "account": (
        "https://dashboard.bandwidth.com/api/accounts/920012",
        "https://test.dashboard.bandwidth.com/api/accounts/920012",
    ),
    "mfa": (
        "https://mfa.bandwidth.com/api/v1/accounts/920012",
        "https://mfa.bandwidth.com/api/v1/accounts/920012",
    ),
    "phone-number-lookup": (
        "https://api.bandwidth.com/v2/accounts/920012",
        "https://test.api.bandwidth.com/v2/accounts/920012",
    ),
    "toll-free-verification": (
        "https://api.bandwidth.com/api/v2/accounts/920012",
        "https://test.api.bandwidth.com/api/v2/accounts/920012",
    ),
    "endpoints": (
        "https://api.bandwidth.com/v2/accounts/920012",
        "https://test.api.bandwidth.com/v2/accounts/920012",
    ),
}
CASES = [
    (service, environment, TABLE[service][0 if environment in ("prod", "Production", "") else 1])
    for service in SERVICE_NAMES
    for environment in ("", "prod", "Production", "test", "uat", "UAT")
]
OVERRIDES = {
    "BW_API_URL": "https://api.example.test",
    "BW_VOICE_URL": "https://voice.example.test/",
    "BW_MESSAGING_URL": "http://127.0.0.1:8080",
}
OVERRIDDEN = {
    "voice": "https://voice.example.test/api/v2/accounts/920012",
    "messaging": "http://127.0.0.1:8080/api/v2/users/920012",
    "numbers": TABLE["numbers"][1],
    "account": TABLE["account"][1],
    "mfa": TABLE["mfa"][1],
    "phone-number-lookup": "https://api.example.test/v2/accounts/920012",
    "toll-free-verification": "https://api.example.test/api/v2/accounts/920012",
    "endpoints": "https://api.example.test/v2/accounts/920012",
}


def static_token_env(monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    for key, value in {"BW_ACCOUNT_ID": "920012", "BW_ACCESS_TOKEN": "t0k3n", **extra}.items():
        if value:
            monkeypatch.setenv(key, value)


def test_the_table_covers_every_service() -> None:
    assert set(TABLE) == set(SERVICE_NAMES)


@pytest.mark.parametrize(("service", "environment", "expected"), CASES)
def test_base_url_per_environment(
    monkeypatch: pytest.MonkeyPatch, service: str, environment: str, expected: str
) -> None:
    static_token_env(monkeypatch, BW_ENVIRONMENT=environment)

    auth = Resolver(["env"]).get_auth(service)

    assert auth.base_url == expected
    assert auth.environment == (environment.lower().replace("production", "prod") or "prod")


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_host_overrides_replace_scheme_and_host_only(
    monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    static_token_env(monkeypatch, BW_ENVIRONMENT="test", **OVERRIDES)

    auth = Resolver(["env"]).get_auth(service)

    assert auth.base_url == OVERRIDDEN[service]


@pytest.mark.parametrize(
    ("environment", "overrides", "expected"),
    [
        ("prod", {}, "https://api.bandwidth.com/api/v1/oauth2/token"),
        ("test", {}, "https://test.api.bandwidth.com/api/v1/oauth2/token"),
        ("uat", {}, "https://test.api.bandwidth.com/api/v1/oauth2/token"),
        (
            "test",
            {"BW_API_URL": "https://api.example.test"},
            "https://api.example.test/api/v1/oauth2/token",
        ),
    ],
)
def test_token_url_per_environment(
    monkeypatch: pytest.MonkeyPatch, environment: str, overrides: dict[str, str], expected: str
) -> None:
    values = {"BW_ACCOUNT_ID": "920012", "BW_CLIENT_ID": "c", "BW_CLIENT_SECRET": "s"}
    for key, value in {**values, "BW_ENVIRONMENT": environment, **overrides}.items():
        monkeypatch.setenv(key, value)
    resolver = Resolver(["env"])

    urls = {name: resolver.get_auth(name)._bearer.token_url for name in SERVICE_NAMES}  # type: ignore[union-attr]

    messaging = urls.pop("messaging")
    assert set(urls.values()) == {expected}
    # Messaging is production-only, so its token comes from production (or BW_API_URL).
    assert messaging == overrides.get("BW_API_URL", "https://api.bandwidth.com") + TOKEN_PATH


@pytest.mark.parametrize(
    ("environment", "extra", "noted"),
    [
        (
            "test",
            {},
            ["messaging (https://messaging.bandwidth.com)", "mfa (https://mfa.bandwidth.com)"],
        ),
        ("uat", {"BW_MESSAGING_URL": "http://127.0.0.1:9"}, ["mfa (https://mfa.bandwidth.com)"]),
        ("prod", {}, []),
    ],
)
def test_check_notes_services_that_stay_on_production(
    environment: str, extra: dict[str, str], noted: list[str]
) -> None:
    env = {"BW_ACCOUNT_ID": "920012", "BW_ACCESS_TOKEN": "t0k3n", "BW_ENVIRONMENT": environment}

    result = bwcreds("check", "--sources", "env", env={**env, **extra})

    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "no test host" in line]
    if not noted:
        assert lines == []
    else:
        assert len(lines) == 1
        assert f"environment {environment}:" in lines[0]
        assert lines[0].split("production: ")[1].split("; ")[0] == ", ".join(noted)
