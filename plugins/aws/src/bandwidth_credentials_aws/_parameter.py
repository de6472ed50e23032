"""Parameter Store names, selectors and answers, shared by ``aws-ssm`` and ``aws-lambda-ext``.

Standard library only: the extension path must not import boto3.

Facts used (AWS Systems Manager API reference, ``GetParameter`` and
``GetParametersByPath``, https://docs.aws.amazon.com/systems-manager/latest/APIReference/):
a parameter is selected by version or label as ``name:version`` / ``name:label``; the
answer is ``{"Parameter": {"Name", "Type", "Value", "Version", "ARN", ...}}``; a path
starts with ``/``; a parameter ARN is ``arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence  # loaded by the core already

from bandwidth_credentials import ConfigurationError, Source, SourceFormatError

# Not typing, re, dataclasses or hashlib: aws-lambda-ext:ssm: runs this module in every
# Lambda cold start, and those imports would cost about as much as the rest of its path.
from bandwidth_credentials.plugin import Any, NamedTuple, decode_fields, text_option
from bandwidth_credentials.plugin import field as field_option

_LABEL_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._-")
_LABEL_CHARS = _LABEL_FIRST | frozenset("0123456789")
_LABEL_MAX = 100


def is_label(text: str) -> bool:
    """Whether ``text`` is a Parameter Store label: 1 to 100 letters, digits, ``.``, ``-``
    or ``_``, not starting with a digit (that would be a version) nor with ``aws`` or
    ``ssm`` in any case (``LabelParameterVersion``, AWS Systems Manager API reference)."""
    return (
        0 < len(text) <= _LABEL_MAX
        and text[0] in _LABEL_FIRST
        and all(char in _LABEL_CHARS for char in text)
        and text[:3].lower() not in ("aws", "ssm")
    )


class ParameterTarget(NamedTuple):
    """What an ``aws-ssm:`` (or ``aws-lambda-ext:ssm:``) URI asks for.

    ``name`` is a parameter name or ARN, or, ending in ``/``, a path whose parameters
    are all read. ``version``/``label`` select one version of a single parameter.
    """

    name: str
    version: str | None = None
    label: str | None = None
    field: str | None = None

    @property
    def is_path(self) -> bool:
        return self.name.endswith("/")

    @property
    def selector_name(self) -> str:
        """The ``Name`` to send: ``name``, ``name:version`` or ``name:label``."""
        selector = self.version or self.label
        return f"{self.name}:{selector}" if selector else self.name

    @property
    def what(self) -> str:
        """``parameter '/bw/prod/creds'`` or ``parameters under path '/bw/prod/'``."""
        if self.is_path:
            return f"parameters under path {self.name!r}"
        return f"parameter {self.name!r}"

    def describe(self, region: str | None) -> str:
        """``parameter '/bw/prod/creds' (region us-east-1), version 3``: how messages name it."""
        text = f"{self.what} (region {region or 'unknown'})"
        if self.version:
            return f"{text}, version {self.version}"
        if self.label:
            return f"{text}, label {self.label!r}"
        return text


def parameter_target(source: Source, name: str, scheme_hint: str) -> ParameterTarget:
    """Parse and check ``name`` and the ``version``/``label``/``field`` options.

    ``scheme_hint`` is the URI form shown in messages (``aws-ssm:``). Raises
    :class:`ConfigurationError` for an empty name, a relative path, an inline
    ``name:selector``, both ``version`` and ``label``, or a selector on a path.
    """
    uri = source.uri
    name = name.strip()
    version = text_option(source, "version")
    label = text_option(source, "label")
    field = field_option(source)
    problem = None
    if not name:
        problem = f"no parameter given; expected {scheme_hint}/PATH/NAME or {scheme_hint}/PATH/"
    elif name.endswith("/") and not name.startswith("/"):
        problem = (
            f"a path starts with '/' (and ends with '/'), for example {scheme_hint}/bandwidth/prod/"
        )
    elif not name.startswith(("/", "arn:")) and "/" in name:
        problem = f"parameter names with a hierarchy start with '/'; expected {scheme_hint}/{name}"
    elif name.startswith("arn:") and arn_region(name) is None:
        problem = "a parameter ARN looks like arn:aws:ssm:REGION:ACCOUNT:parameter/NAME"
    elif ":" in (name.partition(":parameter/")[2] if name.startswith("arn:") else name):
        problem = "select a version with ?version=N or ?label=NAME, not with ':' in the name"
    elif version is not None and label is not None:
        problem = "give either 'version' or 'label', not both"
    elif version is not None and not (version.isdigit() and int(version) > 0):
        problem = "option 'version' must be a version number (1, 2, ...)"
    elif label is not None and not is_label(label):
        problem = (
            "option 'label' must be a Parameter Store label (letters, digits, '.', '-', '_'; "
            "not starting with a digit, 'aws' or 'ssm')"
        )
    elif name.endswith("/") and (version or label or field):
        problem = (
            "a path (ending in '/') reads every parameter under it, each as one key; "
            "'version', 'label' and 'field' apply to a single parameter only"
        )
    if problem:
        raise ConfigurationError(f"source {uri}: {problem}", source=uri)
    return ParameterTarget(name=name, version=version, label=label, field=field)


def arn_region(name: str) -> str | None:
    """The region inside a parameter ARN (``arn:aws:ssm:REGION:ACCOUNT:parameter/...``)."""
    parts = name.split(":", 5)
    if (
        len(parts) == 6
        and parts[0] == "arn"
        and parts[2] == "ssm"
        and parts[3]
        and parts[5].startswith("parameter/")
    ):
        return parts[3]
    return None


def parameter_values(
    uri: str, target: ParameterTarget, label: str, parameter: object
) -> tuple[Mapping[str, object], str | None]:
    """``(values, version)`` of a ``GetParameter`` answer's ``Parameter`` object.

    The value is a JSON object of fields, or with ``field`` one field. A ``SecureString``
    arrives decrypted (``WithDecryption``); its ``Type`` plays no further part.
    """
    value = parameter.get("Value") if isinstance(parameter, dict) else None
    if not isinstance(value, str):
        raise SourceFormatError(f"source {uri}: the answer for {label} has no Value", source=uri)
    version = parameter.get("Version") if isinstance(parameter, dict) else None
    values = decode_fields(uri, f"the value of {label}", value, target.field)
    return values, str(version) if version is not None else None


def path_values(
    uri: str, label: str, parameters: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, object], str]:
    """``(values, version)`` of every parameter read under a path.

    Each parameter's last path segment is its key and its value is used as it is.
    The version is ``LARGEST:COUNT:DIGEST``: the largest ``Version``, the number of
    parameters and a digest of every name with its version, so an added, changed or
    deleted parameter each make a new one.
    """
    import hashlib  # only aws-ssm reads a path; the extension serves single parameters

    values: dict[str, object] = {}
    names: dict[str, str] = {}
    largest = 0
    digest = hashlib.sha256()
    for parameter in sorted(parameters, key=lambda p: str(p.get("Name"))):
        name, value, version = (
            parameter.get("Name"),
            parameter.get("Value"),
            parameter.get("Version"),
        )
        if not isinstance(name, str) or not isinstance(value, str):
            raise SourceFormatError(
                f"source {uri}: a parameter of {label} has no Name or Value", source=uri
            )
        key = name.rsplit("/", 1)[-1]
        if key in names:
            raise SourceFormatError(
                f"source {uri}: {names[key]!r} and {name!r} under the path both end in "
                f"{key!r}, and each parameter's last path segment is its key; read one "
                "level with a longer path, or rename one",
                source=uri,
            )
        names[key] = name
        values[key] = value
        largest = max(largest, version if isinstance(version, int) else 0)
        digest.update(f"{name}\0{version}\n".encode())
    return values, f"{largest}:{len(values)}:{digest.hexdigest()[:12]}"
