"""The public API's annotations resolve at run time (``typing.get_type_hints``), as
pydantic's ``validate_call``, FastAPI and other introspecting tools need, although the
package does not import ``typing`` at run time."""

from __future__ import annotations

import inspect
import typing

import pytest

import bandwidth_credentials


def _public_callables() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for name in bandwidth_credentials.__all__:
        obj = getattr(bandwidth_credentials, name)
        if inspect.isfunction(obj):
            found.append((name, obj))
        elif inspect.isclass(obj):
            found.append((name, obj))
            for member, value in vars(obj).items():
                if member == "__init__" or not member.startswith("_"):
                    if isinstance(value, property):
                        value = value.fget
                    if inspect.isfunction(value):
                        found.append((f"{name}.{member}", value))
    return found


@pytest.mark.parametrize(
    ("name", "obj"), _public_callables(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_annotations_resolve(name: str, obj: object) -> None:
    # Only the optional dependencies' types need supplying.
    import httpx
    import pydantic
    import requests

    optional = {
        "httpx": httpx,
        "requests": requests,
        "SecretStr": pydantic.SecretStr,
    }

    hints = typing.get_type_hints(obj, localns=optional)

    assert all(hint is not None for hint in hints.values())


def test_the_entry_points_report_their_types() -> None:
    hints = typing.get_type_hints(bandwidth_credentials.get_auth)

    assert hints == {
        "service": str,
        "account_id": str | None,
        "return": bandwidth_credentials.ServiceAuth,
    }
