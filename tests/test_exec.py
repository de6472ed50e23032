"""``bwcreds exec``, run through its real console script.

The child is ``sys.executable -c``. It prints digests of the variables it received,
never the values, and the tests compare digests, so a failure cannot print a secret.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from bandwidth_credentials import Resolver
from bandwidth_credentials._exec import credential_environment
from bandwidth_credentials.testing import CANARY_PASSWORD, CANARY_SECRET

from .helpers import MemoryProvider
from .oauth_servers import CLIENT_ID, CLIENT_SECRET, TokenServer

BWCREDS = str(Path(sys.executable).with_name("bwcreds"))
VARIABLES = (
    "BW_ACCOUNT_ID",
    "BW_USERNAME",
    "BW_PASSWORD",
    "BW_API_TOKEN",
    "BW_API_SECRET",
    "BW_CLIENT_ID",
    "BW_CLIENT_SECRET",
    "BW_TOKEN_URL",
    "BW_ACCESS_TOKEN",
    "BW_ENVIRONMENT",
    "BW_VOICE_USERNAME",
    "BW_VOICE_PASSWORD",
    "KEEP_ME",
)
# Prints {name: sha256 of the value, or null when unset} for VARIABLES, and its pid.
CHILD = (
    "import hashlib, json, os, sys\n"
    "names = sys.argv[1].split(',')\n"
    "digest = lambda v: None if v is None else hashlib.sha256(v.encode()).hexdigest()\n"
    "print(json.dumps({'pid': os.getpid(), 'argv': sys.argv[2:],\n"
    "                  'env': {n: digest(os.environ.get(n)) for n in names}}))\n"
    "sys.exit(int(os.environ.get('CHILD_EXIT', '0')))\n"
)
SECRET_VOLUME = {
    "accountId": "920012",
    "username": "jdoe",
    "password": CANARY_PASSWORD,
    "apiToken": "tok-123",
    "apiSecret": CANARY_SECRET,
}


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}
    env.update(extra)
    return env


def secret_dir(root: Path, values: Mapping[str, str]) -> str:
    root.mkdir()
    for key, value in values.items():
        (root / key).write_text(value + "\n", encoding="utf-8")
    return f"file:{root}"


def run_exec(
    *args: str, env: dict[str, str], child_args: tuple[str, ...] = ()
) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run ``bwcreds exec ARGS -- python -c CHILD``; returns the result and bwcreds' pid."""
    command = [
        BWCREDS,
        "exec",
        *args,
        "--",
        sys.executable,
        "-c",
        CHILD,
        ",".join(VARIABLES),
        *child_args,
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as process:
        stdout, stderr = process.communicate(timeout=60)
    result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    return result, process.pid


def child_report(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    report = json.loads(result.stdout)
    assert isinstance(report, dict)
    return report


def mismatched(got: Mapping[str, object], expected: Mapping[str, str | None]) -> list[str]:
    """Names whose digest differs; the assertion shows names only, never values."""
    want = {name: None if value is None else digest(value) for name, value in expected.items()}
    return sorted(name for name in want if got.get(name) != want[name])


def assert_clean(*texts: str) -> None:
    for text in texts:
        assert CANARY_PASSWORD not in text
        assert CANARY_SECRET not in text


def test_command_gets_the_canonical_variables(tmp_path: Path) -> None:
    uri = secret_dir(tmp_path / "bw", SECRET_VOLUME)

    result, pid = run_exec("--sources", uri, env=clean_env())

    assert result.returncode == 0, result.stderr
    report = child_report(result)
    env = report["env"]
    assert isinstance(env, dict)
    expected = {
        "BW_ACCOUNT_ID": "920012",
        "BW_USERNAME": "jdoe",
        "BW_PASSWORD": CANARY_PASSWORD,
        "BW_API_TOKEN": "tok-123",
        "BW_API_SECRET": CANARY_SECRET,
        "BW_CLIENT_ID": None,
        "BW_ACCESS_TOKEN": None,
        "BW_VOICE_PASSWORD": None,
    }
    assert mismatched(env, expected) == []
    # exec, not a child process: the command runs as the bwcreds process itself.
    assert report["pid"] == pid
    assert_clean(result.stdout, result.stderr)


def test_sources_come_from_the_environment_by_default(tmp_path: Path) -> None:
    uri = secret_dir(tmp_path / "bw", SECRET_VOLUME)

    result, _ = run_exec(env=clean_env(BANDWIDTH_CREDENTIALS_SOURCES=uri))

    assert result.returncode == 0, result.stderr
    env = child_report(result)["env"]
    assert isinstance(env, dict)
    assert mismatched(env, {"BW_PASSWORD": CANARY_PASSWORD}) == []


def test_other_variables_are_kept_and_inherited_bandwidth_ones_removed(tmp_path: Path) -> None:
    uri = secret_dir(tmp_path / "bw", SECRET_VOLUME)
    env = clean_env(KEEP_ME="kept", BW_USERNAME="stale-user", BW_CLIENT_ID="unrelated")

    result, _ = run_exec("--sources", uri, env=env)

    assert result.returncode == 0, result.stderr
    got = child_report(result)["env"]
    assert isinstance(got, dict)
    expected = {"KEEP_ME": "kept", "BW_USERNAME": "jdoe", "BW_CLIENT_ID": None}
    assert mismatched(got, expected) == []


def test_oauth_variables_are_passed_when_present(tmp_path: Path) -> None:
    values = {
        "accountId": "920012",
        "client_id": "client-1",
        "client_secret": CANARY_SECRET,
        "token_url": "https://127.0.0.1:9/oauth2/token",
        "environment": "test",
    }
    uri = secret_dir(tmp_path / "bw", values)

    result, _ = run_exec("--sources", uri, env=clean_env())

    assert result.returncode == 0, result.stderr
    got = child_report(result)["env"]
    assert isinstance(got, dict)
    expected = {
        "BW_ACCOUNT_ID": "920012",
        "BW_CLIENT_ID": "client-1",
        "BW_CLIENT_SECRET": CANARY_SECRET,
        "BW_TOKEN_URL": "https://127.0.0.1:9/oauth2/token",
        "BW_ENVIRONMENT": "test",
        "BW_USERNAME": None,
        "BW_PASSWORD": None,
    }
    assert mismatched(got, expected) == []
    assert_clean(result.stdout, result.stderr)


@pytest.mark.parametrize("code", [0, 3, 42])
def test_exit_code_is_the_commands(tmp_path: Path, code: int) -> None:
    uri = secret_dir(tmp_path / "bw", SECRET_VOLUME)

    result, _ = run_exec("--sources", uri, env=clean_env(CHILD_EXIT=str(code)))

    assert result.returncode == code


def test_arguments_after_the_separator_belong_to_the_command(tmp_path: Path) -> None:
    uri = secret_dir(tmp_path / "bw", SECRET_VOLUME)
    child_args = ("--sources", "nosuch:x", "--service", "fax", "--")

    result, _ = run_exec("--sources", uri, env=clean_env(), child_args=child_args)

    assert result.returncode == 0, result.stderr
    assert child_report(result)["argv"] == list(child_args)


def marker_command(marker: Path) -> list[str]:
    return [sys.executable, "-c", f"open({str(marker)!r}, 'w').close()"]


def test_missing_credentials_exit_1_with_the_check_message_and_never_start(
    tmp_path: Path,
) -> None:
    values = {k: v for k, v in SECRET_VOLUME.items() if k != "password"}
    uri = secret_dir(tmp_path / "bw", values)
    marker = tmp_path / "started"
    env = clean_env()

    result = subprocess.run(
        [BWCREDS, "exec", "--sources", uri, "--", *marker_command(marker)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    check = subprocess.run(
        [BWCREDS, "check", "--sources", uri], capture_output=True, text=True, env=env, check=False
    )

    assert result.returncode == 1
    assert not marker.exists()
    problems = [line for line in check.stdout.splitlines() if line.startswith("voice:")]
    assert problems
    assert problems[0] in result.stderr.splitlines()
    assert "was not started" in result.stderr
    assert result.stdout == ""
    assert_clean(result.stdout, result.stderr)


def test_only_the_required_services_must_be_ready(tmp_path: Path) -> None:
    values = {k: v for k, v in SECRET_VOLUME.items() if k != "password"}
    uri = secret_dir(tmp_path / "bw", values)

    ready, _ = run_exec("--sources", uri, "--service", "messaging", env=clean_env())
    not_ready, _ = run_exec(
        "--sources", uri, "--service", "messaging", "--service", "voice", env=clean_env()
    )

    assert ready.returncode == 0, ready.stderr
    assert not_ready.returncode == 1
    assert "voice: no credentials for the voice API" in not_ready.stderr
    assert "messaging:" not in not_ready.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--sources", "file:{tmp}/not-mounted"), 1, "does not exist"),
        (("--sources", "nosuch:x"), 2, "configuration error"),
        (("--sources", "file:{tmp}/bw?bogus=1"), 2, "unknown option"),
        (("--service", "fax"), 2, "unknown Bandwidth service"),
    ],
)
def test_failures_never_start_the_command(
    tmp_path: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    secret_dir(tmp_path / "bw", SECRET_VOLUME)
    marker = tmp_path / "started"
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    if "--sources" not in argv:
        argv += ["--sources", f"file:{tmp_path / 'bw'}"]

    result = subprocess.run(
        [BWCREDS, "exec", *argv, "--", *marker_command(marker)],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
    )

    assert result.returncode == code
    assert message in result.stderr
    assert not marker.exists()


def test_no_command_is_a_usage_error(tmp_path: Path) -> None:
    uri = secret_dir(tmp_path / "bw", SECRET_VOLUME)

    result = subprocess.run(
        [BWCREDS, "exec", "--sources", uri, "--"],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
    )

    assert result.returncode == 2
    assert "no command given" in result.stderr


def test_unknown_command_exits_127_without_values(tmp_path: Path) -> None:
    uri = secret_dir(tmp_path / "bw", SECRET_VOLUME)

    result = subprocess.run(
        [BWCREDS, "exec", "--sources", uri, "--", "bwcreds-no-such-command"],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
    )

    assert result.returncode == 127
    assert "command not found: bwcreds-no-such-command" in result.stderr
    assert_clean(result.stdout, result.stderr)


@pytest.mark.parametrize(
    "values",
    [
        {"accountId": "u-" + CANARY_PASSWORD, "username": "j", "password": CANARY_PASSWORD},
        {"accountId": "920012", "username": CANARY_PASSWORD + ":x", "password": CANARY_SECRET},
        {"accountId": "920012", "username": "j", "password": CANARY_PASSWORD + "\x07"},
        {"accountId": "920012", "password": CANARY_PASSWORD, "apiSecret": CANARY_SECRET},
    ],
    ids=["user id as account", "colon in username", "control character", "half pairs"],
)
def test_error_output_never_shows_values(tmp_path: Path, values: dict[str, str]) -> None:
    uri = secret_dir(tmp_path / "bw", values)
    marker = tmp_path / "started"

    result = subprocess.run(
        [BWCREDS, "exec", "--sources", uri, "--", *marker_command(marker)],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
    )

    assert result.returncode == 1
    assert not marker.exists()
    assert_clean(result.stdout, result.stderr)


def test_binary_secret_file_error_never_shows_the_content(tmp_path: Path) -> None:
    root = tmp_path / "bw"
    secret_dir(root, {k: v for k, v in SECRET_VOLUME.items() if k != "password"})
    (root / "password").write_bytes(CANARY_PASSWORD.encode() + b"\xff")
    marker = tmp_path / "started"

    result = subprocess.run(
        [BWCREDS, "exec", "--sources", f"file:{root}", "--", *marker_command(marker)],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
    )

    assert result.returncode == 1
    assert "not UTF-8" in result.stderr
    assert not marker.exists()
    assert_clean(result.stdout, result.stderr)


# -- which variables carry per-service overrides ---------------------------------------------


def resolved_environment(values: Mapping[str, object]) -> dict[str, str]:
    MemoryProvider.stores["a"] = values
    return credential_environment(Resolver(["mem:a"]).resolve().services)


def test_a_shared_pair_becomes_the_unscoped_variables() -> None:
    env = resolved_environment(SECRET_VOLUME)

    assert env == {
        "BW_ACCOUNT_ID": "920012",
        "BW_USERNAME": "jdoe",
        "BW_PASSWORD": CANARY_PASSWORD,
        "BW_API_TOKEN": "tok-123",
        "BW_API_SECRET": CANARY_SECRET,
    }


@pytest.mark.parametrize(
    ("overrides", "scoped"),
    [
        (
            {"voice_username": "vu", "voice_password": "vp"},
            {"BW_VOICE_USERNAME": "vu", "BW_VOICE_PASSWORD": "vp"},
        ),
        (
            {
                "voice": {"username": "vu", "password": "vp"},
                "voice_base_url": "https://127.0.0.1/v",
            },
            {
                "BW_VOICE_USERNAME": "vu",
                "BW_VOICE_PASSWORD": "vp",
                "BW_VOICE_BASE_URL": "https://127.0.0.1/v",
            },
        ),
        ({"numbers_account_id": "777"}, {"BW_NUMBERS_ACCOUNT_ID": "777"}),
    ],
)
def test_a_per_service_override_is_passed_as_its_scoped_variable(
    overrides: dict[str, object], scoped: dict[str, str]
) -> None:
    env = resolved_environment({**SECRET_VOLUME, **overrides})

    assert env["BW_USERNAME"] == "jdoe"
    assert env["BW_ACCOUNT_ID"] == "920012"
    assert {k: v for k, v in env.items() if k not in resolved_environment(SECRET_VOLUME)} == scoped


def test_the_child_resolves_what_the_parent_resolved(tmp_path: Path) -> None:
    values = {**SECRET_VOLUME, "voice_username": "vu", "voice_password": "vp"}
    uri = secret_dir(tmp_path / "bw", values)
    probe = (
        "import hashlib, json\n"
        "from bandwidth_credentials import Resolver\n"
        "r = Resolver(['env'])\n"
        "out = {}\n"
        "for s in ('voice', 'numbers', 'messaging'):\n"
        "    a = r.get_auth(s)\n"
        "    pair = a.username + ':' + a.password.get_secret_value()\n"
        "    out[s] = hashlib.sha256(pair.encode()).hexdigest()\n"
        "print(json.dumps(out))\n"
    )

    result = subprocess.run(
        [BWCREDS, "exec", "--sources", uri, "--", sys.executable, "-W", "ignore", "-c", probe],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
    )

    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    expected = {
        "voice": digest("vu:vp"),
        "numbers": digest("jdoe:" + CANARY_PASSWORD),
        "messaging": digest("tok-123:" + CANARY_SECRET),
    }
    assert sorted(s for s in expected if got.get(s) != expected[s]) == []


# -- the command resolves exactly what bwcreds resolved -----------------------------------

# Prints, per service, what it resolved: kind, account, endpoints, names and digests of
# secrets (never a value), or the error's type.
RESOLUTION = (
    "import hashlib, json, os\n"
    "from bandwidth_credentials import Resolver\n"
    "def show(value):\n"
    "    get = getattr(value, 'get_secret_value', None)\n"
    "    text = get() if get else value\n"
    "    secret = get is not None\n"
    "    return hashlib.sha256(text.encode()).hexdigest()[:16] if secret else text\n"
    "out = {}\n"
    "resolver = Resolver()\n"
    "resolution = resolver.resolve()\n"
    "for scope, outcome in resolution.callbacks.items():\n"
    "    if isinstance(outcome, Exception):\n"
    "        out[f'callbacks {scope}'] = type(outcome).__name__\n"
    "        continue\n"
    "    out[f'callbacks {scope}'] = {\n"
    "        scheme: [hashlib.sha256(e.pair + e.key).hexdigest()[:16] for e in accepted]\n"
    "        for scheme, accepted in outcome.schemes.items()\n"
    "    }\n"
    "for name, outcome in resolution.services.items():\n"
    "    if isinstance(outcome, Exception):\n"
    "        out[name] = type(outcome).__name__\n"
    "        continue\n"
    "    fields = outcome[0]._asdict()\n"
    "    fields.pop('endpoints')\n"
    "    out[name] = {k: show(v) for k, v in fields.items()}\n"
    # With PROBE_ACCOUNT, every resolved service for that account as the program would
    # use it: get_auth(name, account_id=...), its URLs and the SDK's host (or the error).
    "account = os.environ.get('PROBE_ACCOUNT')\n"
    "for name, outcome in resolution.services.items() if account else ():\n"
    "    if isinstance(outcome, Exception):\n"
    "        continue\n"
    "    try:\n"
    "        auth = resolver.get_auth(name, account_id=account)\n"
    "    except Exception as exc:\n"
    "        out[f'{name} {account}'] = type(exc).__name__\n"
    "        continue\n"
    "    try:\n"
    "        host = auth.sdk_configuration().host\n"
    "    except Exception as exc:\n"
    "        host = type(exc).__name__\n"
    "    out[f'{name} {account}'] = [auth.account_id, auth.url('calls'), host]\n"
    "print(json.dumps(out, sort_keys=True))\n"
)
CREDS_ENV = (
    "BW_ACCOUNT_ID=920012\n"
    "BW_CLIENT_ID=client-1\n"
    f"BW_CLIENT_SECRET={CANARY_SECRET}\n"
    "BW_TOKEN_URL=http://127.0.0.1:9/api/v1/oauth2/token\n"
    "BW_VOICE_BASE_URL=http://127.0.0.1:9/api/v2/accounts/920012\n"
)
BASIC_ENV = f"BW_ACCOUNT_ID=920012\nBW_USERNAME=jdoe\nBW_PASSWORD={CANARY_PASSWORD}\n"
# Client credentials the token endpoint of the table's test knows (TOKEN_ROOT: its URL
# without the path); its tokens list the accounts 920012 and 920013.
OAUTH_ENV = f"BW_ACCOUNT_ID=920012\nBW_CLIENT_ID={CLIENT_ID}\nBW_CLIENT_SECRET={CLIENT_SECRET}\n"
# A store's callback keys (loose spellings), current and previous, shared and per app.
CALLBACK_STORE = {
    "callbackUsername": "bandwidth",
    "callbackPassword": "callback-pw-2",
    "previousCallbackUsername": "bandwidth",
    "previousCallbackPassword": "callback-pw-1",
    "webhookSecret": "webhook-key-2",
    "webhookPreviousSecret": "webhook-key-1",
    "salesTfvWebhookSecret": "sales-tfv-secret-0002",
    "salesTfvWebhookPreviousSecret": "sales-tfv-secret-0001",
}
STRAY = "http://127.0.0.2:9"

# (case, the sources, the .env file's content, inherited variables)
INHERITED: list[tuple[str, str, str, dict[str, str]]] = [
    (
        "token URL",
        "dotenv:creds.env",
        CREDS_ENV.replace("BW_TOKEN_URL", "X_TOKEN_URL"),
        {"BW_TOKEN_URL": STRAY + "/token"},
    ),
    ("host override", "dotenv:creds.env", CREDS_ENV, {"BW_API_URL": STRAY}),
    ("messaging host", "dotenv:creds.env", CREDS_ENV, {"BW_MESSAGING_URL": STRAY}),
    ("base URL", "dotenv:creds.env", CREDS_ENV, {"BW_NUMBERS_BASE_URL": STRAY + "/n"}),
    (
        "the other prefix",
        "dotenv:creds.env",
        BASIC_ENV,
        {"BANDWIDTH_USERNAME": "someone", "BANDWIDTH_PASSWORD": "another"},
    ),
    (
        "a scoped pair",
        "dotenv:creds.env",
        BASIC_ENV,
        {"BW_VOICE_USERNAME": "v", "BW_VOICE_PASSWORD": "w"},
    ),
    ("environment", "dotenv:creds.env", CREDS_ENV, {"BW_ENVIRONMENT": "test"}),
    ("file", "dotenv:creds.env", BASIC_ENV, {"BW_PASSWORD_FILE": "stray.txt"}),
    (
        "sources",
        "dotenv:creds.env",
        BASIC_ENV,
        {"BANDWIDTH_CREDENTIALS_SOURCES": "dotenv:stray.env"},
    ),
    (
        "custom prefix",
        "env?prefix=APP_BW_",
        "",
        {
            "APP_BW_ACCOUNT_ID": "920012",
            "APP_BW_USERNAME": "jdoe",
            "APP_BW_PASSWORD": CANARY_PASSWORD,
            "BW_USERNAME": "stray",
            "BW_PASSWORD": "stray-password",
        },
    ),
    (
        "Bitwarden's master password",
        "env,dotenv:creds.env",
        BASIC_ENV.replace("BW_PASSWORD", "BANDWIDTH_PASSWORD"),
        {"BW_SESSION": "bw-session", "BW_PASSWORD": "bitwarden-master"},
    ),
    (
        "one service's OAuth, the others Basic",
        "dotenv:creds.env",
        BASIC_ENV
        + "BW_VOICE_CLIENT_ID=client-1\n"
        + f"BW_VOICE_CLIENT_SECRET={CANARY_SECRET}\n"
        + "BW_API_TOKEN=tok-123\nBW_API_SECRET=sec-456\n",
        {},
    ),
    (
        "callback credentials",
        "dotenv:creds.env",
        BASIC_ENV + "BW_CALLBACK_USERNAME=bandwidth\nBW_CALLBACK_PASSWORD=callback-pw\n"
        "BW_SALES_WEBHOOK_SECRET=0123456789abcdef0123\n",
        {
            "BW_CALLBACK_PASSWORD": "stray-callback-pw",
            "BW_SALES_WEBHOOK_SECRET": "fedcba9876543210fedc",
            "BW_WEBHOOK_SECRET": "stray-webhook-secret-01",
        },
    ),
    (
        "callback credentials with their previous values, shared and per application",
        "dotenv:creds.env",
        BASIC_ENV + "BW_CALLBACK_USERNAME=bandwidth\nBW_CALLBACK_PASSWORD=callback-pw\n"
        "BW_CALLBACK_PREVIOUS_USERNAME=bandwidth\nBW_CALLBACK_PREVIOUS_PASSWORD=old-callback-pw\n"
        "BW_WEBHOOK_SECRET=webhook-key-0001\nBW_WEBHOOK_PREVIOUS_SECRET=webhook-key-0000\n"
        "BW_TFV_WEBHOOK_SECRET=tfv-shared-secret-01\n"
        "BW_TFV_WEBHOOK_PREVIOUS_SECRET=tfv-shared-secret-00\n"
        "BW_SALES_EU_CALLBACK_USERNAME=sales\nBW_SALES_EU_CALLBACK_PASSWORD=sales-pw-2\n"
        "BW_SALES_EU_CALLBACK_PREVIOUS_USERNAME=sales\n"
        "BW_SALES_EU_CALLBACK_PREVIOUS_PASSWORD=sales-pw-1\n"
        "BW_ORDERS_WEBHOOK_SECRET=orders-key-2\nBW_ORDERS_WEBHOOK_PREVIOUS_SECRET=orders-key-1\n",
        {
            "BW_CALLBACK_PREVIOUS_PASSWORD": "stray-previous",
            "BW_ORDERS_WEBHOOK_PREVIOUS_SECRET": "stray-orders-previous",
            "BW_ORDERS_TFV_WEBHOOK_PREVIOUS_SECRET": "stray-orders-tfv-previous",
        },
    ),
    (
        "callback credentials from a store, previous values beside them",
        "file:callbacks.json,dotenv:creds.env",
        BASIC_ENV,
        {"BW_WEBHOOK_PREVIOUS_SECRET": "stray-webhook-previous"},
    ),
    (
        "mixed-case names",
        "dotenv:creds.env",
        CREDS_ENV,
        {"bw_token_url": STRAY + "/token", "Bw_Voice_Base_Url": STRAY, "bw_api_url": STRAY},
    ),
    (
        "a lowercase custom prefix in the URI",
        "env?prefix=app_bw_",
        "",
        {
            "APP_BW_ACCOUNT_ID": "920012",
            "APP_BW_USERNAME": "jdoe",
            "APP_BW_PASSWORD": CANARY_PASSWORD,
            "app_bw_voice_username": "stray",
        },
    ),
    (
        "a custom prefix's file variable",
        "env?prefix=APP_BW_,dotenv:creds.env",
        BASIC_ENV,
        {"APP_BW_ACCOUNT_ID": "920012", "APP_BW_VOICE_PASSWORD_FILE": "stray.txt"},
    ),
    (
        "look-alike names are neither read nor an obstacle",
        "env,dotenv:creds.env",
        BASIC_ENV,
        {"BW_PA\u017f\u017fWORD": "stray", "bw_account_\u0131d": "1", "BW_PASSWORD_F\u0131LE": "x"},
    ),
    (
        "the client secret's expiry",
        "dotenv:creds.env",
        CREDS_ENV + "BW_CLIENT_SECRET_EXPIRES_AT=2027-03-06T00:00:00Z\n",
        {"BW_VOICE_CLIENT_SECRET_EXPIRES_AT": "2026-12-08T00:00:00Z"},
    ),
    (
        "one service's OAuth with its expiry, the others Basic",
        "dotenv:creds.env",
        BASIC_ENV
        + "BW_VOICE_CLIENT_ID=client-1\n"
        + f"BW_VOICE_CLIENT_SECRET={CANARY_SECRET}\n"
        + "BW_VOICE_CLIENT_SECRET_EXPIRES_AT=2027-03-06T00:00:00Z\n",
        {},
    ),
    (
        "another account, a host override in the credentials' source",
        "dotenv:creds.env",
        BASIC_ENV + "BW_VOICE_URL=http://127.0.0.1:18081\n",
        {"PROBE_ACCOUNT": "920013"},
    ),
    (
        "another account, OAuth with host overrides in the credentials' source",
        "dotenv:creds.env",
        OAUTH_ENV + "BW_API_URL=TOKEN_ROOT\nBW_VOICE_URL=http://127.0.0.1:18081\n",
        {"PROBE_ACCOUNT": "920013"},
    ),
    (
        "another account, OAuth with every host override and the test environment",
        "dotenv:creds.env",
        OAUTH_ENV + "BW_API_URL=TOKEN_ROOT\nBW_VOICE_URL=http://127.0.0.1:18081\n"
        "BW_MESSAGING_URL=http://127.0.0.1:18082/\nBW_ENVIRONMENT=test\n",
        {"PROBE_ACCOUNT": "920013"},
    ),
    (
        "another account, base URLs given",
        "dotenv:creds.env",
        OAUTH_ENV + "BW_TOKEN_URL=TOKEN_ROOT/api/v1/oauth2/token\n"
        "BW_VOICE_BASE_URL=http://127.0.0.1:18081/api/v2/accounts/920012\n"
        "BW_NUMBERS_BASE_URL=http://127.0.0.1:18083/api/accounts/920012/\n",
        {"PROBE_ACCOUNT": "920013"},
    ),
    (
        "another account, one service's OAuth and host override, the others' default hosts",
        "env?prefix=APP_BW_,dotenv:creds.env",
        BASIC_ENV,
        {
            "PROBE_ACCOUNT": "920013",
            "APP_BW_VOICE_CLIENT_ID": CLIENT_ID,
            "APP_BW_VOICE_CLIENT_SECRET": CLIENT_SECRET,
            "APP_BW_API_URL": "TOKEN_ROOT",
        },
    ),
    (
        "another account, host overrides beside a pair that OAuth outranks",
        "env?prefix=APP_BW_,dotenv:creds.env",
        OAUTH_ENV + "BW_API_URL=TOKEN_ROOT\n",
        {
            "PROBE_ACCOUNT": "920013",
            "APP_BW_VOICE_USERNAME": "jdoe",
            "APP_BW_VOICE_PASSWORD": CANARY_PASSWORD,
            "APP_BW_VOICE_URL": "http://127.0.0.1:18081",
            "APP_BW_API_URL": STRAY,
        },
    ),
    (
        # BW_API_URL has no per-service name: Phone Number Lookup gets its final base URL
        # (another account's would keep this one's), the other API-host services none.
        "a host override only one of the services sharing that host read",
        "env?prefix=APP_BW_,dotenv:creds.env",
        BASIC_ENV,
        {
            "APP_BW_PHONE_NUMBER_LOOKUP_USERNAME": "lookup",
            "APP_BW_PHONE_NUMBER_LOOKUP_PASSWORD": CANARY_PASSWORD,
            "APP_BW_API_URL": "http://127.0.0.1:18084",
        },
    ),
    (
        "one service's own pair sharing its password with the others' pair",
        "dotenv:creds.env",
        BASIC_ENV + f"BW_VOICE_USERNAME=vu\nBW_VOICE_PASSWORD={CANARY_PASSWORD}\n",
        {},
    ),
    (
        "one service's own client id beside the others' secret",
        "dotenv:creds.env",
        OAUTH_ENV + f"BW_API_URL=TOKEN_ROOT\nBW_VOICE_CLIENT_ID=client-2\n"
        f"BW_VOICE_CLIENT_SECRET={CLIENT_SECRET}\n",
        {},
    ),
    (
        "a custom prefix that starts like a service's names",
        "env?prefix=BW_VOICE_",
        "",
        {
            "PROBE_ACCOUNT": "920013",
            "BW_VOICE_ACCOUNT_ID": "920012",
            "BW_VOICE_USERNAME": "jdoe",
            "BW_VOICE_PASSWORD": CANARY_PASSWORD,
            "BW_VOICE_URL": STRAY,
            "BW_VOICE_BASE_URL": STRAY + "/v",
            "BW_VOICE_BASE_URL_FILE": "stray-url.txt",
            "BW_MESSAGING_URL": STRAY,
            "BANDWIDTH_API_URL": STRAY,
            "BANDWIDTH_ENVIRONMENT": "test",
            "BW_SALES_CALLBACK_PASSWORD": "stray-callback-pw",
        },
    ),
    (
        "a custom prefix that starts like Messaging's names",
        "env?prefix=BW_MESSAGING_",
        "",
        {
            "BW_MESSAGING_ACCOUNT_ID": "920012",
            "BW_MESSAGING_CLIENT_ID": CLIENT_ID,
            "BW_MESSAGING_CLIENT_SECRET": CLIENT_SECRET,
            "BW_MESSAGING_TOKEN_URL": "TOKEN_ROOT/api/v1/oauth2/token",
            "BW_MESSAGING_URL": STRAY,
            "bw_messaging_base_url": STRAY + "/m",
            "BW_VOICE_URL": STRAY,
            "BW_VOICE_TOKEN_URL_FILE": "stray-url.txt",
            "BW_WEBHOOK_SECRET": "stray-webhook-secret-01",
        },
    ),
    (
        "custom prefixes next to the default ones",
        "env?prefix=BW_VOICE_&prefix=BW_,dotenv:creds.env",
        BASIC_ENV,
        {
            "PROBE_ACCOUNT": "920013",
            "BW_VOICE_URL": "http://127.0.0.1:18081",
            "BANDWIDTH_VOICE_URL": STRAY,
            "BANDWIDTH_PASSWORD_FILE": "stray.txt",
            "BANDWIDTH_CALLBACK_PASSWORD": "stray-callback-pw",
        },
    ),
    (
        "another account, the BANDWIDTH_ prefix's host override and environment",
        "dotenv:creds.env",
        OAUTH_ENV.replace("BW_", "BANDWIDTH_") + "BANDWIDTH_API_URL=TOKEN_ROOT\n"
        "bandwidth_voice_url=http://127.0.0.1:18081\nBANDWIDTH_VOICE_ENVIRONMENT=test\n",
        {"PROBE_ACCOUNT": "920013", "BW_ENVIRONMENT": "uat", "BANDWIDTH_MESSAGING_URL": STRAY},
    ),
    (
        "a custom prefix's callback credentials",
        "env?prefix=APP_BW_,dotenv:creds.env",
        BASIC_ENV,
        {
            "APP_BW_CALLBACK_USERNAME": "bandwidth",
            "APP_BW_CALLBACK_PASSWORD": "callback-pw",
            "APP_BW_SALES_WEBHOOK_SECRET": "0123456789abcdef0123",
            "BW_CALLBACK_PREVIOUS_PASSWORD": "stray-previous",
            "BANDWIDTH_WEBHOOK_SECRET": "stray-webhook-secret-01",
            "BW_SALES_CALLBACK_PASSWORD_FILE": "stray.txt",
        },
    ),
    (
        "host overrides and environment in the credentials' source",
        "dotenv:creds.env",
        CREDS_ENV.replace("BW_TOKEN_URL", "BW_API_URL=http://127.0.0.1:9\nX_TOKEN_URL")
        + "BW_ENVIRONMENT=test\n",
        {},
    ),
]


@pytest.mark.filterwarnings("ignore:Bandwidth decommission")
@pytest.mark.parametrize(
    ("sources", "dotenv", "inherited"),
    [case[1:] for case in INHERITED],
    ids=[case[0] for case in INHERITED],
)
def test_the_command_resolves_exactly_what_bwcreds_resolved(
    tmp_path: Path,
    token_server: TokenServer,
    sources: str,
    dotenv: str,
    inherited: dict[str, str],
) -> None:
    token_server.claims = {"accounts": ["920012", "920013"], "roles": [], "express": False}
    root = token_server.url.removesuffix("/api/v1/oauth2/token")
    (tmp_path / "creds.env").write_text(dotenv.replace("TOKEN_ROOT", root), encoding="utf-8")
    (tmp_path / "stray.txt").write_text("stray-password-from-file\n", encoding="utf-8")
    (tmp_path / "stray-url.txt").write_text(STRAY + "/from-a-file\n", encoding="utf-8")
    (tmp_path / "stray.env").write_text("BW_USERNAME=stray\n", encoding="utf-8")
    (tmp_path / "callbacks.json").write_text(json.dumps(CALLBACK_STORE), encoding="utf-8")
    env = clean_env(**{k: v.replace("TOKEN_ROOT", root) for k, v in inherited.items()})
    probe = [sys.executable, "-W", "ignore", "-c", RESOLUTION]

    parent = subprocess.run(
        probe,
        capture_output=True,
        text=True,
        env={**env, "BANDWIDTH_CREDENTIALS_SOURCES": sources},
        cwd=tmp_path,
        check=False,
    )
    child = subprocess.run(
        [BWCREDS, "exec", "--sources", sources, "--service", "voice", "--", *probe],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )

    assert parent.returncode == 0, parent.stderr
    assert child.returncode == 0, child.stderr
    expected, got = json.loads(parent.stdout), json.loads(child.stdout)
    assert isinstance(expected["voice"], dict)  # the case resolved something to compare
    account = inherited.get("PROBE_ACCOUNT")
    if account is not None:  # ... and for that account too
        assert [expected[f"voice {account}"][0], got[f"voice {account}"][0]] == [account] * 2
    assert sorted(s for s in expected if got.get(s) != expected[s]) == []
    assert_clean(parent.stdout, child.stdout, child.stderr)


def test_the_command_keeps_bitwardens_variables(tmp_path: Path) -> None:
    (tmp_path / "creds.env").write_text(BASIC_ENV, encoding="utf-8")
    env = clean_env(BW_SESSION="bw-session", BW_PASSWORD="bitwarden-master")

    result, _ = run_exec("--sources", f"dotenv:{tmp_path / 'creds.env'}", env=env)

    assert result.returncode == 0, result.stderr
    got = child_report(result)["env"]
    assert isinstance(got, dict)
    assert mismatched(got, {"BW_PASSWORD": "bitwarden-master", "BW_USERNAME": "jdoe"}) == []


@pytest.mark.parametrize(
    "sources",
    ["dotenv:creds.env", "file:callbacks.json"],
    ids=["callback variables only", "a store of callback keys only"],
)
def test_callback_credentials_alone_start_the_command_with_all_of_them(
    tmp_path: Path, sources: str
) -> None:
    # A server that only receives callbacks has no API credentials: it starts all the
    # same, and resolves exactly the callback credentials bwcreds resolved.
    (tmp_path / "creds.env").write_text(
        "BW_CALLBACK_USERNAME=bandwidth\nBW_CALLBACK_PASSWORD=callback-pw\n"
        "BW_CALLBACK_PREVIOUS_USERNAME=bandwidth\nBW_CALLBACK_PREVIOUS_PASSWORD=old-pw\n"
        "BW_SALES_WEBHOOK_SECRET=sales-key-2\nBW_SALES_WEBHOOK_PREVIOUS_SECRET=sales-key-1\n",
        encoding="utf-8",
    )
    (tmp_path / "callbacks.json").write_text(json.dumps(CALLBACK_STORE), encoding="utf-8")
    env = clean_env(BW_CALLBACK_PASSWORD="stray-callback-pw")
    probe = [sys.executable, "-W", "ignore", "-c", RESOLUTION]

    parent = subprocess.run(
        probe,
        capture_output=True,
        text=True,
        env={**env, "BANDWIDTH_CREDENTIALS_SOURCES": sources},
        cwd=tmp_path,
        check=False,
    )
    child = subprocess.run(
        [BWCREDS, "exec", "--sources", sources, "--", *probe],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )

    assert parent.returncode == 0, parent.stderr
    assert child.returncode == 0, child.stderr
    expected, got = json.loads(parent.stdout), json.loads(child.stdout)
    callbacks = [key for key, value in expected.items() if key.startswith("callbacks")]
    assert all(isinstance(expected[key], dict) for key in callbacks)
    assert any(len(accepted) == 2 for accepted in expected["callbacks None"].values())
    assert expected["voice"] == "CredentialNotFoundError"
    assert sorted(s for s in expected if got.get(s) != expected[s]) == []


def test_unusable_callback_credentials_do_not_start_the_command(tmp_path: Path) -> None:
    (tmp_path / "creds.env").write_text(
        BASIC_ENV + "BW_CALLBACK_USERNAME=bandwidth\nBW_CALLBACK_PASSWORD=bad\u0007pw\n",
        encoding="utf-8",
    )

    result, _ = run_exec("--sources", "dotenv:creds.env", env=clean_env())

    assert result.returncode == 1
    assert result.stdout == ""
    assert "callback" in result.stderr
    assert "bad" not in result.stderr


# Prints voice's account, URL and SDK host: as configured (or for ACCOUNT), and for OTHER.
ACCOUNT_PROBE = (
    "import json, os\n"
    "from bandwidth_credentials import get_auth\n"
    "out = []\n"
    "for account in (os.environ.get('ACCOUNT'), os.environ['OTHER']):\n"
    "    auth = get_auth('voice', account_id=account)\n"
    "    out.append([auth.account_id, auth.url('calls'), auth.sdk_configuration().host])\n"
    "print(json.dumps(out))\n"
)


@pytest.mark.parametrize("hosts", ["BW_VOICE_URL=http://127.0.0.1:18081\n", ""])
def test_the_command_given_another_account_resolves_it_and_the_others_as_bwcreds(
    tmp_path: Path, token_server: TokenServer, hosts: str
) -> None:
    token_server.claims = {"accounts": ["920012", "920013"], "roles": [], "express": False}
    root = token_server.url.removesuffix("/api/v1/oauth2/token")
    (tmp_path / "creds.env").write_text(
        OAUTH_ENV + f"BW_API_URL={root}\n" + hosts, encoding="utf-8"
    )
    env = clean_env(OTHER="920012")
    probe = [sys.executable, "-W", "ignore", "-c", ACCOUNT_PROBE]

    parent = subprocess.run(
        probe,
        capture_output=True,
        text=True,
        env={**env, "ACCOUNT": "920013", "BANDWIDTH_CREDENTIALS_SOURCES": "dotenv:creds.env"},
        cwd=tmp_path,
        check=False,
    )
    child = subprocess.run(
        [BWCREDS, "exec", "--sources", "dotenv:creds.env", "--account-id", "920013", "--", *probe],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )

    assert parent.returncode == 0, parent.stderr
    assert child.returncode == 0, child.stderr
    expected, got = json.loads(parent.stdout), json.loads(child.stdout)
    assert [row[0] for row in expected] == ["920013", "920012"]
    assert got == expected
