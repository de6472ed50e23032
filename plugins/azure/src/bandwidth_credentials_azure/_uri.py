"""Reading an ``azure-kv:`` source URI into a vault URL, a secret name and a version.

An object identifier is ``https://{vault-name}.vault.azure.net/{object-type}/
{object-name}/{object-version}``, object names are 1-127 letters, digits and hyphens
(https://learn.microsoft.com/en-us/azure/key-vault/general/about-keys-secrets-certificates);
vault names are 3-24 characters of letters, digits and hyphens, starting with a letter,
ending with a letter or digit, without consecutive hyphens
(https://learn.microsoft.com/en-us/azure/azure-resource-manager/management/resource-name-rules#microsoftkeyvault).
Versions are 32-character ids; any short alphanumeric id is accepted. Nothing here
imports the SDK.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from bandwidth_credentials import ConfigurationError, Source

#: The public cloud's Key Vault DNS suffix, used by the short form ``NAME/SECRET``.
PUBLIC_SUFFIX = "vault.azure.net"

_VAULT_NAME = re.compile(r"^(?!.*--)[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9-]{1,127}$")
_VERSION = re.compile(r"^[A-Za-z0-9]{1,64}$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9-]{1,63})+$")

_EXPECTED = (
    "expected azure-kv:https://NAME.vault.azure.net/secrets/SECRET[/VERSION] "
    "or azure-kv:NAME/SECRET[/VERSION]"
)


class SecretRef(NamedTuple):
    """Which secret a source reads: ``vault_url`` has no path (``https://host[:port]``)."""

    vault_url: str
    name: str
    version: str | None

    @property
    def vault_host(self) -> str:
        """The vault's host (and port, if one was given), as messages name it."""
        return self.vault_url.removeprefix("https://")

    def label(self) -> str:
        """``secret 'bw' in vault myvault.vault.azure.net (version abc...)``."""
        text = f"secret {self.name!r} in vault {self.vault_host}"
        return f"{text} (version {self.version})" if self.version else text


def secret_ref(source: Source) -> SecretRef:
    """Parse the target of ``source``; anything malformed is a :class:`ConfigurationError`."""
    target = source.target.strip()
    if target.lower().startswith(("https://", "http://")):
        return _from_url(source, target)
    parts = target.split("/")
    if len(parts) not in (2, 3) or not _VAULT_NAME.match(parts[0]):
        raise _bad(source, "not a vault URL or NAME/SECRET[/VERSION]")
    vault_url = f"https://{parts[0].lower()}.{PUBLIC_SUFFIX}"
    return _checked(source, vault_url, parts[1], parts[2] if len(parts) == 3 else None)


def _from_url(source: Source, target: str) -> SecretRef:
    url = urlsplit(target)
    if url.scheme.lower() != "https":
        raise _bad(source, "a vault is only reachable over https")
    if "@" in url.netloc or url.fragment:
        raise _bad(source, "the vault URL must not carry user info or a fragment")
    host = (url.hostname or "").lower()
    try:
        port = url.port
    except ValueError:
        port = -1
    if not _HOST.match(host) or port == -1:
        raise _bad(source, "the vault URL has no valid host name")
    parts = [unquote(p) for p in url.path.split("/")[1:]]
    if parts and parts[-1] == "":
        parts.pop()  # a trailing slash
    if len(parts) not in (2, 3) or parts[0] != "secrets":
        raise _bad(source, "the path must be /secrets/SECRET[/VERSION]")
    vault_url = f"https://{host}" + (f":{port}" if port else "")
    return _checked(source, vault_url, parts[1], parts[2] if len(parts) == 3 else None)


def _checked(source: Source, vault_url: str, name: str, version: str | None) -> SecretRef:
    if not _SECRET_NAME.match(name):
        raise _bad(source, "a secret name is 1-127 letters, digits and hyphens")
    if version is not None and not _VERSION.match(version):
        raise _bad(source, "a secret version is letters and digits only")
    return SecretRef(vault_url=vault_url, name=name, version=version)


def _bad(source: Source, why: str) -> ConfigurationError:
    return ConfigurationError(f"source {source.uri}: {why}; {_EXPECTED}", source=source.uri)
