"""``bwcreds check``/``explain`` show callback credentials in their own section (only when
some are configured), and ``bwcreds callback sign`` prints the header a sender attaches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bandwidth_credentials import SERVICE_NAMES, Resolver

from .callback_kit import (
    ENV,
    PASSWORD,
    SECRETS,
    SUBSCRIPTION_BODY,
    TFV_BODY,
    TFV_SECRET,
    WEBHOOK_SECRET,
)
from .test_cli import BWCREDS, FULL, bwcreds


def _leak_free(result: subprocess.CompletedProcess[str]) -> None:
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr


def test_without_callback_credentials_the_outputs_have_no_callback_section() -> None:
    check = bwcreds("check", env=FULL)
    explain = bwcreds("explain", env=FULL)
    check_json = json.loads(bwcreds("check", "--json", env=FULL).stdout)
    explain_json = json.loads(bwcreds("explain", "--json", env=FULL).stdout)

    assert "callbacks" not in check.stdout + explain.stdout
    assert "callbacks" not in check_json
    assert "callbacks" not in explain_json


def test_check_shows_readiness_schemes_and_sources() -> None:
    env = {**FULL, **ENV, "BW_SALES_WEBHOOK_SECRET": "sales-webhook-key"}

    result = bwcreds("check", env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    section = result.stdout.split("callbacks (credentials Bandwidth presents to you):\n")[1]
    rows = [line.split(None, 2) for line in section.splitlines()[1:3]]
    assert rows[0][:2] == ["(shared)", "yes"]
    assert rows[1][:2] == ["sales", "yes"]
    assert "subscriptions (+previous), tfv (+previous), basic (+previous)" in section
    assert "env (BW_WEBHOOK_SECRET, BW_WEBHOOK_PREVIOUS_SECRET" in section
    _leak_free(result)


def test_check_json_lists_the_callbacks() -> None:
    result = bwcreds("check", "--json", env={**FULL, **ENV})

    document = json.loads(result.stdout)
    assert document["callbacks"][0]["app"] is None
    assert document["callbacks"][0]["schemes"] == {
        "subscriptions": True,
        "tfv": True,
        "basic": True,
    }
    _leak_free(result)


def test_an_unusable_callback_value_makes_check_fail() -> None:
    result = bwcreds("check", env={**FULL, "BW_TFV_WEBHOOK_SECRET": "short"})
    voice_only = bwcreds("check", "voice", env={**FULL, "BW_TFV_WEBHOOK_SECRET": "short"})

    assert result.returncode == 1
    assert voice_only.returncode == 0  # a named service is what was asked about
    assert (
        "callbacks to (shared): tfv_webhook_secret from env (BW_TFV_WEBHOOK_SECRET)"
        in result.stdout
    )


CALLBACKS_ONLY = {"BW_CALLBACK_USERNAME": "receiver", "BW_CALLBACK_PASSWORD": PASSWORD}


@pytest.mark.parametrize(
    ("args", "env", "code", "api_table"),
    [
        # a receiver that calls no API: only its callback credentials are asked about
        (["callbacks"], CALLBACKS_ONLY, 0, False),
        (["Callbacks"], ENV, 0, False),
        (["callbacks"], {}, 1, False),  # asked for, none configured
        (["callbacks"], {"BW_TFV_WEBHOOK_SECRET": "short"}, 1, False),  # configured, unusable
        (["voice", "callbacks"], {**FULL, **ENV}, 0, True),
        (["voice", "callbacks"], FULL, 1, True),  # voice ready, callbacks asked, none
        (["voice", "callbacks"], CALLBACKS_ONLY, 1, True),  # callbacks ready, voice not
        ([], CALLBACKS_ONLY, 1, True),  # everything asked: the API services are not ready
    ],
)
def test_check_callbacks_asks_about_the_callback_credentials(
    args: list[str], env: dict[str, str], code: int, api_table: bool
) -> None:
    result = bwcreds("check", *args, env=env)
    document = json.loads(bwcreds("check", *args, "--json", env=env).stdout)

    assert result.returncode == code, result.stdout + result.stderr
    assert document["ready"] is (code == 0)
    assert result.stdout.startswith("SERVICE") is api_table
    assert [e["service"] for e in document["services"]] == (
        (["voice"] if args else list(SERVICE_NAMES)) if api_table else []
    )
    if not args:
        return
    assert "callbacks" in document
    if env.get("BW_CALLBACK_PASSWORD") or env.get("BW_WEBHOOK_SECRET"):
        assert "callbacks (credentials Bandwidth presents to you):" in result.stdout
    elif "BW_TFV_WEBHOOK_SECRET" not in env:
        said = "callbacks: no callback credentials configured: BW_CALLBACK_USERNAME"
        assert said in result.stdout
        assert any(note.startswith(said) for note in document["notes"])
    _leak_free(result)


def test_check_callbacks_with_a_failing_source_names_callbacks(tmp_path: Path) -> None:
    missing = tmp_path / "absent.env"

    result = bwcreds("check", "callbacks", "--sources", f"dotenv:{missing}")

    assert result.returncode == 1
    assert result.stdout.startswith(f"callbacks: source dotenv:{missing}: ")


def test_check_callbacks_is_not_an_online_check() -> None:
    result = bwcreds("check", "--online", "callbacks", env=CALLBACKS_ONLY)

    assert result.returncode == 2
    assert "checked offline only" in result.stderr
    assert result.stdout == ""


def test_explain_shows_each_callback_field_and_its_key() -> None:
    result = bwcreds("explain", env={**FULL, **ENV})

    section = result.stdout.split("callbacks (credentials Bandwidth presents to you):\n")[1]
    assert section.splitlines()[0].split() == ["APP", "FIELD", "SOURCE", "KEY", "VERSION"]
    rows = [line.split() for line in section.splitlines()[1:9]]
    assert [
        "(shared)",
        "callback_previous_password",
        "env",
        "BW_CALLBACK_PREVIOUS_PASSWORD",
        "-",
    ] in rows
    _leak_free(result)


@pytest.mark.parametrize(
    ("scheme", "body", "header"),
    [
        ("subscriptions", SUBSCRIPTION_BODY, "X-Bandwidth-Signature-SHA-256"),
        ("tfv", TFV_BODY, "x-bandwidth-signature-hmac-sha256"),
    ],
)
def test_callback_sign_prints_a_header_the_verifier_accepts(
    scheme: str, body: bytes, header: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}
    environ.update({"BW_WEBHOOK_SECRET": WEBHOOK_SECRET, "BW_SALES_TFV_WEBHOOK_SECRET": TFV_SECRET})

    result = subprocess.run(
        [BWCREDS, "callback", "sign", "--scheme", scheme, "--app", "sales"],
        input=body,
        capture_output=True,
        env=environ,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    name, _, value = result.stdout.decode().strip().partition(": ")
    assert name == header
    for key, item in environ.items():
        if key.startswith("BW_"):
            monkeypatch.setenv(key, item)
    verified = Resolver(["env"]).get_callback_auth("sales").verify({name: value}, body)
    assert verified.scheme == scheme
    assert WEBHOOK_SECRET.encode() not in result.stdout + result.stderr


def test_callback_sign_without_a_key_says_what_is_missing() -> None:
    result = bwcreds(
        "callback", "sign", "--scheme", "tfv", env={"BW_WEBHOOK_SECRET": WEBHOOK_SECRET}
    )

    assert result.returncode == 1
    assert "Toll-Free Verification shared secret" in result.stderr
    assert WEBHOOK_SECRET not in result.stderr


@pytest.mark.parametrize(
    ("app", "names"),
    [
        (None, ["BW_TFV_WEBHOOK_SECRET"]),
        ("orders", ["BW_ORDERS_TFV_WEBHOOK_SECRET", "BW_TFV_WEBHOOK_SECRET"]),
    ],
)
def test_callback_sign_without_a_key_names_the_variables(app: str | None, names: list[str]) -> None:
    result = bwcreds(
        "callback",
        "sign",
        "--scheme",
        "tfv",
        *(["--app", app] if app else []),
        env={"BW_WEBHOOK_SECRET": WEBHOOK_SECRET},
    )

    assert result.returncode == 1
    for name in names:
        assert name in result.stderr
    assert "(shared)" not in result.stderr


def _sign(stdin: int) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}
    environ["BW_TFV_WEBHOOK_SECRET"] = TFV_SECRET
    return subprocess.run(
        [BWCREDS, "callback", "sign", "--scheme", "tfv"],
        stdin=stdin,
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )


def test_callback_sign_refuses_an_empty_body() -> None:
    # Bandwidth signs a body; verify() refuses an empty one, so its header is no use.
    result = _sign(subprocess.DEVNULL)

    assert result.returncode == 1
    assert "empty" in result.stderr
    assert result.stdout == ""


def test_callback_sign_with_a_terminal_on_stdin_says_how_to_give_the_body() -> None:
    controller, terminal = os.openpty()
    try:
        result = _sign(terminal)  # would wait for typing; says what it reads instead
    finally:
        os.close(terminal)
        os.close(controller)

    assert result.returncode == 2
    assert "< " in result.stderr
    assert result.stdout == ""


def test_exec_passes_the_resolved_callback_credentials(tmp_path: Path) -> None:
    from .test_exec import child_report, clean_env, mismatched, secret_dir

    uri = secret_dir(
        tmp_path / "bw",
        {
            "callbackUsername": "bw-callbacks",
            "callbackPassword": PASSWORD,
            "callbackPreviousUsername": "bw-callbacks",
            "callbackPreviousPassword": "old-pw-0123",
            "salesWebhookSecret": WEBHOOK_SECRET,
        },
    )
    names = (
        "BW_CALLBACK_USERNAME",
        "BW_CALLBACK_PASSWORD",
        "BW_CALLBACK_PREVIOUS_PASSWORD",
        "BW_SALES_WEBHOOK_SECRET",
        "BW_SALES_CALLBACK_PASSWORD",
    )
    child = (
        "import hashlib, json, os, sys\n"
        "d = lambda v: None if v is None else hashlib.sha256(v.encode()).hexdigest()\n"
        f"print(json.dumps({{'env': {{n: d(os.environ.get(n)) for n in {names!r}}}}}))\n"
    )

    result = subprocess.run(
        [
            BWCREDS,
            "exec",
            "--sources",
            uri,
            "--service",
            "voice",
            "--",
            sys.executable,
            "-c",
            child,
        ],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )

    # No API credentials here, so exec refuses; with them (next) it passes both.
    assert result.returncode == 1
    full = secret_dir(
        tmp_path / "full", {"accountId": "920012", "clientId": "cid", "clientSecret": "cs"}
    )
    result = subprocess.run(
        [
            BWCREDS,
            "exec",
            "--sources",
            f"{uri},{full}",
            "--service",
            "voice",
            "--",
            sys.executable,
            "-c",
            child,
        ],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    env = child_report(result)["env"]
    assert isinstance(env, dict)
    expected = {
        "BW_CALLBACK_USERNAME": "bw-callbacks",
        "BW_CALLBACK_PASSWORD": PASSWORD,
        "BW_CALLBACK_PREVIOUS_PASSWORD": "old-pw-0123",
        "BW_SALES_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "BW_SALES_CALLBACK_PASSWORD": None,  # the shared pair applies: no copy of it
    }
    assert mismatched(env, expected) == []
    _leak_free(result)


@pytest.mark.parametrize(
    ("variables", "hint"),
    [
        (
            {"BW_ORDERS_WEBHOOK_SECRET": WEBHOOK_SECRET},
            "; orders has one of its own: add --app orders",
        ),
        (
            {"BW_ORDERS_WEBHOOK_SECRET": WEBHOOK_SECRET, "BW_SALES_WEBHOOK_SECRET": TFV_SECRET},
            "; orders, sales have one of their own: add --app orders",
        ),
        ({}, None),
    ],
)
def test_callback_sign_without_a_shared_key_names_the_applications_that_have_one(
    variables: dict[str, str], hint: str | None
) -> None:
    env = {"BW_CALLBACK_USERNAME": "bw-callbacks", "BW_CALLBACK_PASSWORD": "pw-7", **variables}

    result = bwcreds("callback", "sign", "--scheme", "subscriptions", env=env)

    assert result.returncode == 1
    assert (
        "no Subscriptions 2.0 HMAC key for callbacks (shared credentials) (BW_WEBHOOK_SECRET)"
        in result.stderr
    )
    if hint is None:
        assert "--app" not in result.stderr
    else:
        assert result.stderr.rstrip().endswith(hint)
    assert WEBHOOK_SECRET not in result.stderr
    assert TFV_SECRET not in result.stderr
