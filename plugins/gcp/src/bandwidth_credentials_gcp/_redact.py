"""Keeping secret values and access tokens out of the Google client's debug log.

At DEBUG level the generated client logs each call with structured ``extra`` fields:
the request's metadata (its ``authorization`` header holds the access token) and the
response payload (for ``AccessSecretVersion``, the secret). A filter on the client's own
loggers replaces those fields with a note; the message line (which names the RPC) and
every other logger are left as the application configured them.
"""

from __future__ import annotations

import logging
import threading

_PACKAGE = "google.cloud.secretmanager_v1.services.secret_manager_service"
LOGGERS = (
    f"{_PACKAGE}.client",
    f"{_PACKAGE}.transports.grpc",
    f"{_PACKAGE}.transports.rest",
)
# The structured fields google-api-core's client logging attaches to a record.
_FIELDS = ("request", "response", "httpRequest", "httpResponse", "metadata")
REDACTED = "<redacted: may hold a secret value or an access token>"
_lock = threading.Lock()


class PayloadFilter(logging.Filter):
    """Replaces payload and metadata fields of a record with :data:`REDACTED`."""

    def filter(self, record: logging.LogRecord) -> bool:
        for field in _FIELDS:
            if field in record.__dict__:
                setattr(record, field, REDACTED)
        return True


def install() -> None:
    """Add the filter to the client's loggers, once per process."""
    with _lock:
        for name in LOGGERS:
            logger = logging.getLogger(name)
            if not any(isinstance(f, PayloadFilter) for f in logger.filters):
                logger.addFilter(PayloadFilter())
