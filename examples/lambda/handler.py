"""An AWS Lambda function that sends Bandwidth API requests with credentials from
Secrets Manager, delivered by the AWS Parameters and Secrets Lambda Extension.

Configuration (function environment variables):

    BANDWIDTH_CREDENTIALS_SOURCES=aws-lambda-ext:bandwidth/prod

Nothing is resolved at import (the INIT phase): the extension serves requests made
from the handler, during an invocation. The first invocation resolves the credentials
(one local HTTP request to the extension); every later one in the same execution
environment is a dictionary lookup. When the cached values are older than their time to
live (300 s by default), the next invocation fetches them again before answering: in
Lambda the library refreshes inline, in the invocation, because a background thread
would be frozen with the sandbox between invocations.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from bandwidth_credentials import get_auth


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Place a call: ``{"to": "+15551230000", "from": "+15559870000", "applicationId": ...,
    "answerUrl": ...}``."""
    voice = get_auth("voice")  # first invocation: one fetch; afterwards a lookup
    body = json.dumps(
        {
            "to": event["to"],
            "from": event["from"],
            "applicationId": event["applicationId"],
            "answerUrl": event["answerUrl"],
        }
    ).encode()
    # The URL is always the Bandwidth base URL the library built and checked.
    request = urllib.request.Request(  # noqa: S310
        voice.url("calls"),
        data=body,
        method="POST",
        headers={**voice.headers(), "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return {"statusCode": response.status, "body": response.read().decode()}
