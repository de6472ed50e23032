"""What ``bwcreds`` prints: text from outside escaped, and hints that fit the failure."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import ClassVar

import pytest

from bandwidth_credentials import (
    Fetched,
    Provider,
    StoreConflictError,
    register_provider,
    unregister_provider,
)
from bandwidth_credentials._cli import main
from bandwidth_credentials.testing import today_is

from .helpers import NOBODY
from .misbehaving import misbehaving, redirect
from .oauth_servers import CLIENT_ID, CLIENT_SECRET, TokenServer, serve

BWCREDS = str(Path(sys.executable).with_name("bwcreds"))
# Terminal control: an OSC title change, a screen clear, a bidi override, a bell.
HOSTILE = ("\x1b]0;owned\x07", "\x1b[2J", "\u202eevil", "\x9b31m")


def bwcreds(
    *args: str, env: dict[str, str], cwd: Path, user: int | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}
    environ.update(env)
    return subprocess.run(
        [BWCREDS, *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd,
        timeout=60,
        check=False,
        user=user,
    )


def assert_escaped(text: str) -> None:
    for char in "\x1b\x07\u202e\x9b":
        assert char not in text


@pytest.fixture
def hostile_token_server() -> Iterator[TokenServer]:
    server = TokenServer(CLIENT_ID, CLIENT_SECRET)
    server.claims = {"accounts": ["920012", HOSTILE[0]], "roles": list(HOSTILE)}
    with serve(server) as url:
        server.url = url + "/api/v1/oauth2/token"
        yield server


def oauth_env(token_url: str) -> dict[str, str]:
    return {
        "BW_ACCOUNT_ID": "920012",
        "BW_CLIENT_ID": CLIENT_ID,
        "BW_CLIENT_SECRET": CLIENT_SECRET,
        "BW_TOKEN_URL": token_url,
    }


def test_token_claims_are_printed_escaped(
    hostile_token_server: TokenServer, tmp_path: Path
) -> None:
    result = bwcreds(
        "check", "--online", "voice", env=oauth_env(hostile_token_server.url), cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert_escaped(result.stdout + result.stderr)
    assert "\\x1b]0;owned\\x07" in result.stdout  # shown, as visible escapes


@pytest.mark.parametrize("args", [(), ("--json",)], ids=["text", "json"])
def test_a_line_break_in_server_text_starts_no_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    # A role or account claim with a line break would print a line of its own (such as a
    # forged "voice ... ready" row); JSON output stays valid JSON holding the text as is.
    forged = ("r\nFORGED ROLE", "\u2028FORGED", "\x85FORGED")
    server = TokenServer(CLIENT_ID, CLIENT_SECRET)
    server.claims = {"accounts": ["920012", "1\nFORGED ACCOUNT"], "roles": list(forged)}
    with serve(server) as url:
        server.url = url + "/api/v1/oauth2/token"
        result = bwcreds(
            "check", "--online", "voice", *args, env=oauth_env(server.url), cwd=tmp_path
        )

    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert [line for line in output.splitlines() if line.startswith("FORGED")] == []
    assert "\u2028" not in output
    assert "\x85" not in output
    if args:
        import json

        tokens = json.dumps(json.loads(result.stdout))
        assert "FORGED ROLE" in tokens


def test_a_redirects_location_is_printed_escaped(tmp_path: Path) -> None:
    target = "http://127.0.0.2:9/\x1b]0;owned\x07/\x9b31m"  # latin-1: what a header holds
    with misbehaving(redirect(target)) as server:
        result = bwcreds(
            "check", "--online", "voice", env=oauth_env(server.url + "/token"), cwd=tmp_path
        )

    assert result.returncode == 1
    assert "redirect" in result.stdout
    assert_escaped(result.stdout + result.stderr)


def test_key_names_from_a_dotenv_file_are_printed_escaped(tmp_path: Path) -> None:
    (tmp_path / "creds.env").write_text(
        'BW_ACCOUNT_ID=920012\n"BW_\x1b[2JPASSWORD"=x\n', encoding="utf-8"
    )

    result = bwcreds("explain", "--sources", "dotenv:creds.env", env={}, cwd=tmp_path)

    assert_escaped(result.stdout + result.stderr)


# -- every outside value printed on one line, escaped -------------------------------------

# A name or version from outside with a line break and terminal control in it: printed raw,
# it would start a line of its own ("FORGED ...") and drive the terminal.
FORGED = "x\nFORGED \x1b]0;owned\x07\u202e"


class HostileVersionStore(Provider):
    """``hostile:`` a writable store in memory whose versions are outside text."""

    scheme = "hostile"
    values: ClassVar[dict[str, object]] = {}
    generation: ClassVar[int] = 0

    def _version(self) -> str:
        return f"{HostileVersionStore.generation}{FORGED}"

    def fetch(self) -> Fetched:
        return Fetched(values=dict(HostileVersionStore.values), version=self._version())

    def store_problem(self) -> str | None:
        return None

    def store(self, values: Mapping[str, object], expected_version: str | None) -> str | None:
        if expected_version != self._version():
            raise StoreConflictError(f"source {self.source.uri}: moved", source=self.source.uri)
        HostileVersionStore.values = dict(values)
        HostileVersionStore.generation += 1
        return self._version()


def _exec_not_found(monkeypatch: pytest.MonkeyPatch) -> int:
    for name, value in {"BW_ACCOUNT_ID": "920012", "BW_CLIENT_ID": CLIENT_ID}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BW_CLIENT_SECRET", CLIENT_SECRET)
    return main(["exec", "--sources", "env", "--service", "voice", "--", FORGED])


def _exec_not_ready(monkeypatch: pytest.MonkeyPatch) -> int:
    return main(["exec", "--sources", "env", "--service", "voice", "--", FORGED])


def _rotate_store_version(monkeypatch: pytest.MonkeyPatch) -> int:
    from . import rotation_kit as kit

    monkeypatch.setattr(HostileVersionStore, "values", {})
    monkeypatch.setattr(HostileVersionStore, "generation", 0)
    register_provider("hostile", HostileVersionStore)
    try:
        with today_is((2026, 12, 6)), kit.bandwidth() as (_, url):
            HostileVersionStore.values = {
                "BW_ACCOUNT_ID": "920012",
                "BW_CLIENT_ID": kit.ADMIN_ID,
                "BW_CLIENT_SECRET": kit.ADMIN_SECRET,
                "BW_API_URL": url,
            }
            return main(["rotate", "--source", "hostile:bw"])
    finally:
        unregister_provider("hostile")


@pytest.mark.parametrize(
    ("run", "code"),
    [
        pytest.param(_exec_not_found, 127, id="exec-command-not-found"),
        pytest.param(_exec_not_ready, 1, id="exec-command-not-started"),
        pytest.param(_rotate_store_version, 0, id="rotate-store-version"),
    ],
)
def test_outside_values_are_printed_on_one_line_escaped(
    run: Callable[[pytest.MonkeyPatch], int],
    code: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in list(os.environ):
        if name.startswith(("BW_", "BANDWIDTH_")):
            monkeypatch.delenv(name)

    returned = run(monkeypatch)

    output = capsys.readouterr()
    text = output.out + output.err
    assert returned == code, text
    assert [line for line in text.splitlines() if line.startswith("FORGED")] == []
    assert_escaped(text)
    assert "x\\nFORGED \\x1b]0;owned\\x07\\u202e" in text  # shown, as visible escapes


# -- hints fit the failure --------------------------------------------------------------


def test_a_missing_dotenv_file_suggests_marking_it_optional(tmp_path: Path) -> None:
    result = bwcreds("check", "--sources", "dotenv:absent.env", env={}, cwd=tmp_path)

    assert result.returncode == 1
    assert "optional=true" in result.stdout


def test_an_env_source_failure_does_not_suggest_marking_env_optional(tmp_path: Path) -> None:
    env = {"BW_ACCOUNT_ID": "920012", "BW_PASSWORD_FILE": str(tmp_path / "absent")}

    result = bwcreds("check", "--sources", "env", env=env, cwd=tmp_path)

    assert result.returncode == 1
    assert "optional" not in result.stdout
    assert "BW_PASSWORD_FILE" in result.stdout
    assert "_FILE variable" in result.stdout


def test_a_source_that_is_not_a_file_does_not_suggest_marking_it_optional(
    tmp_path: Path,
) -> None:
    (tmp_path / "creds.env").mkdir()

    result = bwcreds("check", "--sources", "dotenv:creds.env", env={}, cwd=tmp_path)

    assert result.returncode == 1
    assert "not a regular file" in result.stdout
    assert "optional" not in result.stdout


def test_permission_denied_does_not_suggest_marking_it_optional(shared_dir: Path) -> None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("needs root to run bwcreds as an unprivileged user")
    path = shared_dir / "creds.env"
    path.write_text("BW_ACCOUNT_ID=920012\n", encoding="utf-8")
    path.chmod(0o000)

    try:
        result = bwcreds(
            "check", "--sources", f"dotenv:{path}", env={}, cwd=shared_dir, user=NOBODY
        )
    except PermissionError:
        pytest.skip("the unprivileged user cannot run this interpreter")

    if "Permission denied" in result.stderr and "bwcreds" not in result.stdout + result.stderr:
        pytest.skip("the unprivileged user cannot run this interpreter")
    assert result.returncode == 1, result.stderr
    assert "optional" not in result.stdout
    assert "grant it access" in result.stdout


#: A ``*_FILE`` variable's failure and the hint that fits it (and the ones that do not).
ENV_FILE_FAILURES = {
    "missing": ("missing", "does not exist: fix the path or unset it"),
    "too-large": ("large", "cannot be used as it is (see the message above)"),
    "directory": ("directory", "cannot be used as it is (see the message above)"),
    "permission-denied": ("unreadable", "may not read: grant it read access"),
}


@pytest.mark.parametrize(("case", "hint"), ENV_FILE_FAILURES.values(), ids=ENV_FILE_FAILURES.keys())
def test_an_env_file_failure_gets_the_hint_that_fits_it(
    shared_dir: Path, case: str, hint: str
) -> None:
    path = shared_dir / "password"
    user = None
    if case == "large":
        path.write_text("x" * 200, encoding="utf-8")
    elif case == "directory":
        path.mkdir()
    elif case == "unreadable":
        if not hasattr(os, "geteuid") or os.geteuid() != 0:
            pytest.skip("needs root to run bwcreds as an unprivileged user")
        path.write_text("pw", encoding="utf-8")
        path.chmod(0o000)
        user = NOBODY
    env = {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "u", "BW_PASSWORD_FILE": str(path)}

    try:
        result = bwcreds(
            "check", "voice", "--sources", "env?max_size=100", env=env, cwd=shared_dir, user=user
        )
    except PermissionError:
        pytest.skip("the unprivileged user cannot run this interpreter")

    if user is not None and "bwcreds" not in result.stdout + result.stderr:
        pytest.skip("the unprivileged user cannot run this interpreter")
    assert result.returncode == 1, result.stderr
    [shown] = [line.strip() for line in result.stdout.splitlines() if "*_FILE" in line]
    assert hint in shown
    others = {h for _, h in ENV_FILE_FAILURES.values()} - {hint}
    assert not any(other in shown for other in others)
