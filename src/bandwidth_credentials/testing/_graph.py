"""Find canary strings anywhere in an object graph: the exception half of the leak harness."""

from __future__ import annotations

import base64
import traceback
import types
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import NamedTuple

__all__ = ["Leak", "canary_forms", "exception_graph", "find_in_graph", "find_in_text", "shorten"]

# Bounds keep a walk through a large client object (a requests.Response with its pool,
# an SDK client) finite; past them the walk stops quietly rather than hanging a test.
MAX_DEPTH = 24
MAX_NODES = 50_000

# Objects whose contents are code or machinery, not data an error carries.
_OPAQUE = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.CodeType,
    types.FrameType,
    types.TracebackType,
    int,
    float,
    complex,
    bool,
    type(None),
)


class Leak(NamedTuple):
    """One place a canary was found: ``where`` (a path or channel), ``canary`` (its index)."""

    where: str
    canary: int


def shorten(canary: str) -> str:
    """Enough of a canary to tell which one matched, never the whole value."""
    return canary[:6] + "..." if len(canary) > 8 else "..."


def canary_forms(canary: str) -> tuple[bytes, ...]:
    """The byte strings that betray ``canary``: its UTF-8 and UTF-16 encodings, and the
    three base64 alignments (an ``Authorization: Basic`` header carries base64 of
    ``user:password``, so the password sits at any offset of the encoded text)."""
    raw = canary.encode("utf-8")
    forms = [raw, canary.encode("utf-16-le"), canary.encode("utf-16-be")]
    for start in range(3):
        usable = (len(raw) - start) // 3 * 3
        if usable >= 12:
            encoded = base64.b64encode(raw[start : start + usable])
            forms.extend([encoded, encoded.replace(b"+", b"-").replace(b"/", b"_")])
    return tuple(forms)


def find_in_text(text: str | bytes, canaries: tuple[str, ...], where: str) -> list[Leak]:
    """Every canary (plain, UTF-16 or base64) in one piece of text."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    return [
        Leak(where, index)
        for index, canary in enumerate(canaries)
        if any(form in data for form in canary_forms(canary))
    ]


def _member_names(kind: type, exception: bool) -> Iterator[str]:
    """Attributes stored by the type itself: ``__slots__`` and, for exceptions, the C-level
    fields such as ``UnicodeDecodeError.object`` or ``OSError.filename``."""
    wanted: tuple[type, ...] = (types.MemberDescriptorType,)
    if exception:
        wanted += (types.GetSetDescriptorType,)
    seen: set[str] = set()
    for klass in kind.__mro__:
        if klass is object:
            continue
        for name, attribute in vars(klass).items():
            if (
                name not in seen
                and name not in ("__traceback__", "__dict__", "__weakref__")
                and isinstance(attribute, wanted)
            ):
                seen.add(name)
                yield name


def _children(value: object) -> Iterator[tuple[str, object]]:
    if isinstance(value, Mapping):
        for key, item in list(value.items()):
            label = f"[{key!r}]" if isinstance(key, (str, int)) and len(repr(key)) < 40 else "[]"
            yield f"{label}<key>", key
            yield label, item
        return
    if isinstance(value, (list, tuple, set, frozenset, deque)):
        for index, item in enumerate(list(value)):
            yield f"[{index}]", item
        return
    is_exception = isinstance(value, BaseException)
    for name in _member_names(type(value), is_exception):
        try:
            item = getattr(value, name)
        except Exception:  # noqa: S112 - an unset slot or a failing property holds nothing
            continue
        yield f".{name}", item
    attributes = getattr(value, "__dict__", None)
    if isinstance(attributes, dict):
        for name, item in list(attributes.items()):
            yield f".{name}", item


def exception_graph(root: object, where: str = "exception") -> Iterator[tuple[str, object]]:
    """Every object reachable from ``root`` (an exception, usually), with its path from
    ``where`` (``"exception.__context__.args[0]"``): the one walk behind :func:`find_leaks`.

    Follows ``__cause__``, ``__context__``, ``args`` and every other exception field (such
    as ``UnicodeDecodeError.object``), ``__dict__`` and ``__slots__`` of any object,
    mapping keys and values, and sequence items. Each object is given once (cycles are
    safe), except text (``str``/``bytes``), which is given on every path that reaches it;
    code, numbers and ``None`` are not given. The walk stops after ``MAX_NODES`` objects
    or ``MAX_DEPTH`` levels.

    Example::

        from bandwidth_credentials.testing import exception_graph

        def test_no_decoding_error_is_attached(caught):
            kinds = [type(value) for _, value in exception_graph(caught.value)]
            assert UnicodeDecodeError not in kinds
    """
    seen: set[int] = set()
    stack: list[tuple[str, object, int]] = [(where, root, 0)]
    visits = 0
    while stack and visits < MAX_NODES:
        visits += 1
        path, value, depth = stack.pop()
        if isinstance(value, (str, bytes, bytearray, memoryview)):
            # Text holds no references, so it is given on every path that reaches it:
            # a leak report then names each attribute that keeps the value alive.
            yield path, value
            continue
        if id(value) in seen or isinstance(value, _OPAQUE):
            continue
        seen.add(id(value))
        yield path, value
        if depth < MAX_DEPTH:
            stack.extend((path + label, child, depth + 1) for label, child in _children(value))


def find_in_graph(root: object, canaries: tuple[str, ...], where: str) -> list[Leak]:
    """Every place in :func:`exception_graph` that holds a canary: each ``str``/``bytes``
    met, and for each exception also its ``str``, ``repr`` and
    ``traceback.format_exception`` text."""
    leaks: list[Leak] = []
    for path, value in exception_graph(root, where):
        if isinstance(value, (bytearray, memoryview)):
            leaks.extend(find_in_text(bytes(value), canaries, path))
        elif isinstance(value, (str, bytes)):
            leaks.extend(find_in_text(value, canaries, path))
        elif isinstance(value, BaseException):
            leaks.extend(_exception_text(value, canaries, path))
    return _unique(leaks)


def _exception_text(exc: BaseException, canaries: tuple[str, ...], path: str) -> list[Leak]:
    found: list[Leak] = []
    for label, render in (("str", str), ("repr", repr), ("traceback", _formatted)):
        try:
            text = render(exc)
        except Exception:  # noqa: S112 - a broken __str__ shows nothing
            continue
        found.extend(find_in_text(text, canaries, f"{label}({path})"))
    return found


def _formatted(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def _unique(leaks: Iterable[Leak]) -> list[Leak]:
    return list(dict.fromkeys(leaks))
