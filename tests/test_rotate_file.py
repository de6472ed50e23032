"""``bwcreds rotate`` with a ``file:`` source (a JSON file and a dotenv file)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

from bandwidth_credentials import SourceAccessDeniedError, StoreNotSupportedError
from bandwidth_credentials._cli import main
from bandwidth_credentials._provider import parse_source
from bandwidth_credentials.providers.dotenv import DotenvProvider
from bandwidth_credentials.providers.file import FileProvider
from bandwidth_credentials.testing import StoreContract, check_no_leaks, today_is
from tests import rotation_kit as kit
from tests.credentials_api import new_secret


class FileStore:
    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.fmt = fmt
        self.uri = f"file:{path}"

    def seed(self, values: Any) -> None:
        if self.fmt == "json":
            self.path.write_text(json.dumps(dict(values)))
        else:
            self.path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        os.chmod(self.path, 0o600)

    def read(self) -> dict[str, Any]:
        from bandwidth_credentials._errors import SourceError
        from bandwidth_credentials.providers._file_formats import parse

        def error(kind: type[SourceError], reason: str) -> SourceError:
            return kind(reason, source=self.uri)

        return parse(self.path.read_text(), str(self.path), self.fmt, error)

    def state(self) -> object:
        info = self.path.stat()
        listing = sorted(os.listdir(self.path.parent))
        return (self.path.read_bytes(), info.st_ino, info.st_mtime_ns, listing)

    def tamper(self) -> None:
        values = self.read()
        values["BW_NOTE"] = "written by someone else"
        self.seed(values)


class _FileStoreContract(StoreContract):
    """A single ``file:`` (JSON or dotenv) joins the store contract; a directory of key
    files and Vault Agent's rendering are the sources it refuses to write."""

    scheme = "file"
    fmt: ClassVar[str]
    read_only: ClassVar[Mapping[str, str]] = {
        "directory": "directory of key files",
        "vault-agent": "Vault Agent",
    }

    @property
    def file(self) -> FileStore:
        found: FileStore | None = self.__dict__.get("_file")
        if found is None:
            found = self.__dict__["_file"] = FileStore(self.tmp / f"bandwidth.{self.fmt}", self.fmt)
        return found

    def location(self) -> str:
        return self.file.uri

    def seed(self, values: Mapping[str, str]) -> None:
        self.file.seed(values)

    def read(self) -> dict[str, Any]:
        return self.file.read()

    def state(self) -> object:
        return self.file.state()

    def read_only_uri(self, variant: str, values: Mapping[str, str]) -> str:
        if variant == "directory":
            (self.tmp / "dir").mkdir()
            for key, value in values.items():
                (self.tmp / "dir" / key).write_text(value)
            return f"file:{self.tmp / 'dir'}"
        agent = self.tmp / "agent.txt"
        agent.write_text("".join(f"{k}: {v}\n" for k, v in values.items()))
        return f"file:{agent}?format=vault-agent"

    def read_only_state(self, variant: str) -> object:
        return sorted(
            (str(path), path.read_bytes() if path.is_file() else b"")
            for path in self.tmp.rglob("*")
            if path.name != "admin.json"
        )

    def after_rotation(self) -> None:
        assert self.file.path.stat().st_mode & 0o777 == 0o600
        assert self._dot_files() == []

    def after_conflict(self) -> None:
        assert self._dot_files() == []  # the temporary file is removed

    def _dot_files(self) -> list[str]:
        return [p.name for p in self.file.path.parent.iterdir() if p.name.startswith(".")]


class TestJsonFileStore(_FileStoreContract):
    fmt = "json"


class TestDotenvFileStore(_FileStoreContract):
    fmt = "dotenv"


@pytest.fixture(autouse=True)
def _pinned() -> Any:
    with today_is((2026, 12, 6)):
        yield


def test_the_client_itself_creates_when_it_has_the_role(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = FileStore(tmp_path / "bw.json", "json")
    with kit.bandwidth() as (server, url):
        server.clients[kit.CLIENT_ID].roles = ("Credential access",)
        kit.seeded(store, url)

        code = kit.run_cli("--source", store.uri)

        assert code == 0
        kit.assert_rotated(store, server)


def test_without_the_role_the_refusal_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = FileStore(tmp_path / "bw.json", "json")
    with kit.bandwidth() as (server, url):
        kit.seeded(store, url)
        before = store.state()

        code = kit.run_cli("--source", store.uri)

        assert code == 1
        assert "Credential access" in capsys.readouterr().err
        assert store.state() == before
        assert server.created == []


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        ("env", "process environment is read-only"),
        ("dotenv", ".env file is edited by hand"),
        ("directory", "directory of key files"),
        ("vault-agent", "Vault Agent"),
    ],
)
def test_sources_that_cannot_be_written_say_so(
    setup: str,
    needle: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with kit.bandwidth() as (server, url):
        values = {
            "BW_ACCOUNT_ID": "920012",
            "BW_CLIENT_ID": kit.CLIENT_ID,
            "BW_CLIENT_SECRET": kit.OLD_SECRET,
            "BW_API_URL": url,
        }
        if setup == "env":
            for key, value in values.items():
                monkeypatch.setenv(key, value)
            uri = "env"
        elif setup == "dotenv":
            (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in values.items()))
            uri = "dotenv:.env"
        elif setup == "directory":
            (tmp_path / "dir").mkdir()
            for key, value in values.items():
                (tmp_path / "dir" / key).write_text(value)
            uri = f"file:{tmp_path / 'dir'}"
        else:
            (tmp_path / "agent.txt").write_text("".join(f"{k}: {v}\n" for k, v in values.items()))
            uri = f"file:{tmp_path / 'agent.txt'}?format=vault-agent"

        code = kit.run_cli("--source", uri, "--dry-run")

        assert code == 2
        assert needle in capsys.readouterr().err
        assert server.created == []


def test_store_not_supported_is_a_configuration_error() -> None:
    provider = DotenvProvider(parse_source("dotenv:.env"))

    with pytest.raises(StoreNotSupportedError, match="not supported by this source"):
        provider.store({}, None)


@pytest.mark.parametrize("bad", ["90", "0d", "1w", "-3d", "2.5d", "d"])
def test_bad_durations_are_configuration_errors(
    bad: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["rotate", "--source", f"file:{tmp_path}/x.json", f"--expires-in={bad}"])

    assert code == 2
    assert "--expires-in" in capsys.readouterr().err


def test_text_output_names_what_happened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = FileStore(tmp_path / "bw.json", "json")
    with kit.bandwidth() as (_server, url):
        kit.seeded(store, url)

        code = kit.run_cli("--source", store.uri, "--admin-source", kit.admin_file(tmp_path, url))

        out = capsys.readouterr().out
        assert code == 0
        assert kit.CLIENT_ID in out
        assert f"new secret expires: {kit.NEW_EXPIRY}" in out
        assert f"old secret expires: {kit.OLD_EXPIRY}" in out


def test_a_nested_value_is_not_written_as_dotenv(tmp_path: Path) -> None:
    from bandwidth_credentials import SourceFormatError

    store = FileStore(tmp_path / "bw.env", "dotenv")
    store.seed({"BW_CLIENT_ID": kit.CLIENT_ID, "BW_CLIENT_SECRET": kit.OLD_SECRET})
    provider = FileProvider(parse_source(store.uri))
    fetched = provider.fetch()
    before = store.state()

    with pytest.raises(SourceFormatError, match="cannot be written as dotenv"):
        provider.store({"voice": {"password": "x"}}, fetched.version)

    assert store.state() == before


@pytest.mark.parametrize(
    ("extra", "api"),
    [
        ({}, "https://api.bandwidth.com"),
        ({"BW_ENVIRONMENT": "test"}, "https://test.api.bandwidth.com"),
        ({"BW_ENVIRONMENT": "uat"}, "https://test.api.bandwidth.com"),
        ({"BW_API_URL": "https://api.proxy.example"}, "https://api.proxy.example"),
        (
            {"BW_ENVIRONMENT": "test", "BW_API_URL": "http://127.0.0.1:8080"},
            "http://127.0.0.1:8080",
        ),
    ],
)
def test_the_credentials_api_follows_the_token_endpoint(extra: dict[str, str], api: str) -> None:
    from bandwidth_credentials.rotation import client_credentials

    values = {"BW_ACCOUNT_ID": "920012", "BW_CLIENT_ID": kit.CLIENT_ID, **extra}
    values["BW_CLIENT_SECRET"] = kit.OLD_SECRET

    found = client_credentials(values, "test values")

    assert found.api_base == api
    assert found.token_url == api + "/api/v1/oauth2/token"


def test_an_admin_on_another_token_host_is_refused_before_any_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = FileStore(tmp_path / "bw.json", "json")
    with kit.bandwidth() as (server, url):
        kit.seeded(store, url)
        admin = tmp_path / "admin.json"
        admin.write_text(
            json.dumps(
                {
                    "client_id": kit.ADMIN_ID,
                    "client_secret": kit.ADMIN_SECRET,
                    "api_url": url.replace("127.0.0.1", "127.0.0.2"),
                }
            )
        )

        code = kit.run_cli("--source", store.uri, "--admin-source", f"file:{admin}")

        assert code == 2
        assert "a token is used only where it was issued" in capsys.readouterr().err
        assert server.requests == []


def test_a_failure_in_json_shows_the_uri_without_option_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "missing.json"

    code = main(["rotate", "--source", f"file:{path}?settle=0.25", "--json"])

    document = json.loads(capsys.readouterr().out)
    assert code == 1
    assert document["rotated"] is False
    assert document["error_type"] == "SourceNotFoundError"
    assert "0.25" not in json.dumps(document)


@pytest.mark.parametrize(
    ("status", "headers", "needle", "code"),
    [
        (409, {}, "most likely its two active secrets", 1),
        (400, {}, "either the client id already holds two active secrets", 1),
        (401, {}, "did not accept the access token", 1),
        (403, {}, "Credential access role", 1),
        (404, {}, "knows no credential with this client id", 1),
        (422, {}, "or the expiration date asked for, 2027-03-06T00:00:00Z, is outside", 1),
        (418, {}, "either the client id already holds two active secrets", 1),
        (429, {"Retry-After": "120"}, "run again after 120 s (its Retry-After), and back off", 1),
        (429, {}, "run again after a pause, doubling the pause", 1),
        (500, {}, "did not create a secret", 1),
        (503, {}, "did not create a secret", 1),
    ],
)
def test_every_refusal_of_create_is_named_and_changes_nothing(
    status: int,
    headers: dict[str, str],
    needle: str,
    code: int,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Bandwidth documents no status for the refusal of a third secret: every answer that
    can mean it names the limit and how to retire a secret (409; an invalid request, 400,
    422 or another 4xx, together with an expiration date out of range); 401, 403, 404 and
    429 rule it out and say what they mean; nothing is written whatever the refusal."""
    store = FileStore(tmp_path / "bw.json", "json")
    with kit.bandwidth() as (server, url):
        kit.seeded(store, url)
        server.refuse_create = status
        server.answer_headers = headers
        admin = kit.admin_file(tmp_path, url)
        before = store.state()

        exit_code = kit.run_cli("--source", store.uri, "--admin-source", admin)

        err = capsys.readouterr().err
        assert exit_code == code
        assert needle in err
        limit = 400 <= status < 500 and status not in (401, 403, 404, 429)
        assert ("two active secrets" in err) == limit
        assert ("delete it in the Bandwidth App" in err) == limit
        assert store.state() == before


def test_an_expired_secret_does_not_count_against_the_limit(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "bw.json", "json")
    with kit.bandwidth() as (server, url):
        kit.seeded(store, url)
        yesterday = kit.server_instant("2026-12-05T00:00:00Z")
        server.add_client(kit.CLIENT_ID, "canary-expired-secret-4Tt", expires=yesterday)
        admin = kit.admin_file(tmp_path, url)

        code = check_no_leaks(
            lambda: main(["rotate", "--source", store.uri, "--admin-source", admin]),
            (*kit.CANARIES, "canary-expired-secret-4Tt"),
        )

        assert code == 0
        kit.assert_rotated(store, server)


def test_an_expired_client_secret_is_replaced_with_the_admin_credentials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = FileStore(tmp_path / "bw.json", "json")
    with kit.bandwidth() as (server, url):
        kit.seeded(store, url)
        server.clients[kit.CLIENT_ID].secrets[kit.OLD_SECRET] = kit.server_instant(
            "2026-12-01T00:00:00Z"
        )
        admin = kit.admin_file(tmp_path, url)

        assert kit.run_cli("--source", store.uri) == 1  # its own token is refused
        assert "refused" in capsys.readouterr().err
        code = kit.run_cli("--source", store.uri, "--admin-source", admin)

        assert code == 0
        kit.assert_rotated(store, server)
        assert server.active(kit.CLIENT_ID) == [new_secret(0)]


@pytest.mark.parametrize(
    ("answered", "stored"),
    [
        ("2027-03-06T00:00:00.000Z", "2027-03-06T00:00:00Z"),  # Bandwidth's form, kept as UTC
        ("2027-03-06", "2027-03-06T00:00:00Z"),
        ("2027-03-06T00:00:00Z\nrotated  FORGED", kit.NEW_EXPIRY),  # not an instant: as asked
        ("\x1b]0;owned\x07", kit.NEW_EXPIRY),
    ],
)
def test_the_answered_expiration_is_stored_only_as_an_instant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], answered: str, stored: str
) -> None:
    store = FileStore(tmp_path / "bandwidth.json", "json")
    with kit.bandwidth() as (server, url):
        kit.seeded(store, url)
        server.answered_expiry = answered

        code = kit.run_cli("--source", store.uri, "--admin-source", kit.admin_file(tmp_path, url))

        assert code == 0
        out = capsys.readouterr().out
        assert store.read()["BW_CLIENT_SECRET_EXPIRES_AT"] == stored
        assert [line for line in out.splitlines() if "FORGED" in line or "\x1b" in line] == []
        assert kit.served_secret(store.uri) == new_secret(0)


def _killed_mid_write(store: FileStore, values: dict[str, str]) -> Path:
    """A process killed between writing the temporary file and the rename (SIGKILL: no
    clean-up runs); gives the temporary file it left."""
    import signal

    from bandwidth_credentials.testing import in_forked_child

    def write_then_die() -> object:
        def killed(*args: object) -> None:
            os.kill(os.getpid(), signal.SIGKILL)

        os.replace = killed  # type: ignore[assignment] # the child's own module, then gone
        provider = FileProvider(parse_source(store.uri))
        return provider.store(values, provider.fetch().version)

    answer = in_forked_child(write_then_die)

    assert answer.startswith("no answer"), answer
    (left,) = [p for p in store.path.parent.iterdir() if p.name.endswith(".tmp")]
    return left


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX processes")
def test_a_write_killed_midway_is_named_by_the_next_store_and_rotate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = FileStore(tmp_path / "bandwidth.json", "json")
    with kit.bandwidth() as (server, url):
        kit.seeded(store, url)
        server.add_client(kit.CLIENT_ID, new_secret(0))  # created at Bandwidth, then killed
        pending = {**store.read(), "BW_CLIENT_SECRET_PENDING": new_secret(0)}
        left = _killed_mid_write(store, pending)
        before = store.state()
        provider = FileProvider(parse_source(store.uri))

        problem = provider.store_problem()
        with pytest.raises(SourceAccessDeniedError) as refused:
            check_no_leaks(lambda: provider.store(store.read(), None), kit.CANARIES)
        code = kit.run_cli("--source", store.uri, "--dry-run")

        assert new_secret(0) in left.read_text()  # the only copy: kept, not deleted
        assert problem is not None
        assert str(left) in problem
        assert "no longer running" in problem
        assert str(left) in str(refused.value)
        assert code == 2
        assert left.name in capsys.readouterr().err
        assert store.state() == before
        assert server.created == []

        os.replace(left, store.path)  # the remedy the message gives: it held the write

        assert (
            kit.run_cli("--source", store.uri, "--admin-source", kit.admin_file(tmp_path, url)) == 0
        )
        assert server.created == []  # the pending secret it held was resumed, not re-created
        assert store.read()["BW_CLIENT_SECRET"] == new_secret(0)
        assert kit.served_secret(store.uri) == new_secret(0)


def test_a_temporary_file_of_a_running_process_is_not_called_stale(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "bandwidth.json", "json")
    store.seed({"BW_CLIENT_ID": kit.CLIENT_ID, "BW_CLIENT_SECRET": kit.OLD_SECRET})
    (tmp_path / f".bandwidth.json.{os.getppid()}.0a1b2c3d.tmp").write_text("{}")
    provider = FileProvider(parse_source(store.uri))
    fetched = provider.fetch()

    version = provider.store({**fetched.values, "BW_NOTE": "x"}, fetched.version)

    assert provider.store_problem() is None
    assert version != fetched.version


def _later_process() -> Any:
    """A running child process (started now), and so a PID in use."""
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="process start times")
@pytest.mark.parametrize(
    "whose",
    [
        "a later process given the writer's PID",
        "this process, started after the write (a restarted container's PID 1)",
        "a PID beyond any process ID",
    ],
)
def test_a_leftover_whose_pid_now_names_another_process_is_still_named(
    tmp_path: Path, whose: str
) -> None:
    import time

    store = FileStore(tmp_path / "bandwidth.json", "json")
    store.seed({"BW_CLIENT_ID": kit.CLIENT_ID, "BW_CLIENT_SECRET": kit.OLD_SECRET})
    child = _later_process() if whose.startswith("a later") else None
    try:
        if child is not None:
            pid = child.pid
        elif whose.startswith("this"):
            pid = os.getpid()
        else:
            pid = 2**64
        left = tmp_path / f".bandwidth.json.{pid}.0a1b2c3d.tmp"
        left.write_text(json.dumps({"BW_CLIENT_SECRET_PENDING": new_secret(0)}))
        an_hour_before = time.time() - 3600  # written before the process now holding the PID
        os.utime(left, (an_hour_before, an_hour_before))
        provider = FileProvider(parse_source(store.uri))
        before = store.state()

        problem = provider.store_problem()
        with pytest.raises(SourceAccessDeniedError) as refused:
            provider.store({**store.read(), "BW_NOTE": "x"}, None)
    finally:
        if child is not None:
            child.communicate(b"")

    assert problem is not None
    assert str(left) in problem
    assert str(left) in str(refused.value)
    assert store.state() == before
    assert new_secret(0) in left.read_text()  # the only copy: kept
