"""The provider contract suite: the behaviour every source provider proves."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import ClassVar

import pytest

from .._errors import (
    ConfigurationError,
    CredentialsError,
    SourceAccessDeniedError,
    SourceError,
    SourceFormatError,
    SourceNotFoundError,
    StoreNotSupportedError,
)
from .._provider import Fetched, Provider, parse_source
from .._registry import provider_class
from .._resolver import Resolver
from ._leaks import CANARIES, CANARY_PASSWORD, CANARY_SECRET, check_no_leaks

__all__ = ["STANDARD_VALUES", "ProviderContract"]

#: What :meth:`ProviderContract.store` is asked to store: an API user and a Messaging
#: token pair, the two secrets being canaries.
STANDARD_VALUES: Mapping[str, str] = {
    "BW_ACCOUNT_ID": "920012",
    "BW_USERNAME": "jdoe",
    "BW_PASSWORD": CANARY_PASSWORD,
    "BW_API_TOKEN": "contract-token",
    "BW_API_SECRET": CANARY_SECRET,
}


def _with_option(uri: str, option: str) -> str:
    return uri + ("&" if "?" in uri else "?") + option


class ProviderContract:
    """Tests every provider must pass; subclass it in the provider's own tests.

    A subclass sets :attr:`scheme` and implements two hooks, :meth:`store` ("store this
    data where the provider reads it and give me the URI") and :meth:`missing_uri`. The
    failure paths each have a hook (:meth:`denied_uri`, :meth:`unreadable_uri`,
    :meth:`malformed_uri`) that a subclass implements, or leaves alone to have that test
    skipped with a reason that names the hook. :meth:`cleanup` runs after every test,
    failed or not. ``self.tmp`` is a fresh, empty directory (a :class:`pathlib.Path`) for
    each test::

        from bandwidth_credentials.testing import ProviderContract

        class TestIniContract(ProviderContract):
            scheme = "ini"

            def store(self, values):
                lines = "".join(f"{key}={value}\\n" for key, value in values.items())
                path = self.tmp / "bw.ini"
                path.write_text("[bandwidth]\\n" + lines)
                return f"ini:{path}"

            def missing_uri(self):
                return f"ini:{self.tmp / 'absent.ini'}"

            def malformed_uri(self, values):
                path = self.tmp / "broken.ini"
                path.write_text(f"BW_PASSWORD={values['BW_PASSWORD']}\\n")  # no [section]
                return f"ini:{path}"

    What the suite checks: the scheme is registered under the entry-point group
    ``bandwidth_credentials.providers``; ``fetch()`` returns :class:`~bandwidth_credentials.Fetched`
    with the stored keys and values, a ``str`` or ``None`` version and a float timestamp;
    a :class:`~bandwidth_credentials.Resolver` builds every service from it; ``close()``
    may be called twice, and a fetch after it works or raises a library error;
    ``current_version()`` returns ``str`` or ``None`` and never raises; unknown options
    are a ``ConfigurationError``; a missing source is ``SourceNotFoundError``, a denied
    one ``SourceAccessDeniedError``, a malformed one ``SourceFormatError``, an unreadable
    one a ``SourceError`` (narrow it with :attr:`unreadable_error`), each with ``source``
    set to the URI and the URI named in the message; a source the provider cannot write
    says why in ``store_problem()``, and ``store()`` raises ``StoreNotSupportedError``
    naming the source and that reason (a provider that can write joins
    :class:`~bandwidth_credentials.testing.StoreContract` too); and, under the leak harness, no
    stored secret (:data:`CANARIES`) appears in any error, log record at DEBUG, warning,
    stdout or stderr on any of these paths.

    Resolving the Basic credentials in :data:`STANDARD_VALUES` emits Bandwidth's Basic
    deprecation notice; the suite ignores it, so it passes under ``filterwarnings = error``.
    """

    #: The scheme under test, as registered in ``bandwidth_credentials.providers``.
    scheme: ClassVar[str] = ""
    #: The error an unreadable source raises; ``SourceError`` accepts every subclass.
    unreadable_error: ClassVar[type[SourceError]] = SourceError
    #: A fresh empty directory for each test, set before the test runs.
    tmp: Path

    # -- hooks ----------------------------------------------------------------------

    def store(self, values: Mapping[str, str]) -> str:
        """Store ``values`` (keys spelled as given) and return a source URI reading them."""
        raise NotImplementedError(f"{type(self).__name__} must implement store(values)")

    def missing_uri(self) -> str:
        """A source URI whose storage does not exist."""
        raise NotImplementedError(f"{type(self).__name__} must implement missing_uri()")

    def denied_uri(self, values: Mapping[str, str]) -> str:
        """Store ``values`` where this identity may not read them; return that URI."""
        pytest.skip(f"{type(self).__name__} does not implement denied_uri(values)")

    def unreadable_uri(self, values: Mapping[str, str]) -> str:
        """Store ``values`` so the source exists but cannot be read (not UTF-8, no read
        permission, over the size cap); return that URI."""
        pytest.skip(f"{type(self).__name__} does not implement unreadable_uri(values)")

    def malformed_uri(self, values: Mapping[str, str]) -> str:
        """Store ``values`` in a shape the provider cannot parse (broken JSON, a missing
        section) with the secrets still in it; return that URI."""
        pytest.skip(f"{type(self).__name__} does not implement malformed_uri(values)")

    def keys_for(self, values: Mapping[str, str]) -> Mapping[str, str]:
        """The keys as the provider reports them; override when storage renames keys."""
        return values

    def cleanup(self) -> None:
        """Remove what the test stored; runs after every test, whether it passed or not."""

    # -- plumbing -------------------------------------------------------------------

    @pytest.fixture(autouse=True)
    def _provider_contract(self, tmp_path: Path) -> Iterator[None]:
        self.tmp = tmp_path
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Bandwidth decommission")
            try:
                yield
            finally:
                self.cleanup()

    def _provider(self, uri: str) -> Provider:
        return provider_class(self.scheme)(parse_source(uri))

    def _assert_holds_the_standard_values(self, fetched: Fetched) -> None:
        got = {str(key): value for key, value in fetched.values.items()}
        expected = self.keys_for(STANDARD_VALUES)
        missing = sorted(set(expected) - set(got))
        assert not missing, f"keys not returned as stored: {missing}; returned: {sorted(got)}"
        changed = sorted(key for key, value in expected.items() if got[key] != value)
        assert not changed, f"values changed for {changed}"

    def _assert_fails_cleanly(self, uri: str, expected: type[SourceError]) -> None:
        provider = self._provider(uri)

        with pytest.raises(expected) as caught:
            check_no_leaks(provider.fetch)
        with pytest.raises(CredentialsError):
            check_no_leaks(lambda: Resolver([uri]).get_auth("voice"))

        assert caught.value.source == parse_source(uri).uri
        assert uri.split("?")[0] in str(caught.value)

    # -- the contract ---------------------------------------------------------------

    def test_scheme_is_registered_through_the_entry_point_group(self) -> None:
        cls = provider_class(self.scheme)

        assert issubclass(cls, Provider)
        assert cls.scheme == self.scheme

    def test_fetch_returns_the_stored_keys_and_values(self) -> None:
        provider = self._provider(self.store(STANDARD_VALUES))

        fetched = provider.fetch()

        assert isinstance(fetched, Fetched)
        self._assert_holds_the_standard_values(fetched)
        assert fetched.version is None or isinstance(fetched.version, str)

    def test_resolves_every_service_through_a_resolver(self) -> None:
        uri = self.store(STANDARD_VALUES)
        resolver = Resolver([uri])

        voice = resolver.get_auth("voice")
        messaging = resolver.get_auth("messaging")

        assert voice.account_id == "920012"
        assert voice.username == "jdoe"
        assert voice.password is not None
        assert voice.password.get_secret_value() == CANARY_PASSWORD
        assert messaging.username == "contract-token"
        assert voice.provenance["password"].source == parse_source(uri).uri

    def test_fetch_shows_no_value_in_reprs_logs_warnings_or_output(self) -> None:
        provider = self._provider(self.store(STANDARD_VALUES))

        fetched = check_no_leaks(provider.fetch)

        for canary in CANARIES:
            assert canary not in repr(fetched)
            assert canary not in repr(provider)

    def test_close_may_be_called_twice_before_and_after_a_fetch(self) -> None:
        uri = self.store(STANDARD_VALUES)
        unused, used = self._provider(uri), self._provider(uri)
        used.fetch()

        for provider in (unused, used):
            provider.close()
            provider.close()

        assert used.source.text == uri

    def test_fetch_after_close_works_or_raises_a_library_error(self) -> None:
        provider = self._provider(self.store(STANDARD_VALUES))
        provider.fetch()
        provider.close()

        try:
            fetched = check_no_leaks(provider.fetch)
        except CredentialsError:
            return

        self._assert_holds_the_standard_values(fetched)

    def test_current_version_is_text_or_none(self) -> None:
        provider = self._provider(self.store(STANDARD_VALUES))

        before = check_no_leaks(provider.current_version)
        provider.fetch()
        after = check_no_leaks(provider.current_version)

        assert before is None or isinstance(before, str)
        assert after is None or isinstance(after, str)

    def test_current_version_of_a_missing_source_is_a_version_or_a_source_error(self) -> None:
        # A source that can no longer be read may say so (a failed refresh, served stale
        # within max_stale); anything but a SourceError would be a provider bug.
        provider = self._provider(self.missing_uri())

        failure: SourceError | None = None
        version: str | None = None
        try:
            version = check_no_leaks(provider.current_version)
        except SourceError as exc:
            failure = exc

        assert version is None or isinstance(version, str)
        assert failure is None or failure.source == parse_source(self.missing_uri()).uri

    def test_unknown_option_is_a_configuration_error(self) -> None:
        bad = _with_option(self.store(STANDARD_VALUES), "no_such_option=1")

        with pytest.raises(ConfigurationError) as caught:
            self._provider(bad)

        assert "no_such_option" in str(caught.value)

    def test_missing_source_is_an_error(self) -> None:
        self._assert_fails_cleanly(self.missing_uri(), SourceNotFoundError)

    def test_missing_optional_source_is_skipped(self) -> None:
        resolver = Resolver([_with_option(self.missing_uri(), "optional=true")])

        with pytest.raises(CredentialsError) as caught:
            resolver.get_auth("voice")

        assert not isinstance(caught.value, SourceError)
        assert resolver.skipped()

    def test_denied_source_is_an_access_denied_error(self) -> None:
        self._assert_fails_cleanly(self.denied_uri(STANDARD_VALUES), SourceAccessDeniedError)

    def test_unreadable_source_is_a_source_error(self) -> None:
        self._assert_fails_cleanly(self.unreadable_uri(STANDARD_VALUES), self.unreadable_error)

    def test_malformed_source_is_a_format_error(self) -> None:
        self._assert_fails_cleanly(self.malformed_uri(STANDARD_VALUES), SourceFormatError)

    def test_a_source_it_cannot_write_says_so_by_name(self) -> None:
        uri = self.store(STANDARD_VALUES)
        provider = self._provider(uri)

        problem = check_no_leaks(provider.store_problem)
        if problem is None:
            return  # writable: the store contract (StoreContract) holds its cases
        with pytest.raises(StoreNotSupportedError) as refused:
            check_no_leaks(lambda: provider.store(dict(STANDARD_VALUES), None))

        assert isinstance(problem, str)
        assert refused.value.source == parse_source(uri).uri
        assert uri.split("?")[0] in str(refused.value)
        assert problem in str(refused.value)
        self._assert_holds_the_standard_values(self._provider(uri).fetch())
