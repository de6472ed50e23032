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
