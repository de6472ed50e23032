"""Finding the provider class for a scheme.

Plugins are found through the entry-point group ``bandwidth_credentials.providers``. The
core's own providers are registered there exactly as plugins are, but resolve without
reading entry points (reading them costs more than the rest of a cold start), and each
provider module is imported only when its scheme is configured. So do the project's own
plugins (``vault``, ``aws-*``, ``azure-kv``, ``gcp-sm``): their module is imported by name
(a broken one is reported with the reason it failed); only when their package is not
installed are the entry points read (another distribution may serve the scheme, or the
error names the package to install). Entry points are read once per process, on the
first scheme that is neither (or when providers are listed), and loaded only when their
scheme is asked for, so a broken or heavy plugin costs nothing until it is used.
:func:`register_provider` takes precedence over all of these.
"""

from __future__ import annotations

import _thread
import sys

from ._errors import ConfigurationError
from ._lifecycle import on_fork
from ._log import logger
from ._provider import Provider
from ._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

GROUP = "bandwidth_credentials.providers"

# The core's own providers, as registered in its entry points (module:Class).
BUILTIN = {
    "env": "bandwidth_credentials.providers.env:EnvProvider",
    "dotenv": "bandwidth_credentials.providers.dotenv:DotenvProvider",
    "file": "bandwidth_credentials.providers.file:FileProvider",
    "band": "bandwidth_credentials.providers.band:BandProvider",
}

# The project's own plugins, as registered in their entry points (module:Class): when the
# package is installed, its module serves the scheme without reading entry points (on a
# Lambda cold start reading them costs more than everything else the extension path does).
PLUGIN_PROVIDERS = {
    "vault": "bandwidth_credentials_vault._provider:VaultProvider",
    "aws-sm": "bandwidth_credentials_aws.secrets_manager:SecretsManagerProvider",
    "aws-ssm": "bandwidth_credentials_aws.parameter_store:ParameterStoreProvider",
    "aws-lambda-ext": "bandwidth_credentials_aws.lambda_extension:LambdaExtensionProvider",
    "azure-kv": "bandwidth_credentials_azure.key_vault:KeyVaultProvider",
    "gcp-sm": "bandwidth_credentials_gcp.secret_manager:SecretManagerProvider",
}

# Schemes served by separately installed plugins, so a missing one can be named.
PLUGIN_PACKAGES = {
    "vault": "bandwidth-credentials-vault",
    "aws-sm": "bandwidth-credentials-aws",
    "aws-ssm": "bandwidth-credentials-aws",
    "aws-lambda-ext": "bandwidth-credentials-aws",
    "azure-kv": "bandwidth-credentials-azure",
    "gcp-sm": "bandwidth-credentials-gcp",
}
# The folder of each plugin in the project's repository (nothing is on an index yet).
PLUGIN_FOLDERS = {
    "bandwidth-credentials-vault": "plugins/vault",
    "bandwidth-credentials-aws": "plugins/aws",
    "bandwidth-credentials-azure": "plugins/azure",
    "bandwidth-credentials-gcp": "plugins/gcp",
}


_lock = _thread.allocate_lock()
_entry_points: dict[str, EntryPoint] | None = None
_loaded: dict[str, type[Provider]] = {}
_registered: dict[str, type[Provider]] = {}


def install_extra(extra: str) -> str:
    """How to install one of the core's extras, from a checkout (nothing is on a package
    index yet) and once published: ``install_extra("band")`` gives
    ``from a checkout of bandwidth-credentials, pip install '.[band]' (once published:
    pip install 'bandwidth-credentials[band]')``."""
    return (
        f"from a checkout of bandwidth-credentials, pip install '.[{extra}]' (once "
        f"published: pip install 'bandwidth-credentials[{extra}]')"
    )


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
    Registering again replaces the class; resolvers built before keep the provider
    instances they made. Never raises (the class is checked when a source uses it).

    >>> register_provider("ini", IniProvider)                       # doctest: +SKIP
    >>> Resolver(["ini:/etc/bandwidth.ini"]).get_auth("voice")      # doctest: +SKIP
    """
    with _lock:
        _registered[scheme] = provider


def unregister_provider(scheme: str) -> None:
    """Undo :func:`register_provider` for ``scheme`` (an entry point of that name, if
    any, serves it again). Unknown schemes are ignored; never raises.

    >>> unregister_provider("ini")                                  # doctest: +SKIP
    """
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
    builtin = BUILTIN.get(scheme)
    if builtin is not None:
        found: type[Provider] = _import(builtin)
        _loaded[scheme] = found
        return found
    own_plugin = PLUGIN_PROVIDERS.get(scheme)
    if own_plugin is not None:
        loaded = _own_plugin(scheme, own_plugin)
        if loaded is not None:
            return loaded
    with _lock:
        ep = _discover().get(scheme)
        if ep is None:
            package = PLUGIN_PACKAGES.get(scheme)
            if package:
                folder = PLUGIN_FOLDERS[package]
                raise ConfigurationError(
                    f"source scheme {scheme!r} needs the plugin package {package}: from a "
                    f"checkout of bandwidth-credentials, pip install . ./{folder} (once "
                    f"published: pip install {package})"
                )
            known = ", ".join(sorted(set(_discover()) | set(_registered)))
            raise ConfigurationError(
                f"unknown source scheme {scheme!r}; installed schemes: {known}"
            )
        reason = ""
        try:
            loaded = ep.load()
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
        if reason:
            # Raised here, not in the except block: nothing of the plugin's exception
            # stays chained (its type and message are kept, to say what to fix).
            raise ConfigurationError(
                f"the provider for scheme {scheme!r} ({ep.value}) failed to load: {reason}"
            )
        if not (isinstance(loaded, type) and issubclass(loaded, Provider)):
            raise ConfigurationError(
                f"the entry point for scheme {scheme!r} ({ep.value}) is not a Provider subclass"
            )
        _loaded[scheme] = loaded
        return loaded


def _own_plugin(scheme: str, target: str) -> type[Provider] | None:
    """The project's own plugin class for ``scheme``, imported by module; ``None`` when
    its package is not installed (the entry points then say what to install).

    Raises :class:`ConfigurationError` when the package is there but the module fails to
    import (with the first failure's reason: the module is not run a second time) or the
    name is not a Provider subclass.
    """
    package = target.partition(".")[0]
    reason = ""
    found: object = None
    try:
        found = _import(target)
    except ModuleNotFoundError as exc:
        # Not installed: the package itself is not found (or its import is blocked with
        # None in sys.modules). Anything else missing (a dependency, a module in it) is
        # a broken installation.
        if not (exc.name == package or (package in sys.modules and sys.modules[package] is None)):
            reason = f"{type(exc).__name__}: {exc}"
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
    if reason:
        # Raised here, not in the except block: nothing of the plugin's exception stays
        # chained (its type and message are kept, to say what to fix).
        raise ConfigurationError(
            f"the provider for scheme {scheme!r} ({target}) failed to load: {reason}"
        )
    if found is None:
        return None
    if not (isinstance(found, type) and issubclass(found, Provider)):
        raise ConfigurationError(
            f"the provider for scheme {scheme!r} ({target}) is not a Provider subclass"
        )
    _loaded[scheme] = found
    return found


def _import(target: str) -> type[Provider]:
    """The class named by ``module:Class``, importing its module."""
    module, _, name = target.partition(":")
    # __import__ rather than importlib.import_module: importlib's package pulls in the
    # warnings module (and its source-line display) on every cold start.
    __import__(module)
    found: type[Provider] = getattr(sys.modules[module], name)
    return found


def _schemes() -> list[str]:
    return sorted(set(_discover()) | set(_registered) | set(BUILTIN))


def available_providers() -> dict[str, type[Provider]]:
    """Every provider that loads, as ``{scheme: Provider subclass}``: the core's own
    (``env``, ``dotenv``, ``file``, ``band``), installed plugins (entry-point group
    ``bandwidth_credentials.providers``) and :func:`register_provider` classes.

    >>> sorted(available_providers())                               # doctest: +SKIP
    ['band', 'dotenv', 'env', 'file', 'vault']

    A broken plugin is logged as a warning and skipped, never raised
    (``bwcreds providers`` shows it with its reason).
    """
    result: dict[str, type[Provider]] = {}
    for scheme in _schemes():
        try:
            result[scheme] = provider_class(scheme)
        except ConfigurationError as exc:
            logger.warning("skipping provider %r: %s", scheme, exc)
    return result


def provider_report() -> dict[str, str]:
    """Every installed scheme -> ``module.Class``, or ``BROKEN: <reason>`` for a plugin
    that fails to load (what ``bwcreds providers`` prints)."""
    report: dict[str, str] = {}
    for scheme in _schemes():
        try:
            cls = provider_class(scheme)
        except ConfigurationError as exc:
            report[scheme] = f"BROKEN: {exc}"
            continue
        report[scheme] = f"{cls.__module__}.{cls.__qualname__}"
    return report


def _reset_after_fork() -> None:
    global _lock
    _lock = _thread.allocate_lock()


on_fork(_reset_after_fork)
