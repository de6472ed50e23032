"""Finding the provider class for a scheme.

There is one discovery path: the entry-point group ``bandwidth_credentials.providers``.
The core's own providers are registered there exactly as plugins are. Entry points are
read once per process and loaded only when their scheme is asked for, so a broken or
heavy plugin costs nothing until it is used.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from ._errors import ConfigurationError
from ._provider import Provider

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

GROUP = "bandwidth_credentials.providers"

# Schemes served by separately installed plugins, so a missing one can be named.
PLUGIN_PACKAGES = {
    "vault": "bandwidth-credentials-vault",
    "aws-sm": "bandwidth-credentials-aws",
    "aws-lambda-ext": "bandwidth-credentials-aws",
    "gcp-sm": "bandwidth-credentials-gcp",
}

logger = logging.getLogger("bandwidth_credentials")

_lock = threading.Lock()
_entry_points: dict[str, EntryPoint] | None = None
_loaded: dict[str, type[Provider]] = {}
_registered: dict[str, type[Provider]] = {}


def _discover() -> dict[str, EntryPoint]:
    global _entry_points
    if _entry_points is None:
        # Imported on first use: it costs a good part of the import time otherwise.
        from importlib.metadata import entry_points

        found: dict[str, EntryPoint] = {}
        for ep in entry_points(group=GROUP):
            # First one wins, as importlib lists them in sys.path order.
            found.setdefault(ep.name, ep)
        _entry_points = found
    return _entry_points


def register_provider(scheme: str, provider: type[Provider]) -> None:
    """Register a provider class for ``scheme`` in this process.

    Entry points are the normal way; this is for applications that define a provider
    inline. A registered class takes precedence over an entry point of the same name.
    """
    with _lock:
        _registered[scheme] = provider


def unregister_provider(scheme: str) -> None:
    """Undo :func:`register_provider` for ``scheme``."""
    with _lock:
        _registered.pop(scheme, None)


def provider_class(scheme: str) -> type[Provider]:
    """Return the provider class for ``scheme``, loading its entry point if needed.

    Raises :class:`ConfigurationError` naming the plugin package to install when the
    scheme is unknown, or the reason when the plugin is installed but fails to load.
    """
    cls = _registered.get(scheme) or _loaded.get(scheme)
    if cls is not None:
        return cls
    with _lock:
        ep = _discover().get(scheme)
        if ep is None:
            package = PLUGIN_PACKAGES.get(scheme)
            if package:
                raise ConfigurationError(
                    f"source scheme {scheme!r} needs the plugin package {package}: "
                    f"pip install {package}"
                )
            known = ", ".join(sorted(set(_discover()) | set(_registered)))
            raise ConfigurationError(
                f"unknown source scheme {scheme!r}; installed schemes: {known}"
            )
        try:
            loaded = ep.load()
        except Exception as exc:
            raise ConfigurationError(
                f"the provider for scheme {scheme!r} ({ep.value}) failed to load: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if not (isinstance(loaded, type) and issubclass(loaded, Provider)):
            raise ConfigurationError(
                f"the entry point for scheme {scheme!r} ({ep.value}) is not a Provider subclass"
            )
        _loaded[scheme] = loaded
        return loaded


def available_providers() -> dict[str, type[Provider]]:
    """Every provider that loads, by scheme. A broken plugin is logged and skipped."""
    result: dict[str, type[Provider]] = {}
    for scheme in sorted(set(_discover()) | set(_registered)):
        try:
            result[scheme] = provider_class(scheme)
        except ConfigurationError as exc:
            logger.warning("skipping provider %r: %s", scheme, exc)
    return result
