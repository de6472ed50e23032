"""The library's logger, without importing :mod:`logging` at start-up.

Importing ``logging`` costs a good share of a cold start. It is not needed to *decide*
that a record goes nowhere: a handler can only exist once some code has imported
``logging``. So while ``logging`` is not in ``sys.modules`` a record is dropped (no
handler, configured before or after, could have received it); once it is (the
application configured logging, or any library imported it), every record goes to the
real ``logging.getLogger("bandwidth_credentials")`` exactly as a module-level logger
would, including to handlers configured later. As libraries should, a ``NullHandler``
is attached to the library's logger, when it is first used.
"""

from __future__ import annotations

import sys

from ._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

__all__ = ["logger"]

NAME = "bandwidth_credentials"


class _Logger:
    """``logging.getLogger("bandwidth_credentials")``, looked up on first real use."""

    __slots__ = ("_real",)

    def __init__(self) -> None:
        self._real: Any = None

    def _logger(self) -> Any:
        real = self._real
        if real is None:
            logging = sys.modules.get("logging")
            if logging is None:
                return None
            real = logging.getLogger(NAME)
            if not any(isinstance(h, logging.NullHandler) for h in real.handlers):
                real.addHandler(logging.NullHandler())
            self._real = real
        return real

    def _emit(self, level: str, msg: str, args: tuple[object, ...]) -> None:
        real = self._logger()
        if real is not None:
            getattr(real, level)(msg, *args, stacklevel=3)

    def debug(self, msg: str, *args: object) -> None:
        self._emit("debug", msg, args)

    def info(self, msg: str, *args: object) -> None:
        self._emit("info", msg, args)

    def warning(self, msg: str, *args: object) -> None:
        self._emit("warning", msg, args)

    def error(self, msg: str, *args: object) -> None:
        self._emit("error", msg, args)


logger = _Logger()
