"""A reusable contract test suite for source providers.

Every provider, built in or plugin, proves the same behaviour by subclassing
:class:`ProviderContract` in its own tests and saying how to store values::

    from bandwidth_credentials.testing import ProviderContract

    class TestMyProvider(ProviderContract):
        scheme = "mystore"

        def store(self, values):                 # put values where the provider reads them
            ...
            return "mystore:some/path"           # the source URI that reads them back

        def missing_uri(self):
            return "mystore:does/not/exist"

The suite needs pytest; it is imported only by tests.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from ._errors import ConfigurationError, CredentialsError, SourceError
from ._provider import Fetched, Provider, parse_source
from ._registry import provider_class
from ._resolver import Resolver

__all__ = ["CANARY_PASSWORD", "CANARY_SECRET", "ProviderContract"]

# Distinctive values: if one of these shows up in any output, a secret leaked.
CANARY_PASSWORD = "canary-pw-7f3a9c1e-DO-NOT-LEAK"
CANARY_SECRET = "canary-secret-52b8d0e4-DO-NOT-LEAK"

STANDARD_VALUES: dict[str, str] = {
    "BW_ACCOUNT_ID": "920012",
    "BW_USERNAME": "jdoe",
    "BW_PASSWORD": CANARY_PASSWORD,
    "BW_API_TOKEN": "contract-token",
    "BW_API_SECRET": CANARY_SECRET,
}


class ProviderContract:
    """Tests every provider must pass. Subclass it and implement the hooks below."""

    #: The scheme under test, as registered in ``bandwidth_credentials.providers``.
    scheme: str = ""

    def store(self, values: Mapping[str, str]) -> str:
        """Store ``values`` (keys spelled as given) and return a source URI reading them."""
        raise NotImplementedError

    def missing_uri(self) -> str:
        """A source URI whose storage does not exist."""
        raise NotImplementedError

    def keys_for(self, values: Mapping[str, str]) -> Mapping[str, str]:
        """The keys as the provider reports them; override when storage renames keys."""
        return values

    # -- the contract ---------------------------------------------------------------

    def test_scheme_is_registered_through_the_entry_point_group(self) -> None:
        cls = provider_class(self.scheme)

        assert issubclass(cls, Provider)
        assert cls.scheme == self.scheme

    def test_fetch_returns_the_stored_keys_and_values(self) -> None:
        uri = self.store(STANDARD_VALUES)
        provider = provider_class(self.scheme)(parse_source(uri))

        fetched = provider.fetch()

        assert isinstance(fetched, Fetched)
        got = {str(k): v for k, v in fetched.values.items()}
        for key, value in self.keys_for(STANDARD_VALUES).items():
            assert got[key] == value
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

    def test_fetched_repr_and_errors_never_show_values(self) -> None:
        uri = self.store(STANDARD_VALUES)
        provider = provider_class(self.scheme)(parse_source(uri))

        fetched = provider.fetch()

        assert CANARY_PASSWORD not in repr(fetched)
        assert CANARY_SECRET not in repr(fetched)
        assert CANARY_PASSWORD not in repr(provider)

    def test_missing_source_is_an_error(self) -> None:
        provider = provider_class(self.scheme)(parse_source(self.missing_uri()))

        with pytest.raises(SourceError) as caught:
            provider.fetch()

        assert caught.value.source == parse_source(self.missing_uri()).uri
        assert self.missing_uri().split("?")[0] in str(caught.value)

    def test_missing_optional_source_is_skipped(self) -> None:
        uri = self.missing_uri()
        optional = uri + ("&" if "?" in uri else "?") + "optional=true"
        resolver = Resolver([optional])

        with pytest.raises(CredentialsError) as caught:
            resolver.get_auth("voice")

        assert not isinstance(caught.value, SourceError)
        assert resolver.skipped()

    def test_unknown_option_is_a_configuration_error(self) -> None:
        uri = self.store(STANDARD_VALUES)
        bad = uri + ("&" if "?" in uri else "?") + "no_such_option=1"

        with pytest.raises(ConfigurationError) as caught:
            provider_class(self.scheme)(parse_source(bad))

        assert "no_such_option" in str(caught.value)
