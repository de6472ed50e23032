"""``band:``: the login kept by Bandwidth's official CLI (``band auth login``).

Where the CLI keeps it (public source, github.com/Bandwidth/cli):

- ``internal/config/config.go``: the config file is ``~/.config/band/config.json``
  (``os.UserHomeDir()`` joined with ``.config``; ``XDG_CONFIG_HOME`` is not consulted),
  or the legacy ``~/.band/config.json`` when only that one exists. It is JSON written
  with ``json.MarshalIndent`` (mode 0600)::

      {"active_profile": "default",
       "profiles": {"default": {"client_id": "...", "account_id": "920012",
                                "accounts": ["920012"], "environment": "test",
                                "roles": [...], "build": false}},
       "format": "json", "client_id": "...", "account_id": "920012", ...}

  The active profile is ``active_profile`` (``"default"`` when empty); a file without
  ``profiles`` is the older single-login layout whose top-level fields are the login.
- ``internal/auth/auth.go``: the client secret is in the OS keychain (the Go library
  ``zalando/go-keyring``) under service ``band-cli``, user = the client id. On Windows
  that library names the credential ``band-cli:<client id>``, which is looked up too.
- ``internal/cmdutil/helpers.go``: a missing keychain entry means ``band auth login``
  must be run again; and the hosts the CLI sends this login's requests to come from the
  process environment when set, whatever the profile's environment, each with its
  trailing ``/`` removed (``strings.TrimRight``): ``BW_API_URL`` (``apiHostForEnvironment``:
  the token endpoint and the api.bandwidth.com APIs), ``BW_VOICE_URL``
  (``voiceHostForEnvironment``) and ``BW_MESSAGING_URL`` (``messagingHost``).

A provider knows storage, not Bandwidth: it returns the profile's ``client_id``,
``client_secret``, ``account_id`` and ``environment`` as stored. Endpoints come only from
the credentials' own source, and for this login that source is the CLI's configuration
as the CLI itself reads it: so the three host variables above (:data:`CLI_HOST_VARIABLES`,
the CLI's own names, and no other variable) are returned with the login as ``api_url``,
``voice_url`` and ``messaging_url``, and steer nothing else. The CLI's other overlays
(``BW_CLIENT_ID``, ``BW_ACCOUNT_ID``, ``BW_ENVIRONMENT``) are the ``env`` source's
business, listed before ``band:``.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from .._errors import (
    ConfigurationError,
    SourceAuthenticationError,
    SourceError,
    SourceFormatError,
    SourceNotFoundError,
    SourceUnavailableError,
)
from .._provider import Fetched, Provider, Source, text_option
from ._band_config import (
    MAX_CONFIG_SIZE,
    ConfigReadError,
    default_config_path,
    file_identity,
    file_version,
    read_config_bytes,
)
from ._band_keychain import read_secret

__all__ = [
    "CLI_HOST_VARIABLES",
    "DEFAULT_CHECK_INTERVAL",
    "DEFAULT_TIMEOUT",
    "KEYCHAIN_SERVICE",
    "MAX_CONFIG_SIZE",
    "BandProvider",
    "default_config_path",
]

KEYCHAIN_SERVICE = "band-cli"
#: Seconds between cheap checks of the config file (``band auth login/use/switch``).
DEFAULT_CHECK_INTERVAL = 5.0
#: Seconds to wait for the OS keychain, which may be showing an unlock prompt.
DEFAULT_TIMEOUT = 30.0
# The CLI rewrites the file in place (truncate, then write); a read that saw it change
# is repeated, at most this many times.
_ATTEMPTS = 5
_LOGIN_HINT = "run `band auth login`"
#: The process variables the Bandwidth CLI reads the hosts of its login's requests from
#: (``internal/cmdutil/helpers.go``), and the keys they are returned as.
CLI_HOST_VARIABLES: dict[str, str] = {
    "BW_API_URL": "api_url",
    "BW_VOICE_URL": "voice_url",
    "BW_MESSAGING_URL": "messaging_url",
}


class BandProvider(Provider):
    """Reads the Bandwidth CLI's login: the config file plus the secret in the OS keychain.

    URI: ``band:`` (the CLI's own file), or ``band:PATH``, with options

    - ``profile=NAME``: that profile instead of the active one;
    - ``check_interval=SECONDS`` (default 5): how often the config file (inode, size,
      mtime, content) is compared, so ``band auth login``, ``use`` and ``switch`` are seen;
    - ``timeout=SECONDS`` (default 30): the longest wait for the OS keychain.

    Returned keys: ``client_id``, ``client_secret``, ``account_id`` and ``environment``
    when the profile has them; ``api_url``, ``voice_url`` and ``messaging_url`` when the
    CLI's host variables ``BW_API_URL``, ``BW_VOICE_URL`` and ``BW_MESSAGING_URL`` are
    set, as the CLI uses them with this login (see the module doc). The version is a
    digest of the config file's path, inode, size, mtime and content.

    Errors: :class:`SourceNotFoundError` for a missing config file, an unknown profile
    (naming the profiles), a profile without a client id, a keychain without the
    secret, or a machine with no usable keyring backend (as where nothing was ever
    logged in: ``?optional=true`` skips it); :class:`SourceAuthenticationError` for a
    locked keychain; :class:`SourceFormatError` for a file that is not the CLI's JSON;
    :class:`SourceAccessDeniedError`; :class:`SourceUnavailableError` for a keychain
    that fails or does not answer in time; :class:`ConfigurationError` when ``keyring``
    is not installed (``pip install 'bandwidth-credentials[band]'``).

    >>> from bandwidth_credentials import Resolver
    >>> Resolver(["env", "band:?profile=staging"]).get_auth("voice")  # doctest: +SKIP
    """

    scheme = "band"
    read_only_reason = "the band CLI owns its login; rotate with the CLI or the Bandwidth App"
    options = frozenset({"profile", "check_interval", "timeout"})

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        target = source.target.strip()
        self._path: Path | None = None
        if target:
            with contextlib.suppress(RuntimeError):  # reported below, unchained
                self._path = Path(target).expanduser()
            if self._path is None:
                raise ConfigurationError(
                    f"source {source.uri}: '~' cannot be expanded (no home directory); "
                    "give an absolute path",
                    source=source.uri,
                )
        self._profile = text_option(source, "profile")
        self.check_interval = source.number("check_interval", DEFAULT_CHECK_INTERVAL)
        timeout = source.number("timeout", DEFAULT_TIMEOUT)
        assert timeout is not None
        self._timeout = timeout
        # The keychain wait; the config file reads are local.
        self.worst_case = timeout

    def _error(self, kind: type[SourceError], reason: str) -> SourceError:
        return kind(f"source {self.source.uri}: {reason}", source=self.source.uri)

    def _config_path(self) -> Path:
        if self._path is not None:
            return self._path
        try:
            return default_config_path()
        except RuntimeError:
            pass  # raised below, outside the handler
        raise self._error(
            SourceNotFoundError,
            "cannot tell the home directory (HOME is not set), so not where the Bandwidth "
            "CLI's config is; name the file with band:PATH",
        )

    # -- reading -----------------------------------------------------------------------

    def fetch(self) -> Fetched:
        path = self._config_path()
        data, version = self._read_config(str(path))
        name, profile = self._select_profile(data, str(path))
        client_id = self._text(profile, "client_id", name)
        if not client_id:
            raise self._error(
                SourceNotFoundError,
                f"profile {name!r} in {path} has no client_id (not logged in); {_LOGIN_HINT}",
            )
        values: dict[str, object] = {"client_id": client_id}
        for field in ("account_id", "environment"):
            value = self._text(profile, field, name)
            if value:
                values[field] = value
        values["client_secret"] = self._secret(client_id, name)
        for variable, key in CLI_HOST_VARIABLES.items():
            host = os.environ.get(variable, "")
            if host:  # the CLI ignores an empty one too
                values[key] = host.rstrip("/")
        return Fetched(values=values, version=version)

    def current_version(self) -> str | None:
        try:
            path = str(self._config_path())
            raw, info = self._read_bytes(path)
        except SourceError:
            return None  # the next fetch says what is wrong
        return file_version(path, info, raw)

    def _read_config(self, path: str) -> tuple[Mapping[str, object], str]:
        for _ in range(_ATTEMPTS):
            raw, info = self._read_bytes(path)
            try:
                settled = file_identity(os.stat(path)) == file_identity(info)
            except OSError:
                settled = False
            if settled:  # else rewritten while it was read: read the new one
                return self._parse(raw, path), file_version(path, info, raw)
        raise self._error(
            SourceUnavailableError, f"{path} changed during each of {_ATTEMPTS} reads"
        )

    def _read_bytes(self, path: str) -> tuple[bytes, os.stat_result]:
        try:
            return read_config_bytes(path)
        except ConfigReadError as exc:
            kind, reason = exc.kind, exc.reason
        if kind is SourceNotFoundError:
            reason = self._missing(path)
        # Raised outside the handler, so the new error carries no chained one.
        raise self._error(kind, reason)

    def _missing(self, path: str) -> str:
        where = path
        if self._path is None:
            where = f"{path} (nor the legacy {Path.home() / '.band' / 'config.json'})"
        return f"no Bandwidth CLI login: {where} does not exist; {_LOGIN_HINT}"

    def _parse(self, raw: bytes, path: str) -> Mapping[str, object]:
        problem: str | None = None
        try:
            data = json.loads(raw.decode("utf-8").removeprefix("\ufeff"))
        except UnicodeDecodeError:
            problem = f"{path} is not UTF-8 text"
        except json.JSONDecodeError as exc:
            # Position only: a chained exception would carry the document.
            problem = f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno})"
        if problem is not None:
            raise self._error(SourceFormatError, problem)
        if not isinstance(data, dict):
            raise self._error(SourceFormatError, f"{path} holds no JSON object")
        return data

    # -- profiles ----------------------------------------------------------------------

    def _select_profile(
        self, data: Mapping[str, object], path: str
    ) -> tuple[str, Mapping[str, object]]:
        profiles = data.get("profiles")
        if profiles is not None and not isinstance(profiles, dict):
            raise self._error(SourceFormatError, f"'profiles' in {path} is not an object")
        if not profiles:
            # The single-login layout: the top-level fields are the "default" profile.
            profiles = {"default": dict(data)}
        wanted = self._profile
        active = data.get("active_profile")
        name = wanted or (active if isinstance(active, str) and active else "default")
        if name not in profiles:
            if wanted is None and len(profiles) == 1:
                name = next(iter(profiles))  # the CLI falls back to the profile there is
            else:
                known = ", ".join(repr(n) for n in sorted(profiles)[:50])
                # A ?profile= value is a URI option: named, never quoted.
                which = "the profile ?profile= names" if wanted else f"the active profile {name!r}"
                raise self._error(
                    SourceNotFoundError,
                    f"{which} is not in {path}; its profiles: {known} "
                    "(choose one with ?profile=NAME)",
                )
        profile = profiles[name]
        if not isinstance(profile, dict):
            raise self._error(SourceFormatError, f"profile {name!r} in {path} is not an object")
        return name, profile

    def _text(self, profile: Mapping[str, object], field: str, name: str) -> str:
        value = profile.get(field)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self._error(SourceFormatError, f"{field} of profile {name!r} is not a string")
        return value

    # -- the keychain ------------------------------------------------------------------

    def _secret(self, client_id: str, profile: str) -> str:
        outcome = read_secret(KEYCHAIN_SERVICE, client_id, self._timeout)
        if outcome.secret:
            return outcome.secret
        where = f"the OS keychain (service {KEYCHAIN_SERVICE!r}, user {client_id!r})"
        problem = outcome.problem
        if problem == "not-installed":
            from .._registry import install_extra

            raise ConfigurationError(
                f"source {self.source.uri}: reading the OS keychain needs the keyring "
                f"package: {install_extra('band')}",
                source=self.source.uri,
            )
        if problem == "no-backend":
            raise self._error(
                SourceNotFoundError,
                f"the client secret of profile {profile!r} is kept in {where}, and this "
                f"machine has no usable keyring backend ({outcome.detail}: a headless "
                "or container system without a Secret Service); set BW_CLIENT_ID and "
                "BW_CLIENT_SECRET instead, or keep the secret in a secret store "
                "(vault:, aws-sm:, file:)",
            )
        if problem == "locked":
            raise self._error(
                SourceAuthenticationError,
                f"{where} is locked; unlock it (log in to the desktop session) and retry",
            )
        if problem == "timeout":
            raise self._error(
                SourceUnavailableError,
                f"{where} did not answer within {self._timeout:g} s "
                "(an unlock prompt waiting?); raise it with ?timeout=",
            )
        if problem == "failed":
            raise self._error(SourceUnavailableError, f"reading {where} failed ({outcome.detail})")
        raise self._error(
            SourceNotFoundError,
            f"{where} holds no client secret for profile {profile!r}; {_LOGIN_HINT} again",
        )
