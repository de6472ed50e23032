"""The public names document themselves: every service of the service table, an example,
and the errors each one raises."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

import bandwidth_credentials as bc
from bandwidth_credentials._schema import SERVICES, describe_services, document_services

# Classes whose public methods are part of the API (attributes inherited from object,
# tuple or Exception are not this library's to document).
CLASSES_WITH_METHODS = (
    bc.Resolver,
    bc.ServiceAuth,
    bc.Source,
    bc.Provider,
    bc.Fetched,
    bc.CallbackAuth,
)
NAMED_TUPLE_FIELDS = {"uri", "scheme", "target", "options", "text", "lists"}

# Callables that can raise, and the library errors their docstrings must name.
RAISES: dict[str, tuple[str, ...]] = {
    "get_auth": (
        "UnknownServiceError",
        "CredentialNotFoundError",
        "InvalidCredentialsError",
        "ConfigurationError",
        "SourceError",
    ),
    "aget_auth": (
        "UnknownServiceError",
        "CredentialNotFoundError",
        "InvalidCredentialsError",
        "ConfigurationError",
        "SourceError",
    ),
    "configure": ("ConfigurationError", "TypeError"),
    "reload": ("SourceError", "ConfigurationError"),
    "invalidate": ("ConfigurationError",),
    "parse_source": ("ConfigurationError",),
    "Resolver": ("ConfigurationError",),
    "Resolver.get_auth": (
        "UnknownServiceError",
        "CredentialNotFoundError",
        "InvalidCredentialsError",
        "ConfigurationError",
        "SourceError",
    ),
    "Resolver.aget_auth": ("UnknownServiceError", "CredentialNotFoundError", "SourceError"),
    "Resolver.get_auth_nowait": ("UnknownServiceError",),
    "Resolver.reload": ("SourceError", "ConfigurationError", "InvalidCredentialsError"),
    "Resolver.resolve": ("SourceError", "ConfigurationError"),
    "Resolver.skipped": ("resolve",),
    "ServiceAuth.headers": ("TokenError",),
    "ServiceAuth.aheaders": ("TokenError",),
    "ServiceAuth.authorization": ("TokenError",),
    "ServiceAuth.current": ("CredentialNotFoundError", "SourceError"),
    "ServiceAuth.httpx_auth": ("ImportError", "TokenError"),
    "ServiceAuth.requests_auth": ("ImportError", "TokenError"),
    "ServiceAuth.sdk_configuration": ("ConfigurationError",),
    "ServiceAuth.password": ("ImportError",),
    "Source.optional": ("ConfigurationError",),
    "Source.flag": ("ConfigurationError",),
    "Source.number": ("ConfigurationError",),
    "Provider": ("ConfigurationError",),
    "Provider.fetch": (
        "SourceNotFoundError",
        "SourceAccessDeniedError",
        "SourceAuthenticationError",
        "SourceFormatError",
        "SourceUnavailableError",
    ),
    "Provider.current_version": ("SourceError",),
    "get_callback_auth": ("ValueError", "CallbackAuthError", "CredentialNotFoundError"),
    "Resolver.get_callback_auth": ("ValueError",),
    "CallbackAuth.verify": (
        "CallbackAuthError",
        "CredentialNotFoundError",
        "InvalidCredentialsError",
        "SourceError",
        "TypeError",
    ),
    "CallbackAuth.averify": ("verify",),
    "CallbackAuth.for_call": ("CredentialNotFoundError", "InvalidCredentialsError"),
}


def _public_callables() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in bc.__all__:
        obj = getattr(bc, name)
        if callable(obj):
            found[name] = obj
    for cls in CLASSES_WITH_METHODS:
        for name, member in vars(cls).items():
            if name.startswith("_") or name in NAMED_TUPLE_FIELDS:
                continue
            if callable(member) or isinstance(member, property):
                found[f"{cls.__name__}.{name}"] = getattr(cls, name)
    return found


PUBLIC = _public_callables()


def _doc(obj: Any) -> str:
    return inspect.getdoc(obj) or ""


@pytest.mark.parametrize(
    "documented",
    [bc.get_auth, bc.aget_auth, bc.Resolver.get_auth, bc.ServiceAuth],
    ids=["get_auth", "aget_auth", "Resolver.get_auth", "ServiceAuth"],
)
def test_every_service_and_its_title_is_in_the_docstring(documented: object) -> None:
    doc = _doc(documented)

    missing = [s.name for s in SERVICES.values() if f"``{s.name}`` ({s.title})" not in doc]

    assert missing == []
    assert "{services}" not in doc


def test_the_service_list_is_generated_from_the_table() -> None:
    def example() -> None:
        """Accepts {services}."""

    document_services(example)

    assert example.__doc__ == f"Accepts {describe_services()}."
    assert describe_services().count("``") == 2 * len(SERVICES)
    assert list(bc.SERVICE_NAMES) == list(SERVICES)


def test_the_public_api_is_what_this_test_walks() -> None:
    names = set(PUBLIC)

    assert {"get_auth", "Resolver.get_auth", "ServiceAuth.headers", "Provider.fetch"} <= names
    assert set(RAISES) <= names, sorted(set(RAISES) - names)
    assert all(name in names for name in bc.__all__ if callable(getattr(bc, name)))


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_public_callable_has_a_docstring_with_an_example(name: str) -> None:
    doc = _doc(PUBLIC[name])

    has_example = ">>>" in doc or "::\n" in doc

    assert doc, f"{name} has no docstring"
    assert has_example, f"{name}'s docstring has no example (>>> or a :: code block)"


@pytest.mark.parametrize("name", sorted(RAISES))
def test_callables_that_raise_name_their_errors(name: str) -> None:
    doc = _doc(PUBLIC[name])

    missing = [error for error in RAISES[name] if error not in doc]

    assert "Raise" in doc or "raise" in doc, f"{name}'s docstring says nothing of raising"
    assert missing == [], f"{name}'s docstring does not name {missing}"


@pytest.mark.parametrize(
    "error",
    [getattr(bc, name) for name in bc.__all__ if name.endswith("Error")],
    ids=lambda cls: cls.__name__,
)
def test_every_error_class_says_when_it_is_raised_with_an_example(
    error: Callable[..., BaseException],
) -> None:
    doc = _doc(error)

    assert len(doc.split()) >= 8, f"{error!r}: a one-liner does not say when it is raised"
    assert ">>>" in doc
