"""Keeping secret values and access tokens out of the Google client's debug log.

At DEBUG level the generated client logs each call with structured ``extra`` fields: the
request, its headers or metadata, and the response payload (for ``AccessSecretVersion``,
the secret, base64-encoded). google-auth logs its token requests and answers the same
way, hashing the token fields it knows but keeping the rest of an answer, error text
included. A filter on those loggers replaces such fields with a note; the message line
(which names the RPC) and every other logger are left as the application configured them.

gRPC logs a failing call-credentials plugin (google-auth's token refresh) at ERROR with
the exception and its traceback; a token endpoint's error answer is part of that
exception's text. That record keeps its message and loses the exception.
"""

from __future__ import annotations

import logging
import threading

_PACKAGE = "google.cloud.secretmanager_v1.services.secret_manager_service"
LOGGERS = (
    f"{_PACKAGE}.client",
    f"{_PACKAGE}.transports.grpc",
    f"{_PACKAGE}.transports.rest",
    "google.auth.transport.requests",
)
# The structured fields google-api-core's client logging attaches to a record.
_FIELDS = ("request", "response", "httpRequest", "httpResponse", "metadata")
REDACTED = "<redacted: may hold a secret value or an access token>"
_GRPC_PLUGIN_LOGGER = "grpc._plugin_wrapping"
_lock = threading.Lock()


class PayloadFilter(logging.Filter):
    """Replaces payload and metadata fields of a record with :data:`REDACTED`."""

    def filter(self, record: logging.LogRecord) -> bool:
        for field in _FIELDS:
            if field in record.__dict__:
                setattr(record, field, REDACTED)
        return True


class ExceptionFilter(logging.Filter):
    """Drops the exception (and its text) from a record, and its arguments (the failing
    plugin object, which holds the credentials, refresh token included: an error
    tracker walks them); the message line stays, formatted."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info or record.exc_text:
            record.msg = (
                f"{record.getMessage()} (exception details omitted: they may quote a credential)"
            )
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def install() -> None:
    """Add the filters to the client's and gRPC's loggers, once per process."""
    with _lock:
        for name in LOGGERS:
            _add(logging.getLogger(name), PayloadFilter)
        _add(logging.getLogger(_GRPC_PLUGIN_LOGGER), ExceptionFilter)


def _add(logger: logging.Logger, kind: type[logging.Filter]) -> None:
    if not any(isinstance(f, kind) for f in logger.filters):
        logger.addFilter(kind())
