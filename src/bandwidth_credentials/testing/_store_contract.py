"""The store contract suite: the behaviour every writable source (``Provider.store``) proves,
``bwcreds rotate`` end to end included."""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

from .._errors import StoreConflictError, StoreNotSupportedError
from .._provider import Provider, parse_source
from .._registry import provider_class
from ._clock import today_is
from ._credentials_api import Bandwidth, new_secret
from ._leaks import check_no_leaks
from ._store_kit import (
    CANARIES,
    CLIENT_ID,
    NEW_EXPIRY,
    OLD_EXPIRY,
    OLD_SECRET,
    Crash,
    admin_file,
    assert_rotated,
    bandwidth,
    frames_holding,
    run_cli,
    seed_values,
    served_secret,
)

__all__ = ["StoreContract"]

#: Values a store must keep exactly as given: quotes, backslashes, ``$`` and ``#`` (which
#: dotenv and shells treat specially), and text outside ASCII.
_AWKWARD_SECRETS = {
    "plain": "plain-secret-value-1",
    "single-quotes": "has 'single' quotes",
    "double-quotes-backslash": 'has "double" quotes and \\ backslash',
    "dollar-hash": "dollar $HOME and # hash",
    "both-quotes": "both ' and \" quotes",
    "non-ascii": "caf\u00e9 \u2013 \u00fcber",
}
_STEPS = ("read", "token", "create", "persist", "prove", "promote", "verify")
_NOTE = "written by someone else"


class StoreContract:
    """Tests every writable store must pass; subclass it in the store's own tests.

    A subclass sets :attr:`scheme` and implements three hooks that reach the store through
    its own client (never through the library): :meth:`location` (a source URI naming a
    fresh place in the store), :meth:`seed` (write values there as the current secret)
    and :meth:`read` (what a reader of the store gets there now). :meth:`state` (what a
    dry run or a refused write must leave alone; by default what :meth:`read` gives) and
    :meth:`tamper` (another writer's change; by default a re-:meth:`seed` with one more
    key) have defaults a store with versions or labels refines. A source the provider
    must refuse to write (a pinned version, Vault KV version 1, Vault Agent output) is a
    row in :attr:`read_only` set up by :meth:`read_only_uri`, with
    :meth:`read_only_state` saying what the refusal must leave alone there.
    :meth:`after_rotation` and :meth:`after_conflict` add the store's own checks (labels,
    versions, temporary files). ``self.tmp`` is a fresh, empty directory (a
    :class:`pathlib.Path`) for each test; :meth:`cleanup` runs after every test, failed or
    not. Example, for a store kept as JSON files in a directory::

        import json
        from bandwidth_credentials.testing import StoreContract

        class TestJsonDirectoryStore(StoreContract):
            scheme = "jsondir"
            read_only = {"pinned": "pinned version"}

            def location(self):
                return f"jsondir:{self.tmp}/bandwidth"

            def seed(self, values):
                (self.tmp / "bandwidth").write_text(json.dumps(dict(values)))

            def read(self):
                return json.loads((self.tmp / "bandwidth").read_text())

            def read_only_uri(self, variant, values):
                self.seed(values)
                return f"jsondir:{self.tmp}/bandwidth?version=1"

    What the suite checks, each case under the leak harness (no secret in any error,
    log record at DEBUG, warning, stdout or stderr):

    - ``store(values, expected_version)`` writes a new version: it returns what a fetch
      then reports, the store holds exactly the values given (quotes, backslashes,
      ``$``, ``#``, non-ASCII), and a new :class:`~bandwidth_credentials.Resolver` (the
      normal chain) serves the new secret; no secret in the provider's ``repr``.
    - A write based on a version that is no longer current raises
      :class:`~bandwidth_credentials.StoreConflictError` (``source`` set) and changes
      nothing.
    - Each :attr:`read_only` variant: ``store_problem()`` says why, in the base class's
      words, ``writing is not supported by this source (REASON)`` (it must hold "not
      supported" and the row's phrase),
      ``store()`` raises :class:`~bandwidth_credentials.StoreNotSupportedError` naming
      the source and writes nothing, and ``bwcreds rotate --dry-run`` exits 2 with the
      same reason, creating nothing at Bandwidth.
    - ``bwcreds rotate`` against a loopback Bandwidth (token endpoint and Credentials
      API, 127.0.0.1): a full rotation (the new secret stored pending before it is
      proven, then promoted; the chain serves it; both secrets active at Bandwidth); a
      crash after each step, then a re-run that finishes without losing or re-creating
      a secret; a third active secret refused with nothing written; another writer at
      promotion (refused, then finished by a re-run) and while the new secret is stored
      (kept with the other writer's change); no frame holding the new secret after a
      refused write; a promotion finished meanwhile by another run; ``--dry-run``
      writing nothing and creating nothing.
    """

    #: The scheme under test, as registered in ``bandwidth_credentials.providers``.
    scheme: ClassVar[str] = ""
    #: Sources the provider must refuse to write: variant name -> a phrase the refusal
    #: must contain (``store_problem()``, the error and ``bwcreds rotate``'s message).
    read_only: ClassVar[Mapping[str, str]] = {}
    #: A fresh empty directory for each test, set before the test runs.
    tmp: Path

    # -- hooks ----------------------------------------------------------------------

    def location(self) -> str:
        """A source URI naming a fresh place in the store (the suite seeds it first)."""
        raise NotImplementedError(f"{type(self).__name__} must implement location()")

    def seed(self, values: Mapping[str, str]) -> None:
        """Write ``values`` as the current secret at :meth:`location`, through the store's
        own client (a new version when the store keeps versions)."""
        raise NotImplementedError(f"{type(self).__name__} must implement seed(values)")

    def read(self) -> dict[str, Any]:
        """The values a reader of the store gets at :meth:`location` now, through the
        store's own client."""
        raise NotImplementedError(f"{type(self).__name__} must implement read()")

    def state(self) -> object:
        """Everything a dry run or a refused write must leave as it is (values, versions,
        labels, files); compared with ``==``. By default, what :meth:`read` gives."""
        return copy.deepcopy(self.read())

    def tamper(self) -> None:
        """Another writer changes the store, keeping every key and adding one
        (``BW_NOTE``); by default a :meth:`seed` of the values read plus that key."""
        values = dict(self.read())
        values["BW_NOTE"] = _NOTE
        self.seed(values)

    def read_only_uri(self, variant: str, values: Mapping[str, str]) -> str:
        """Store ``values`` (client credentials) where the provider must refuse to write
        (the :attr:`read_only` row ``variant``) and return that source URI."""
        raise NotImplementedError(f"{type(self).__name__} must implement read_only_uri()")

    def read_only_state(self, variant: str) -> object:
        """What a refused write to the ``variant`` source must leave alone (by default
        nothing is compared)."""
        return None

    def after_rotation(self) -> None:
        """The store's own checks after a full rotation (labels, version numbers, no
        temporary files left)."""

    def after_conflict(self) -> None:
        """The store's own checks after a write refused for a stale version (no label
        or temporary file left behind)."""

    def cleanup(self) -> None:
        """Remove what the test stored; runs after every test, whether it passed or not."""

    # -- plumbing -------------------------------------------------------------------

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "read_only_variant" in metafunc.fixturenames:
            variants: list[Any] = sorted(type(self).read_only)
            if not variants:
                reason = f"{type(self).__name__} lists no source it refuses to write (read_only)"
                variants = [pytest.param("", marks=pytest.mark.skip(reason=reason), id="none")]
            metafunc.parametrize("read_only_variant", variants)

    @pytest.fixture(autouse=True)
    def _store_contract(self, tmp_path: Path) -> Iterator[None]:
        self.tmp = tmp_path
        with warnings.catch_warnings(), today_is((2026, 12, 6)):
            warnings.filterwarnings("ignore", message="Bandwidth decommission")
            try:
                yield
            finally:
                self.cleanup()

    @property
    def uri(self) -> str:
        """The source URI of :meth:`location`, asked once per test."""
        found: str | None = self.__dict__.get("_uri")
        if found is None:
            found = self.__dict__["_uri"] = self.location()
        return found

    def provider(self, uri: str | None = None) -> Provider:
        """A fresh provider for ``uri`` (default :attr:`uri`), found by :attr:`scheme`."""
        return provider_class(self.scheme)(parse_source(uri or self.uri))

    def _seeded(self, api_url: str) -> None:
        self.seed(seed_values(api_url))

    def _assert_rotated(self, server: Bandwidth, number: int = 0) -> None:
        assert_rotated(self.read(), self.uri, server, number)

    # -- Provider.store -------------------------------------------------------------

    def test_store_writes_a_version_the_chain_then_serves(self) -> None:
        self.seed(
            {"BW_ACCOUNT_ID": "920012", "BW_CLIENT_ID": CLIENT_ID, "BW_CLIENT_SECRET": OLD_SECRET}
        )
        provider = self.provider()
        fetched = provider.fetch()
        new = {**fetched.values, "BW_CLIENT_SECRET": new_secret(0)}

        version = check_no_leaks(lambda: provider.store(new, fetched.version), CANARIES)

        again = self.provider().fetch()
        assert version is None or isinstance(version, str)
        assert again.version == version
        assert version is None or version != fetched.version
        assert self.read() == new
        assert served_secret(self.uri) == new_secret(0)
        assert all(canary not in repr(provider) for canary in CANARIES)

    @pytest.mark.parametrize("secret", list(_AWKWARD_SECRETS.values()), ids=list(_AWKWARD_SECRETS))
    def test_values_are_stored_exactly_as_given(self, secret: str) -> None:
        self.seed({"BW_CLIENT_ID": CLIENT_ID, "BW_CLIENT_SECRET": "old-secret-value"})
        provider = self.provider()
        fetched = provider.fetch()

        version = provider.store({**fetched.values, "BW_CLIENT_SECRET": secret}, fetched.version)

        again = self.provider().fetch()
        assert again.values["BW_CLIENT_SECRET"] == secret
        assert self.read()["BW_CLIENT_SECRET"] == secret
        assert again.version == version

    def test_store_refuses_a_stale_version(self) -> None:
        self.seed({"BW_CLIENT_ID": CLIENT_ID, "BW_CLIENT_SECRET": OLD_SECRET})
        provider = self.provider()
        fetched = provider.fetch()
        self.tamper()
        before = self.state()

        with pytest.raises(StoreConflictError) as refused:
            check_no_leaks(
                lambda: provider.store(
                    {**fetched.values, "BW_CLIENT_SECRET": new_secret(0)}, fetched.version
                ),
                CANARIES,
            )

        assert refused.value.source == parse_source(self.uri).uri
        assert self.read()["BW_CLIENT_SECRET"] == OLD_SECRET
        assert self.state() == before
        self.after_conflict()

    def test_a_read_only_source_is_refused_by_name(
        self, read_only_variant: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        phrase = type(self).read_only[read_only_variant]
        with bandwidth() as (server, url):
            values = {k: v for k, v in seed_values(url).items() if "EXPIRES" not in k}
            uri = self.read_only_uri(read_only_variant, values)
            provider = self.provider(uri)
            before = self.read_only_state(read_only_variant)

            problem = check_no_leaks(provider.store_problem, CANARIES)
            with pytest.raises(StoreNotSupportedError) as refused:
                check_no_leaks(
                    lambda: provider.store({"BW_CLIENT_SECRET": new_secret(0)}, None), CANARIES
                )
            code = run_cli("--source", uri, "--dry-run")

            assert problem is not None
            assert "not supported" in problem
            assert phrase in problem
            shown = parse_source(uri).uri
            assert refused.value.source == shown
            assert shown in str(refused.value)
            assert phrase in str(refused.value)
            assert code == 2
            assert phrase in capsys.readouterr().err
            assert server.created == []
            assert self.read_only_state(read_only_variant) == before

    # -- bwcreds rotate -------------------------------------------------------------

    def test_full_rotation(self, capsys: pytest.CaptureFixture[str]) -> None:
        with bandwidth() as (server, url):
            self._seeded(url)
            admin = admin_file(self.tmp, url)

            code = run_cli("--source", self.uri, "--admin-source", admin, "--json")

            assert code == 0
            document = json.loads(capsys.readouterr().out)
            assert document["rotated"] is True
            assert document["client_id"] == CLIENT_ID
            assert document["new_secret_expires_at"] == NEW_EXPIRY
            assert document["old_secret_expires_at"] == OLD_EXPIRY
            assert [step["step"] for step in document["steps"]] == list(_STEPS)
            assert server.created == [(CLIENT_ID, NEW_EXPIRY)]
            self._assert_rotated(server)
            assert set(server.active(CLIENT_ID)) == {OLD_SECRET, new_secret(0)}
            self.after_rotation()

    @pytest.mark.parametrize("step", _STEPS)
    def test_crash_after_each_step_then_rerun(self, step: str) -> None:
        from ..rotation import rotate

        with bandwidth() as (server, url):
            self._seeded(url)
            admin = admin_file(self.tmp, url)

            def crash(done: str, detail: str) -> None:
                if done == step:
                    raise Crash(done)

            with pytest.raises(Crash):
                check_no_leaks(
                    lambda: rotate(
                        self.uri, admin_source=admin, expires_in=90 * 86400.0, on_step=crash
                    ),
                    CANARIES,
                )
            if step in ("promote", "verify"):
                # Done already: the store serves the new secret; a re-run would create a
                # third, which Bandwidth refuses while the old one is active.
                self._assert_rotated(server)
                assert run_cli("--source", self.uri, "--admin-source", admin) == 1
                self._assert_rotated(server)
                return

            # A crash at the report of "create" still stores the secret first (Bandwidth
            # shows it once): the re-run resumes it.
            code = run_cli("--source", self.uri, "--admin-source", admin)

            assert code == 0
            assert len(server.created) == 1  # a stored pending secret is resumed, not re-created
            self._assert_rotated(server)

    def test_two_active_secrets_refused(self, capsys: pytest.CaptureFixture[str]) -> None:
        from .._cli import main

        second = "canary-second-active-secret-1Lp"
        with bandwidth() as (server, url):
            self._seeded(url)
            admin = admin_file(self.tmp, url)
            server.add_client(CLIENT_ID, second)
            before = self.state()

            code = check_no_leaks(
                lambda: main(["rotate", "--source", self.uri, "--admin-source", admin]),
                (*CANARIES, second),
            )

            assert code == 1
            err = capsys.readouterr().err
            assert "two active secrets" in err
            assert "Bandwidth App" in err
            assert self.state() == before
            assert server.created == []

    def test_version_race_at_promotion(self) -> None:
        """Another writer changes the store (keeping every key) after the new secret was
        stored: the promotion is refused cleanly, and a re-run finishes without a second
        create."""
        from ..rotation import RotationError, rotate

        with bandwidth() as (server, url):
            self._seeded(url)
            admin = admin_file(self.tmp, url)

            def race(done: str, detail: str) -> None:
                if done == "prove":
                    self.tamper()

            with pytest.raises(RotationError) as refused:
                check_no_leaks(lambda: rotate(self.uri, admin_source=admin, on_step=race), CANARIES)
            assert refused.value.step == "promote", str(refused.value)
            assert "rotate again" in refused.value.state
            assert self.read()["BW_CLIENT_SECRET"] == OLD_SECRET

            assert run_cli("--source", self.uri, "--admin-source", admin) == 0

            assert len(server.created) == 1
            assert self.read()["BW_NOTE"] == _NOTE
            self._assert_rotated(server)

    def test_version_race_while_storing_the_new_secret(self) -> None:
        """A write lands between reading the store and storing the new secret: the secret
        is stored anyway (re-read, the other writer's change kept), never lost."""
        from ..rotation import rotate

        with bandwidth() as (server, url):
            self._seeded(url)
            admin = admin_file(self.tmp, url)

            def race(done: str, detail: str) -> None:
                if done == "create":
                    self.tamper()

            result = check_no_leaks(
                lambda: rotate(self.uri, admin_source=admin, on_step=race), CANARIES
            )

            assert result["rotated"] is True
            assert self.read()["BW_NOTE"] == _NOTE
            self._assert_rotated(server)

    @pytest.mark.parametrize(("after", "failed"), [("create", "persist"), ("prove", "promote")])
    def test_a_version_race_holds_the_new_secret_in_no_frame(self, after: str, failed: str) -> None:
        from ..rotation import RotationError, rotate

        with bandwidth() as (_server, url):
            self._seeded(url)
            admin = admin_file(self.tmp, url)

            def race(done: str, detail: str) -> None:
                if done != after:
                    return
                values = dict(self.read())
                if failed == "persist":  # another rotation's pending secret appears
                    values["BW_CLIENT_SECRET_PENDING"] = "someone-elses-pending-6Yt"
                else:
                    values["BW_NOTE"] = _NOTE
                self.seed(values)

            with pytest.raises(RotationError) as raised:
                check_no_leaks(lambda: rotate(self.uri, admin_source=admin, on_step=race), CANARIES)

        assert raised.value.step == failed
        assert frames_holding(raised.value, new_secret(0)) == []

    def test_a_promotion_finished_meanwhile_by_another_run_is_not_a_failure(self) -> None:
        """Two runs resume the same pending secret; the second to promote finds the store
        already serving it (the first did the same write) instead of being told to run
        again, which would create yet another secret."""
        from ..rotation import rotate

        with bandwidth() as (server, url):
            self._seeded(url)
            admin = admin_file(self.tmp, url)

            def other_run_promotes(done: str, detail: str) -> None:
                if done == "prove":
                    values = dict(self.read())
                    values["BW_CLIENT_SECRET"] = values.pop("BW_CLIENT_SECRET_PENDING")
                    values["BW_CLIENT_SECRET_EXPIRES_AT"] = values.pop(
                        "BW_CLIENT_SECRET_PENDING_EXPIRES_AT"
                    )
                    self.seed(values)

            result = check_no_leaks(
                lambda: rotate(self.uri, admin_source=admin, on_step=other_run_promotes),
                CANARIES,
            )

            assert result["rotated"] is True
            self._assert_rotated(server)
            assert len(server.created) == 1

    def test_dry_run_touches_nothing(self, capsys: pytest.CaptureFixture[str]) -> None:
        with bandwidth() as (server, url):
            self._seeded(url)
            admin = admin_file(self.tmp, url)
            before = self.state()

            code = run_cli("--source", self.uri, "--admin-source", admin, "--dry-run")

            assert code == 0
            assert "dry run: nothing written" in capsys.readouterr().out
            assert self.state() == before
            assert server.created == []
            secrets_path = f"/api/v1/credentials/{CLIENT_ID}/secrets"
            assert all(path != secrets_path for _, path in server.requests)
