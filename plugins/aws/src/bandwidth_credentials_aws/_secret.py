"""Turning a ``GetSecretValue`` result into the raw key/values a provider returns.

Shared by ``aws-sm`` and ``aws-lambda-ext`` so both read a secret identically; the
option parsers and the JSON decoding are the plugin kit's. Nothing here imports boto3:
the extension path must stay on the standard library.
"""

from __future__ import annotations

import binascii  # loaded by the core already
from collections.abc import Mapping

from bandwidth_credentials import ConfigurationError, Source, SourceFormatError
from bandwidth_credentials.plugin import decode_fields, positive_number, text_option
from bandwidth_credentials.plugin import field as field_option

__all__ = [
    "DEFAULT_STAGE",
    "arn_region",
    "field_option",
    "positive_number",
    "secret_id_of",
    "secret_values",
    "version_selector",
    "where",
]

DEFAULT_STAGE = "AWSCURRENT"

_EXPECTED = (
    'a JSON object of Bandwidth fields, such as {"accountId": "...", "clientId": "...", '
    '"clientSecret": "..."}, or ?field=NAME to use the whole value as one field'
)


def where(secret_id: str, region: str | None) -> str:
    """``secret 'bandwidth/prod' (region us-east-1)``: how messages name a secret."""
    return f"secret {secret_id!r} (region {region or 'unknown'})"


def secret_id_of(source: Source) -> str:
    """The secret name or ARN of a source URI; an empty one is a configuration error."""
    secret_id = source.target.strip()
    if not secret_id:
        raise ConfigurationError(
            f"source {source.uri}: no secret given; expected {source.scheme}:NAME_OR_ARN",
            source=source.uri,
        )
    return secret_id


def arn_region(secret_id: str) -> str | None:
    """The region inside a Secrets Manager ARN (``arn:aws:secretsmanager:REGION:...``)."""
    parts = secret_id.split(":")
    if len(parts) >= 7 and parts[0] == "arn" and parts[2] == "secretsmanager" and parts[3]:
        return parts[3]
    return None


def version_selector(source: Source) -> tuple[str | None, str | None]:
    """``(stage, version_id)`` from the ``stage`` and ``version_id`` options.

    At most one may be given; with neither, the stage is ``AWSCURRENT``. Each is checked
    by the kit's :func:`~bandwidth_credentials.plugin.text_option` (empty, or a control
    character: a :class:`ConfigurationError` that does not quote it).
    """
    stage = text_option(source, "stage")
    version_id = text_option(source, "version_id")
    if stage is not None and version_id is not None:
        raise ConfigurationError(
            f"source {source.uri}: give either 'stage' or 'version_id', not both",
            source=source.uri,
        )
    if version_id is not None:
        return None, version_id
    return stage or DEFAULT_STAGE, None


def secret_values(
    *,
    uri: str,
    label: str,
    secret_string: object,
    secret_binary: object,
    field: str | None,
) -> Mapping[str, object]:
    """Decode one secret version into raw key/values.

    ``secret_binary`` is ``bytes`` (boto3) or base64 text (the extension's JSON).
    A JSON object is passed through as it is, nested per-service objects included:
    the normalizer decides what the keys mean. With ``field``, the whole secret text
    is the value of that one key and is not parsed. Every error names the secret, never
    its content, and is raised outside ``except`` blocks so nothing is chained to it.
    """
    if isinstance(secret_string, str):
        text = secret_string
        kind = "SecretString"
    elif secret_binary is not None:
        kind = "SecretBinary"
        text = _binary_text(uri, label, secret_binary)
    else:
        raise SourceFormatError(
            f"source {uri}: {label} has neither SecretString nor SecretBinary", source=uri
        )
    return decode_fields(uri, f"the {kind} of {label}", text, field)


def _binary_text(uri: str, label: str, secret_binary: object) -> str:
    # Each failure is raised after its `except` block, so no decoder error is chained.
    problem = None
    if isinstance(secret_binary, str):
        import base64  # only a SecretBinary from the extension's JSON needs it (and struct)

        try:
            raw = base64.b64decode(secret_binary, validate=True)
        except (binascii.Error, ValueError):
            problem = "is not valid base64"
    elif isinstance(secret_binary, (bytes, bytearray, memoryview)):
        raw = bytes(secret_binary)
    else:
        problem = f"has an unexpected type ({type(secret_binary).__name__})"
    if problem is None:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            problem = f"is not UTF-8 text; expected {_EXPECTED}"
    raise SourceFormatError(f"source {uri}: the SecretBinary of {label} {problem}", source=uri)
