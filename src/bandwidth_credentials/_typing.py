"""The few :mod:`typing` names this package needs at run time, without importing it.

Importing :mod:`typing` costs about as much CPU as starting the interpreter (it pulls in
``re``, ``collections``, ``functools``, ``contextlib``...), and every Lambda cold start and
``bwcreds exec`` pays for it. Type checkers read the ``TYPE_CHECKING`` branch (the real
names); at run time:

- ``NamedTuple`` builds the same class :class:`typing.NamedTuple` builds, with
  :func:`collections.namedtuple`: a tuple with named fields, defaults, ``_replace``,
  ``_asdict`` and the class body's methods and docstring. (From Python 3.14 on, where
  class annotations are evaluated lazily, it is :class:`typing.NamedTuple` itself.)
- ``Protocol`` and ``Generic`` are plain bases (protocols here are never checked with
  ``isinstance``), and ``TypeVar`` returns its name.
- ``Any`` is ``object`` and ``ClassVar[T]`` is ``T``: what ``typing.get_type_hints()``
  then reports for the public API (which tools such as pydantic's ``validate_call``
  resolve) accepts the same values; only the names differ.

With ``from __future__ import annotations`` no annotation is evaluated unless asked for.
The public API's annotations use names that exist at run time (so
``typing.get_type_hints()`` resolves them); private code imports names used only in
annotations under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any as Any
    from typing import ClassVar as ClassVar
    from typing import Generic as Generic
    from typing import NamedTuple as NamedTuple
    from typing import Protocol as Protocol
    from typing import TypeVar as TypeVar
elif sys.version_info >= (3, 14):  # pragma: no cover - lazily evaluated annotations
    from typing import Any, ClassVar, Generic, NamedTuple, Protocol, TypeVar
else:
    from collections import namedtuple

    # What typing.NamedTuple refuses to take from a class body, and what it does not copy.
    _PROHIBITED = frozenset(
        {"__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults"}
        | {"_make", "_replace", "_asdict", "_source"}
    )
    _SPECIAL = frozenset({"__module__", "__annotations__"})

    class _NamedTupleMeta(type):
        def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, object]) -> type:
            if not bases:  # NamedTuple itself
                return super().__new__(mcs, name, bases, namespace)
            annotations = dict(namespace.get("__annotations__", {}))  # type: ignore[call-overload]
            fields = tuple(annotations)
            defaults = [namespace[field] for field in fields if field in namespace]
            if any(field in namespace for field in fields[: len(fields) - len(defaults)]):
                raise TypeError(f"{name}: a field without a default follows one with a default")
            module = namespace.get("__module__")
            # namedtuple checks the field names as typing.NamedTuple does (no leading _).
            record: type = namedtuple(
                name, fields, defaults=defaults, module=None if module is None else str(module)
            )
            for key, value in namespace.items():
                if key in _PROHIBITED:
                    raise AttributeError(f"{name}: cannot overwrite NamedTuple attribute {key}")
                if key not in _SPECIAL and key not in fields:
                    setattr(record, key, value)
            record.__annotations__ = annotations
            return record

    class NamedTuple(metaclass=_NamedTupleMeta):
        """Base for named-tuple classes, as :class:`typing.NamedTuple`."""

    class Protocol:
        """Base for protocol classes: documentation and type checking only."""

        __slots__ = ()

    class Generic:
        """Base for generic classes; ``Generic[T]`` is ``Generic`` at run time."""

        __slots__ = ()

        def __class_getitem__(cls, parameters: object) -> type:
            return cls

    def TypeVar(name: str, *constraints: object, **options: object) -> str:
        """A type variable's name: type variables mean nothing at run time here."""
        return name

    Any = object

    class ClassVar:
        """``ClassVar[T]`` is ``T`` at run time."""

        __slots__ = ()

        def __class_getitem__(cls, parameter: object) -> object:
            return parameter


__all__ = ["TYPE_CHECKING", "Any", "ClassVar", "Generic", "NamedTuple", "Protocol", "TypeVar"]
