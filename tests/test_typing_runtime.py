"""The run-time stand-ins for ``typing`` names (``_typing``): a ``NamedTuple`` class made
without importing ``typing`` behaves as one made with it."""

from __future__ import annotations

import pickle
import typing

import pytest

from bandwidth_credentials import Provenance, Source, _typing, parse_source


class Ours(_typing.NamedTuple):
    """A record."""

    name: str
    size: int = 1
    tags: tuple[str, ...] = ()

    def twice(self) -> int:
        return self.size * 2

    @property
    def first(self) -> str | None:
        return self.tags[0] if self.tags else None


class Theirs(typing.NamedTuple):
    """A record."""

    name: str
    size: int = 1
    tags: tuple[str, ...] = ()

    def twice(self) -> int:
        return self.size * 2

    @property
    def first(self) -> str | None:
        return self.tags[0] if self.tags else None


def test_a_named_tuple_made_without_typing_behaves_as_typings_own() -> None:
    ours, theirs = Ours("a", tags=("x",)), Theirs("a", tags=("x",))

    assert isinstance(ours, tuple)
    assert tuple(ours) == tuple(theirs) == ("a", 1, ("x",))
    assert repr(ours) == repr(theirs).replace("Theirs", "Ours")
    assert Ours._fields == Theirs._fields
    assert Ours._field_defaults == Theirs._field_defaults
    assert ours._replace(size=3) == ("a", 3, ("x",))
    assert ours._asdict() == theirs._asdict()
    assert (ours.twice(), ours.first) == (theirs.twice(), theirs.first) == (2, "x")
    assert Ours.__doc__ == "A record."
    assert Ours.__module__ == __name__
    assert Ours.__qualname__ == "Ours"
    assert list(Ours.__annotations__) == ["name", "size", "tags"]
    assert pickle.loads(pickle.dumps(ours)) == ours
    assert hash(ours) == hash(("a", 1, ("x",)))


def test_the_named_tuple_stand_in_refuses_what_typing_refuses() -> None:
    with pytest.raises(TypeError, match="without a default follows"):

        class Bad(_typing.NamedTuple):
            first: int = 0
            second: int  # type: ignore[misc]

    with pytest.raises(AttributeError, match="_replace"):

        class Overwrites(_typing.NamedTuple):
            field: int

            def _replace(self) -> None:  # type: ignore[misc]
                pass

    with pytest.raises(ValueError, match="underscore"):

        class Private(_typing.NamedTuple):
            _hidden: int  # type: ignore[misc]


def test_generic_protocol_and_type_variables_cost_nothing_at_run_time() -> None:
    class Box(_typing.Generic[str]):  # type: ignore[misc]
        pass

    class Shape(_typing.Protocol):
        def area(self) -> float: ...

    assert Box.__mro__[1] is _typing.Generic
    assert Box[int] is Box  # type: ignore[misc]
    assert Shape.__mro__[1] is _typing.Protocol
    assert _typing.TypeVar("T", bound=int) == "T"  # type: ignore[comparison-overlap]
    assert _typing.TYPE_CHECKING is False


def test_the_public_records_are_still_named_tuples() -> None:
    source = parse_source("dotenv:.env?optional=true")
    provenance = Provenance("env", "BW_USERNAME")

    assert isinstance(source, tuple)
    assert isinstance(source, Source)
    assert source._replace(target="other.env").target == "other.env"
    assert tuple(provenance) == ("env", "BW_USERNAME", None)
    assert provenance._replace(version="2").version == "2"
