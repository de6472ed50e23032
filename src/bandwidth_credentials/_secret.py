"""A minimal secret holder used internally until a caller asks for a pydantic ``SecretStr``.

Importing pydantic costs about 100 ms, most of a cold start; the hot path (building the
``Authorization`` header) never needs it, so it is imported only when a caller reads
``ServiceAuth.password``.
"""

from __future__ import annotations


class Secret:
    """Holds a secret string; ``repr`` and ``str`` never show it (as ``SecretStr``)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        """The secret itself."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> str:
        raise TypeError("secrets cannot be pickled")
