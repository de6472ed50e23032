"""Secret Manager resource names, the provider's options, and decoding a payload.

Nothing here imports the Google client: a bad URI fails when the resolver is built,
before any SDK is loaded.

Resource names follow
https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets.versions/access
(``projects/*/secrets/*/versions/*``) and, for regional secrets,
https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.locations.secrets.versions/access
(``projects/*/locations/*/secrets/*/versions/*``, served by
``secretmanager.LOCATION.rep.googleapis.com``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import urlsplit

from bandwidth_credentials.plugin import (
    ConfigurationError,
    Source,
    decode_fields,
    text_option,
)

#: What ``versions/latest`` means: the most recently created version, whatever its state.
LATEST = "latest"

_NAME = re.compile(
    r"^projects/(?P<project>[^/]+)"
    r"(?:/locations/(?P<location>[^/]+))?"
    r"/secrets/(?P<secret>[^/]+)"
    r"(?:/versions/(?P<version>[^/]+))?$"
)
# Project ids (6-30 chars) or numbers; secret ids per the Secret resource's documented
# character set; locations such as us-central1; versions are numbers, `latest` or an alias.
_PROJECT = re.compile(r"^[a-z0-9][a-z0-9.:-]{0,62}$")
_LOCATION = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_VERSION = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
_HOST_PORT = re.compile(r"^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$")


class SecretName(NamedTuple):
    """A parsed secret version name; ``location`` is ``None`` for a global secret."""

    project: str
    location: str | None
    secret: str
    version: str

    @property
    def name(self) -> str:
        """The full version resource name the API is asked for."""
        where = f"/locations/{self.location}" if self.location else ""
        return f"projects/{self.project}{where}/secrets/{self.secret}/versions/{self.version}"

    @property
    def endpoint(self) -> str | None:
        """The regional endpoint for a regional secret; ``None``: the client's default."""
        if self.location is None:
            return None
        return f"secretmanager.{self.location}.rep.googleapis.com"


def parse_name(source: Source) -> SecretName:
    """The secret version a ``gcp-sm:`` URI names; no ``/versions/V`` means ``latest``.

    Raises :class:`ConfigurationError` naming the part that does not fit.
    """
    target = source.target.strip()
    found = _NAME.match(target)
    if found is None:
        raise ConfigurationError(
            f"source {source.uri}: expected gcp-sm:projects/PROJECT/secrets/SECRET"
            "[/versions/VERSION] or gcp-sm:projects/PROJECT/locations/LOCATION/secrets/"
            "SECRET[/versions/VERSION]",
            source=source.uri,
        )
    parts = found.groupdict()
    version = parts["version"] or LATEST
    checks = (
        ("project", parts["project"], _PROJECT),
        ("location", parts["location"], _LOCATION),
        ("secret", parts["secret"], _SECRET),
        ("version", version, _VERSION),
    )
    for label, value, pattern in checks:
        if value is not None and not pattern.match(value):
            raise ConfigurationError(
                f"source {source.uri}: {label} {value!r} is not a valid Secret Manager {label} id",
                source=source.uri,
            )
    return SecretName(parts["project"], parts["location"], parts["secret"], version)


def transport_option(source: Source) -> str | None:
    """``grpc`` or ``rest``; ``None`` leaves the choice to the client (gRPC)."""
    value = text_option(source, "transport")
    if value is not None and value not in ("grpc", "rest"):
        raise ConfigurationError(
            f"source {source.uri}: option 'transport' must be grpc or rest", source=source.uri
        )
    return value


def endpoint_option(source: Source, transport: str | None) -> str | None:
    """The ``endpoint`` option: ``HOST[:PORT]``, or a URL for the REST transport.

    A URL may be ``https``, or ``http`` for a loopback address only (the access token
    travels with every request), with no user info, path or query.
    """
    value = text_option(source, "endpoint")
    if value is None:
        return None
    uri = source.uri
    if "://" not in value:
        if not _HOST_PORT.match(value):
            raise ConfigurationError(
                f"source {uri}: option 'endpoint' must be HOST[:PORT] or a URL", source=uri
            )
        return value
    if transport != "rest":
        raise ConfigurationError(
            f"source {uri}: option 'endpoint' may be a URL only with transport=rest; "
            "for gRPC give HOST[:PORT]",
            source=uri,
        )
    parts = urlsplit(value)
    plain = parts.scheme == "http" and _is_loopback(parts.hostname or "")
    if not (parts.scheme == "https" or plain) or not parts.hostname:
        raise ConfigurationError(
            f"source {uri}: option 'endpoint' must use https (plain http is allowed for "
            "loopback addresses only)",
            source=uri,
        )
    if parts.username or parts.password or parts.path not in ("", "/") or parts.query:
        raise ConfigurationError(
            f"source {uri}: option 'endpoint' must be SCHEME://HOST[:PORT] only", source=uri
        )
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def payload_values(uri: str, label: str, data: bytes, field: str | None) -> Mapping[str, object]:
    """Decode a payload: UTF-8 text that is a JSON object, or one field with ``field``
    (the kit's :func:`~bandwidth_credentials.plugin.decode_fields`).

    Raises :class:`SourceFormatError` naming the version, never quoting the payload.
    """
    return decode_fields(uri, f"the payload of {label}", data, field)
