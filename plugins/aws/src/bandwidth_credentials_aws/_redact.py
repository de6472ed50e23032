"""Keeping secret values out of botocore's debug log.

At DEBUG level botocore logs every response body, and a ``GetSecretValue``,
``GetParameter`` or ``GetParametersByPath`` body *is* the secret. A filter on that one
logger replaces such a record's body with a note; every other record passes unchanged,
so the application's logging is otherwise as configured.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

_LOGGER = "botocore.parsers"
# The members that carry values: Secrets Manager's, and Parameter Store's one parameter
# ("Parameter") or list of them ("Parameters", also GetParameterHistory's).
_KEYS = ("SecretString", "SecretBinary", "Parameter", "Parameters")
_MARKERS = tuple(f'"{key}"' for key in _KEYS) + tuple(f'"{key}"'.encode() for key in _KEYS)
_lock = threading.Lock()


class SecretBodyFilter(logging.Filter):
    """Redacts a logged response body that carries a secret or parameter value."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Response body") and record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            if any(_holds_secret(arg) for arg in args):
                record.msg = "Response body: <redacted: it holds a secret value>"
                record.args = ()
        return True


def _holds_secret(value: object) -> bool:
    if isinstance(value, (bytes, bytearray)):
        return any(isinstance(m, bytes) and m in value for m in _MARKERS)
    if isinstance(value, str):
        return any(isinstance(m, str) and m in value for m in _MARKERS)
    return False


# Loggers whose DEBUG records show the signed request: its Authorization header and the
# session token (x-amz-security-token), credentials for as long as they are valid.
_SIGNING_LOGGERS = ("botocore.auth", "botocore.endpoint")
_SIGNING_MARKERS = ("x-amz-security-token", "authorization", "signature")
# A write's request body (PutSecretValue, shown by botocore.endpoint's "Making request")
# carries the value itself.
_VALUE_MARKERS = ("secretstring", "secretbinary")


_scope = threading.local()


@contextlib.contextmanager
def signing_hidden() -> Iterator[None]:
    """While this thread runs one of this plugin's calls, its signing records are
    redacted; the application's own boto3 calls log as configured."""
    _scope.active = getattr(_scope, "active", 0) + 1
    try:
        yield
    finally:
        _scope.active -= 1


class SigningFilter(logging.Filter):
    """Replaces a record that shows request signing details or credential headers, for
    records emitted inside :func:`signing_hidden` only."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(_scope, "active", 0):
            return True
        try:
            text = record.getMessage().lower()
        except Exception:  # a record that cannot be formatted shows nothing either
            text = _SIGNING_MARKERS[0]
        if any(marker in text for marker in _SIGNING_MARKERS):
            record.msg = "<redacted: the record shows request signing details>"
            record.args = ()
        elif any(marker in text for marker in _VALUE_MARKERS):
            record.msg = "<redacted: the request carries a secret value>"
            record.args = ()
        return True


def install() -> None:
    """Add the filters to botocore's response-body and signing loggers, once per process."""
    logger = logging.getLogger(_LOGGER)
    with _lock:
        if not any(isinstance(f, SecretBodyFilter) for f in logger.filters):
            logger.addFilter(SecretBodyFilter())
        for name in _SIGNING_LOGGERS:
            signing = logging.getLogger(name)
            if not any(isinstance(f, SigningFilter) for f in signing.filters):
                signing.addFilter(SigningFilter())
