"""The rotation scenarios every writable store must pass (``bwcreds rotate``).

A store's tests give a :class:`Store`: the source URI, and how to seed, read and tamper
with the store through the store's own client (not through the library). The scenarios
run the real CLI (``bwcreds rotate``) and the real engine against the loopback Bandwidth
of :mod:`tests.credentials_api`, with the leak harness watching every output.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

import pytest

from bandwidth_credentials import Resolver, StoreConflictError
from bandwidth_credentials._cli import main
from bandwidth_credentials._rotate import STEPS, RotationError, rotate
from bandwidth_credentials.testing import check_no_leaks
from tests.credentials_api import CREATED_CANARIES, CREDENTIAL_ACCESS, Bandwidth, new_secret
from tests.oauth_servers import serve

CLIENT_ID = "CLI-5f3a9c1e"
OLD_SECRET = "canary-old-client-secret-7Hq"
ADMIN_ID = "CLI-admin-0042"
ADMIN_SECRET = "canary-admin-client-secret-3Rk"
CANARIES = (OLD_SECRET, ADMIN_SECRET, *CREATED_CANARIES)
OLD_EXPIRY = "2026-12-20T00:00:00Z"
#: With the date pinned to 2026-12-06 (midnight UTC), ``--expires-in 90d`` gives this.
NEW_EXPIRY = "2027-03-06T00:00:00Z"


class Store(Protocol):
    """One writable store as the scenarios see it."""

    uri: str

    def seed(self, values: Mapping[str, str]) -> None:
        """Write ``values`` as the store's current secret (through the store's client)."""

    def read(self) -> dict[str, Any]:
        """What a reader of the store gets now (through the store's client)."""

    def state(self) -> object:
        """Everything a dry run must not change (values, versions, labels, files)."""


class Crash(BaseException):
    """A process killed at a step boundary (not an Exception: nothing may catch it)."""


@contextmanager
def bandwidth() -> Iterator[tuple[Bandwidth, str]]:
    """The loopback Bandwidth with the client (no role) and an admin (Credential access)."""
    server = Bandwidth()
    server.add_client(CLIENT_ID, OLD_SECRET, expires=server_instant(OLD_EXPIRY))
    server.add_client(ADMIN_ID, ADMIN_SECRET, roles=(CREDENTIAL_ACCESS,))
    with serve(server) as url:
        yield server, url


def server_instant(text: str) -> float:
    from bandwidth_credentials._calendar import parse_instant

    instant = parse_instant(text)
    assert instant is not None
    return instant


def seeded(store: Store, api_url: str) -> None:
    store.seed(
        {
            "BW_ACCOUNT_ID": "920012",
            "BW_CLIENT_ID": CLIENT_ID,
            "BW_CLIENT_SECRET": OLD_SECRET,
            "BW_CLIENT_SECRET_EXPIRES_AT": OLD_EXPIRY,
            "BW_API_URL": api_url,
        }
    )


def admin_file(tmp: Any, api_url: str) -> str:
    path = tmp / "admin.json"
    path.write_text(
        json.dumps({"client_id": ADMIN_ID, "client_secret": ADMIN_SECRET, "api_url": api_url})
    )
    return f"file:{path}"


def run_cli(*args: str) -> int:
    code: int = check_no_leaks(lambda: main(["rotate", *args]), CANARIES)
    return code


def served_secret(uri: str) -> str | None:
    """The client secret a fresh resolver serves from ``uri`` (the normal chain)."""
    resolver = Resolver([uri])
    try:
        outcome = resolver.resolve().services["voice"]
    finally:
        resolver.close()
    assert not isinstance(outcome, Exception), outcome
    secret = outcome[0].client_secret
    return None if secret is None else secret.get_secret_value()


def assert_rotated(store: Store, server: Bandwidth, number: int = 0) -> None:
    """The store serves the ``number``-th created secret, with its expiry, no pending keys,
    and Bandwidth accepts it."""
    held = store.read()
    assert held["BW_CLIENT_SECRET"] == new_secret(number)
    assert held["BW_CLIENT_SECRET_EXPIRES_AT"] == NEW_EXPIRY
    assert "BW_CLIENT_SECRET_PENDING" not in held
    assert "BW_CLIENT_SECRET_PENDING_EXPIRES_AT" not in held
    assert served_secret(store.uri) == new_secret(number)
    assert new_secret(number) in server.active(CLIENT_ID)


def frames_holding(error: BaseException, canary: str) -> list[str]:
    """Names of locals, in the frames between the caller and ``error``, holding ``canary``
    (as a str, or a str inside a dict, list or tuple)."""

    def holds(value: object, depth: int = 0) -> bool:
        if isinstance(value, str):
            return canary in value
        if depth > 3:
            return False
        if isinstance(value, dict):
            return any(holds(v, depth + 1) or holds(k, depth + 1) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return any(holds(v, depth + 1) for v in value)
        return False

    found = []
    seen: set[int] = set()
    chained: BaseException | None = error
    while chained is not None and id(chained) not in seen:
        seen.add(id(chained))
        tb = chained.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            tb = tb.tb_next
            filename = frame.f_code.co_filename
            if "bandwidth_credentials" not in filename or "testing" in filename:
                continue  # the test's and the leak harness's own frames
            found += [
                f"{frame.f_code.co_name}:{name}"
                for name, value in frame.f_locals.items()
                if holds(value)
            ]
        chained = chained.__cause__ or chained.__context__
    return found


# -- the scenarios -------------------------------------------------------------------------


def full_rotation(store: Store, tmp: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with bandwidth() as (server, url):
        seeded(store, url)
        admin = admin_file(tmp, url)

        code = run_cli("--source", store.uri, "--admin-source", admin, "--json")

        assert code == 0
        document = json.loads(capsys.readouterr().out)
        assert document["rotated"] is True
        assert document["client_id"] == CLIENT_ID
        assert document["new_secret_expires_at"] == NEW_EXPIRY
        assert document["old_secret_expires_at"] == OLD_EXPIRY
        assert [step["step"] for step in document["steps"]] == list(STEPS)
        assert server.created == [(CLIENT_ID, NEW_EXPIRY)]
        assert_rotated(store, server)
        assert set(server.active(CLIENT_ID)) == {OLD_SECRET, new_secret(0)}


def crash_then_rerun(store: Store, tmp: Any, step: str) -> None:
    with bandwidth() as (server, url):
        seeded(store, url)
        admin = admin_file(tmp, url)

        def crash(done: str, detail: str) -> None:
            if done == step:
                raise Crash(done)

        with pytest.raises(Crash):
            check_no_leaks(
                lambda: rotate(
                    store.uri, admin_source=admin, expires_in=90 * 86400.0, on_step=crash
                ),
                CANARIES,
            )
        if step == "create":
            # Created, not stored: Bandwidth holds it (two active now), nobody else does.
            assert store.read()["BW_CLIENT_SECRET"] == OLD_SECRET
            assert run_cli("--source", store.uri, "--admin-source", admin) == 1
            retire = new_secret(0)  # the README's remedy: delete it in the Bandwidth App
            del server.clients[CLIENT_ID].secrets[retire]
            assert run_cli("--source", store.uri, "--admin-source", admin) == 0
            assert_rotated(store, server, 1)
            return
        if step in ("promote", "verify"):
            # Done already: the store serves the new secret; a re-run would create a
            # third, which Bandwidth refuses while the old one is active.
            assert_rotated(store, server)
            assert run_cli("--source", store.uri, "--admin-source", admin) == 1
            assert_rotated(store, server)
            return

        code = run_cli("--source", store.uri, "--admin-source", admin)

        assert code == 0
        assert len(server.created) == 1  # a stored pending secret is resumed, not re-created
        assert_rotated(store, server)


def two_active_refused(store: Store, tmp: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with bandwidth() as (server, url):
        seeded(store, url)
        admin = admin_file(tmp, url)
        server.add_client(CLIENT_ID, "canary-second-active-secret-1Lp")
        before = store.state()

        code = check_no_leaks(
            lambda: main(["rotate", "--source", store.uri, "--admin-source", admin]),
            (*CANARIES, "canary-second-active-secret-1Lp"),
        )

        assert code == 1
        err = capsys.readouterr().err
        assert "two active secrets" in err
        assert "Bandwidth App" in err
        assert store.state() == before
        assert server.created == []


def version_race(
    store: Store, tmp: Any, tamper: Callable[[], None], capsys: pytest.CaptureFixture[str]
) -> None:
    """Another writer changes the store (keeping every key) after the new secret was stored:
    the promotion is refused cleanly, and a re-run finishes without a second create."""
    with bandwidth() as (server, url):
        seeded(store, url)
        admin = admin_file(tmp, url)

        def race(done: str, detail: str) -> None:
            if done == "prove":
                tamper()

        with pytest.raises(RotationError) as refused:
            check_no_leaks(lambda: rotate(store.uri, admin_source=admin, on_step=race), CANARIES)
        assert refused.value.step == "promote", str(refused.value)
        assert "rotate again" in refused.value.state
        assert store.read()["BW_CLIENT_SECRET"] == OLD_SECRET

        assert run_cli("--source", store.uri, "--admin-source", admin) == 0

        assert len(server.created) == 1
        assert store.read()["BW_NOTE"] == "written by someone else"
        assert_rotated(store, server)


def persist_race(store: Store, tmp: Any, tamper: Callable[[], None]) -> None:
    """A write lands between reading the store and storing the new secret: the secret is
    stored anyway (re-read, other writer's change kept), never lost."""
    with bandwidth() as (server, url):
        seeded(store, url)
        admin = admin_file(tmp, url)

        def race(done: str, detail: str) -> None:
            if done == "create":
                tamper()

        result = check_no_leaks(
            lambda: rotate(store.uri, admin_source=admin, on_step=race), CANARIES
        )

        assert result["rotated"] is True
        assert store.read()["BW_NOTE"] == "written by someone else"
        assert_rotated(store, server)


def dry_run_touches_nothing(store: Store, tmp: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with bandwidth() as (server, url):
        seeded(store, url)
        admin = admin_file(tmp, url)
        before = store.state()

        code = run_cli("--source", store.uri, "--admin-source", admin, "--dry-run")

        assert code == 0
        assert "dry run: nothing written" in capsys.readouterr().out
        assert store.state() == before
        assert server.created == []
        assert all(
            path != "/api/v1/credentials/" + CLIENT_ID + "/secrets" for _, path in server.requests
        )


def store_conflict(store: Store, tamper: Callable[[], None], provider: Any) -> None:
    """``Provider.store`` refuses a write based on a version that is no longer current."""
    fetched = provider.fetch()
    tamper()

    with pytest.raises(StoreConflictError):
        check_no_leaks(
            lambda: provider.store(
                {**fetched.values, "BW_CLIENT_SECRET": "x" * 12}, fetched.version
            ),
            CANARIES,
        )

    assert store.read()["BW_CLIENT_SECRET"] == OLD_SECRET
