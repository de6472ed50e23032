"""``bwcreds rotate`` against an odd or hostile Credentials API, a store that fails
mid-write, and durations past what the store's instants can say."""

from __future__ import annotations

import io
import json
import os
import stat
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from bandwidth_credentials._cli import main
from bandwidth_credentials._rotate import RotationError, rotate
from bandwidth_credentials.testing import check_no_leaks, today_is
from tests import rotation_kit as kit
from tests.credentials_api import CREDENTIAL_ACCESS, Bandwidth, new_secret
from tests.test_rotate_file import FileStore

ECHO = "canary-echoed-by-server-8Wp"


@pytest.fixture(autouse=True)
def _pinned() -> Iterator[None]:
    with today_is((2026, 12, 6)):
        yield


class Hostile(Bandwidth):
    """The loopback Bandwidth whose secret creation answers ``reply`` (status, body)."""

    def __init__(self, reply: tuple[int, bytes]) -> None:
        super().__init__()
        self.reply = reply

    def _create(
        self, handler: BaseHTTPRequestHandler, client_id: str, body: bytes
    ) -> tuple[int, bytes]:
        self.created.append((client_id, None))
        return self.reply


def _serve(reply: tuple[int, bytes]) -> Any:
    from contextlib import contextmanager

    from tests.credentials_api import serve_bandwidth as serve

    @contextmanager
    def running() -> Iterator[tuple[Hostile, str]]:
        server = Hostile(reply)
        server.add_client(kit.CLIENT_ID, kit.OLD_SECRET)
        server.add_client(kit.ADMIN_ID, kit.ADMIN_SECRET, roles=(CREDENTIAL_ACCESS,))
        with serve(server) as url:
            yield server, url

    return running()


def _answer(**fields: object) -> tuple[int, bytes]:
    return 201, json.dumps({"clientId": kit.CLIENT_ID, **fields}).encode()


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(_answer(), id="no-clientSecret"),
        pytest.param(_answer(clientSecret=12345), id="number"),
        pytest.param(_answer(clientSecret=None), id="null"),
        pytest.param(_answer(clientSecret=""), id="empty"),
        pytest.param(_answer(clientSecret=[ECHO]), id="list"),
        pytest.param(_answer(clientSecret=f"{ECHO}\nBW_CLIENT_ID=CLI-evil"), id="newline"),
        pytest.param(_answer(clientSecret=f"{ECHO}\r"), id="carriage-return"),
        pytest.param(_answer(clientSecret=f"\x1b[2J{ECHO}"), id="escape"),
        pytest.param(_answer(clientSecret=f"{ECHO}\u202e"), id="bidi"),
        pytest.param(_answer(clientSecret=f"{ECHO} "), id="trailing-space"),
        pytest.param((201, b"[" * 70000), id="huge"),
        pytest.param((409, json.dumps({"message": ECHO}).encode()), id="409-echo"),
        pytest.param((429, json.dumps({"message": ECHO}).encode()), id="429-echo"),
        pytest.param((400, json.dumps({"message": ECHO}).encode()), id="400-echo"),
    ],
)
def test_an_unusable_answer_writes_nothing_and_echoes_nothing(
    reply: tuple[int, bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = FileStore(tmp_path / "bw.env", "dotenv")
    with _serve(reply) as (server, url):
        kit.seeded(store, url)
        admin = kit.admin_file(tmp_path, url)
        before = store.state()

        code = check_no_leaks(
            lambda: main(["rotate", "--source", store.uri, "--admin-source", admin, "--json"]),
            (*kit.CANARIES, ECHO),
        )

        assert code == 1
        document = json.loads(capsys.readouterr().out)
        assert document["failed_step"] == "create"
        assert store.state() == before
        assert len(server.created) == 1
        # A success that delivered no usable secret may have created one at Bandwidth.
        if 200 <= reply[0] < 300:
            assert "may hold a new secret" in document["state"]
        else:
            assert document["state"] == "nothing was changed"


@pytest.mark.parametrize(
    "answered",
    [
        ECHO,
        f"\x1b]0;{ECHO}\x07",
        "2027-03-06T00:00:00Z" + ECHO,
        "tomorrow",
        None,
        17,
    ],
)
def test_an_odd_expiration_date_in_the_answer_is_not_echoed(
    answered: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The answer's expirationDate is data from the network: only an instant the library
    parses is kept (re-formatted); anything else yields to the date asked for."""
    secret = new_secret(0)
    store = FileStore(tmp_path / "bw.json", "json")
    with _serve(_answer(clientSecret=secret, expirationDate=answered)) as (server, url):
        server.add_client(kit.CLIENT_ID, secret)
        kit.seeded(store, url)
        admin = kit.admin_file(tmp_path, url)

        code = check_no_leaks(
            lambda: main(["rotate", "--source", store.uri, "--admin-source", admin]),
            (*kit.CANARIES, ECHO),
        )

        assert code == 0
        assert store.read()["BW_CLIENT_SECRET"] == secret
        assert store.read()["BW_CLIENT_SECRET_EXPIRES_AT"] == kit.NEW_EXPIRY


def test_an_answered_expiration_date_is_kept_in_the_store_form(tmp_path: Path) -> None:
    secret = new_secret(0)
    store = FileStore(tmp_path / "bw.json", "json")
    reply = _answer(clientSecret=secret, expirationDate="2027-03-05T23:59:59.250+00:00")
    with _serve(reply) as (server, url):
        server.add_client(kit.CLIENT_ID, secret)
        kit.seeded(store, url)
        admin = kit.admin_file(tmp_path, url)

        check_no_leaks(lambda: rotate(store.uri, admin_source=admin), kit.CANARIES)

        assert store.read()["BW_CLIENT_SECRET_EXPIRES_AT"] == "2027-03-05T23:59:59Z"


def _remove_after(step: str, path: Path) -> Any:
    def on_step(done: str, detail: str) -> None:
        if done == step:
            path.unlink()

    return on_step


@pytest.mark.parametrize(("after", "failed"), [("create", "persist"), ("prove", "promote")])
def test_a_store_failing_mid_rotation_says_where_the_secret_is_and_holds_it_nowhere(
    after: str, failed: str, tmp_path: Path
) -> None:
    store = FileStore(tmp_path / "bw.json", "json")
    with kit.bandwidth() as (_server, url):
        kit.seeded(store, url)
        admin = kit.admin_file(tmp_path, url)
        with pytest.raises(RotationError) as raised:
            check_no_leaks(
                lambda: rotate(
                    store.uri, admin_source=admin, on_step=_remove_after(after, store.path)
                ),
                kit.CANARIES,
            )

    assert raised.value.step == failed
    assert str(store.path) in str(raised.value)
    assert kit.frames_holding(raised.value, new_secret(0)) == []
    if failed == "persist":
        assert "not stored" in raised.value.state
    else:
        assert "client_secret_pending" in raised.value.state


class _ClosedAtCreate(io.StringIO):
    """A standard output whose reader went away once the ``create`` line came (the CLI
    then points the descriptor at /dev/null: here, a file of the test's own)."""

    def __init__(self, spare: Path) -> None:
        super().__init__()
        self.spare = spare.open("w")

    def write(self, text: str) -> int:
        if text.startswith("create"):
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(text)

    def fileno(self) -> int:
        return self.spare.fileno()


@pytest.mark.parametrize(
    "stop", [BrokenPipeError(32, "Broken pipe"), KeyboardInterrupt(), kit.Crash("create")]
)
def test_a_report_of_create_that_fails_still_stores_the_secret_first(
    stop: BaseException, tmp_path: Path
) -> None:
    """Bandwidth shows a new secret once: whatever stops the run at the report of its
    creation (the CLI's closed output, a raising ``on_step``, Ctrl-C), it is stored
    pending first, and the next run resumes it instead of creating another."""
    store = FileStore(tmp_path / "bw.json", "json")
    with kit.bandwidth() as (server, url):
        kit.seeded(store, url)
        admin = kit.admin_file(tmp_path, url)

        def report(step: str, detail: str) -> None:
            if step == "create":
                raise stop

        with pytest.raises(type(stop)):
            rotate(store.uri, admin_source=admin, on_step=report)

        assert store.read()["BW_CLIENT_SECRET_PENDING"] == new_secret(0)
        assert rotate(store.uri, admin_source=admin)["rotated"] is True
        assert len(server.created) == 1
        kit.assert_rotated(store, server)


def test_bwcreds_rotate_with_its_output_closed_at_create_stores_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(tmp_path / "bw.json", "json")
    with kit.bandwidth() as (server, url):
        kit.seeded(store, url)
        admin = kit.admin_file(tmp_path, url)
        closed = _ClosedAtCreate(tmp_path / "stdout")
        monkeypatch.setattr("sys.stdout", closed)

        code = main(["rotate", "--source", store.uri, "--admin-source", admin])
        monkeypatch.undo()
        closed.spare.close()

        assert code != 0
        assert store.read()["BW_CLIENT_SECRET_PENDING"] == new_secret(0)
        assert main(["rotate", "--source", store.uri, "--admin-source", admin]) == 0
        assert len(server.created) == 1


@pytest.mark.parametrize("duration", ["2914800d", "3000000d", "99999999999999d", "9999999999h"])
def test_a_lifetime_past_year_9999_is_a_configuration_error(
    duration: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = FileStore(tmp_path / "bw.json", "json")
    with kit.bandwidth() as (server, url):
        kit.seeded(store, url)
        before = store.state()

        code = kit.run_cli("--source", store.uri, "--expires-in", duration)

        assert code == 2
        assert "--expires-in" in capsys.readouterr().err
        assert store.state() == before
        assert server.created == []


def _rotated_file(tmp_path: Path, prepare: Any) -> Path:
    store = FileStore(tmp_path / "bw.json", "json")
    with kit.bandwidth() as (_server, url):
        kit.seeded(store, url)
        admin = kit.admin_file(tmp_path, url)
        target = prepare(store.path)
        check_no_leaks(lambda: rotate(store.uri, admin_source=admin), kit.CANARIES)
    assert kit.served_secret(store.uri) == new_secret(0)
    return target  # type: ignore[no-any-return]


@pytest.mark.skipif(not hasattr(os, "fchown"), reason="POSIX modes and owners")
@pytest.mark.parametrize("mode", [0o640, 0o600, 0o400, 0o440, 0o000])
def test_the_new_file_keeps_the_old_files_mode_and_group(mode: int, tmp_path: Path) -> None:
    """A file a service reads through its group stays readable by that group, and the new
    file is never wider than the old one (whatever the umask)."""
    if mode & 0o400 == 0 and os.geteuid() != 0:
        pytest.skip("only root reads a file without read permission")
    group = os.getgid() if os.geteuid() != 0 else 4242

    def prepare(path: Path) -> Path:
        os.chown(path, -1, group)
        os.chmod(path, mode)
        return path

    old_umask = os.umask(0o077)
    try:
        path = _rotated_file(tmp_path, prepare)
    finally:
        os.umask(old_umask)

    info = path.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_gid) == (mode, group)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symbolic links")
def test_a_symlinked_file_is_replaced_where_it_points(tmp_path: Path) -> None:
    """The link stays a link; the file it names gets the new secret (replaced in its own
    directory, so the rename stays atomic)."""
    elsewhere = tmp_path / "secure"
    elsewhere.mkdir()

    def prepare(path: Path) -> Path:
        target = elsewhere / "bandwidth.json"
        path.rename(target)
        path.symlink_to(target)
        return target

    target = _rotated_file(tmp_path, prepare)

    assert (tmp_path / "bw.json").is_symlink()
    assert json.loads(target.read_text())["BW_CLIENT_SECRET"] == new_secret(0)
    assert sorted(os.listdir(elsewhere)) == ["bandwidth.json"]


@pytest.mark.parametrize(
    ("text", "same_as"),
    [
        ("2026-12-31T23:59:60Z", "2027-01-01T00:00:00Z"),  # a leap second (RFC 3339 5.6)
        ("2026-06-30T23:59:60.5Z", "2026-07-01T00:00:00Z"),
        ("2026-12-31T23:59:59.999999999Z", "2026-12-31T23:59:59Z"),
        ("2026-12-31T23:59:59z", "2026-12-31T23:59:59Z"),
    ],
)
def test_instants_iso_8601_allows_are_read(text: str, same_as: str) -> None:
    from bandwidth_credentials._calendar import parse_instant

    assert parse_instant(text) is not None
    assert parse_instant(text) == parse_instant(same_as)


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-31T12:00:60Z",  # 60 only in the last minute of a day
        "2026-12-31T23:59:59.Z",  # a decimal point without digits
        "2026-12-31T23:59:59",  # no zone: not known to be UTC
        "2026-12-31T23:59:59+01:00",
        "10000-01-01T00:00:00Z",
        "2026-12-31T23:59:61Z",
    ],
)
def test_instants_that_are_not_read(text: str) -> None:
    from bandwidth_credentials._calendar import parse_instant

    assert parse_instant(text) is None


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_of_the_create_request_is_not_followed(status: int) -> None:
    """The admin's bearer token goes to the Credentials API's own origin only."""
    from bandwidth_credentials._secret import Secret
    from bandwidth_credentials.rotation import ClientCredentials, create_client_secret
    from tests.misbehaving import answer, misbehaving, redirect

    token = "canary-admin-bearer-token-2Kd"
    elsewhere = answer(201, b'{"clientSecret": "canary-elsewhere-5Gh"}')
    with (
        misbehaving(elsewhere, host="127.0.0.2") as other,
        misbehaving(redirect(other.url + "/api/v1/credentials/CLI-1/secrets", status)) as api,
    ):
        target = ClientCredentials("CLI-1", Secret(""), api.url + "/token", api.url)
        with pytest.raises(RotationError, match=f"HTTP {status} redirect") as raised:
            check_no_leaks(
                lambda: create_client_secret(target, token, kit.NEW_EXPIRY),
                (token, "canary-elsewhere-5Gh"),
            )

    assert raised.value.step == "create"
    assert len(api.requests) == 1
    assert other.requests == []


def test_an_endless_answer_to_create_is_cut_off() -> None:
    from bandwidth_credentials._secret import Secret
    from bandwidth_credentials.rotation import ClientCredentials, create_client_secret
    from tests.misbehaving import huge, misbehaving

    with misbehaving(huge(chunked=True)) as api:
        target = ClientCredentials("CLI-1", Secret(""), api.url + "/token", api.url)
        with pytest.raises(RotationError) as raised:
            create_client_secret(target, "a-token", kit.NEW_EXPIRY)

    assert raised.value.step == "create"


@pytest.mark.parametrize(
    ("behaviour", "unknown"),
    [
        pytest.param("trickle", True, id="answer-trickled-past-the-deadline"),
        pytest.param("reset", True, id="connection-reset-mid-answer"),
        pytest.param("huge", True, id="answer-too-large"),
        pytest.param("refused", False, id="no-connection"),
    ],
)
def test_a_create_whose_outcome_is_unknown_says_bandwidth_may_hold_a_secret(
    behaviour: str, unknown: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the request may have reached Bandwidth, a lost answer is no proof that nothing
    changed: the state says a secret may exist that nobody has (and how to retire it)."""
    import socket

    from bandwidth_credentials import _credentials_api
    from bandwidth_credentials._secret import Secret
    from bandwidth_credentials.rotation import ClientCredentials, create_client_secret
    from tests.misbehaving import huge, misbehaving, reset_mid_body, trickle

    monkeypatch.setattr(_credentials_api, "_TIMEOUT", 1.0)
    body = json.dumps({"clientSecret": "canary-lost-secret-4Tz"}).encode()
    script = {
        "trickle": trickle(body, interval=0.2, status=201),
        "reset": reset_mid_body(),
        "huge": huge(size=1 << 20),
    }.get(behaviour)
    with misbehaving(*([script] if script else [])) as api:
        url = api.url
        if script is None:  # a port nobody listens on
            probe = socket.socket()
            probe.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{probe.getsockname()[1]}"
            probe.close()
        target = ClientCredentials("CLI-1", Secret(""), url + "/token", url)
        with pytest.raises(RotationError) as raised:
            check_no_leaks(
                lambda: create_client_secret(target, "a-token", kit.NEW_EXPIRY),
                ("canary-lost-secret-4Tz",),
            )

    assert raised.value.step == "create"
    if unknown:
        assert "may hold a new secret" in raised.value.state
        assert "Bandwidth App" in raised.value.state
    else:
        assert raised.value.state == "nothing was changed"


@pytest.mark.parametrize(
    "values",
    [
        {"BW_CLIENT_SECRET": kit.OLD_SECRET, "BW_ACCOUNT_ID": "920012"},
        {"voice": {"client_id": kit.CLIENT_ID, "client_secret": kit.OLD_SECRET}},
        {"BW_CLIENT_ID": kit.CLIENT_ID, "BW_CLIENT_SECRET": kit.OLD_SECRET, "BW_TOKEN_URL": "x"},
    ],
    ids=["no client id", "only nested", "does not resolve"],
)
def test_a_source_without_usable_client_credentials_is_held_in_no_frame(
    values: dict[str, Any], tmp_path: Path
) -> None:
    """Error trackers record every frame's locals: the store's values (the secret among
    them) stay in keys-only holders on every path to the ConfigurationError."""
    from bandwidth_credentials import ConfigurationError
    from bandwidth_credentials._secret import Secret
    from bandwidth_credentials.rotation import client_credentials, with_new_secret

    path = tmp_path / "bw.json"
    path.write_text(json.dumps(values))
    calls = [
        lambda: rotate(f"file:{path}"),
        lambda: client_credentials(dict(values), "secret x"),
    ]
    if "BW_CLIENT_ID" not in values:
        calls.append(lambda: with_new_secret(dict(values), Secret("new"), None, "secret x"))

    for call in calls:
        with pytest.raises(ConfigurationError) as raised:
            check_no_leaks(call, kit.CANARIES)

        assert kit.frames_holding(raised.value, kit.OLD_SECRET) == []
