"""An AWS Lambda function that sends Bandwidth API requests with credentials from
Secrets Manager, delivered by the AWS Parameters and Secrets Lambda Extension.

Configuration (function environment variables):

    BANDWIDTH_CREDENTIALS_SOURCES=aws-lambda-ext:bandwidth/prod

The credentials are resolved once, at init (module level), so the first invocation
does not pay for it and a missing or unreadable secret fails the init phase loudly
instead of the first request. Later invocations reuse the cached auth object; after
its time to live (300 s by default) it is refreshed in the background, which is how a
rotated secret reaches a warm execution environment.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from bandwidth_credentials import get_auth

# Init phase: one fetch through the extension, validated before any request is served.
VOICE = get_auth("voice")


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Place a call: ``{"to": "+15551230000", "from": "+15559870000", "applicationId": ...}``."""
    voice = get_auth("voice")  # a lookup; refreshed only when the cached value expires
    body = json.dumps(
        {
            "to": event["to"],
            "from": event["from"],
            "applicationId": event["applicationId"],
            "answerUrl": event["answerUrl"],
        }
    ).encode()
    # The URL is always the https Bandwidth base URL the library built.
    request = urllib.request.Request(  # noqa: S310
        voice.url("calls"),
        data=body,
        method="POST",
        headers={**voice.headers(), "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return {"statusCode": response.status, "body": response.read().decode()}
