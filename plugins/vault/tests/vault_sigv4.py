"""AWS Signature Version 4 verification for the Vault test server's ``aws`` auth method.

Written from AWS's specification, "Create a signed AWS API request"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html), with
hashlib and hmac only, so that a request signed by botocore is checked by an independent
implementation rather than by botocore itself:

1. canonical request: ``METHOD \\n CanonicalURI \\n CanonicalQueryString \\n
   CanonicalHeaders \\n SignedHeaders \\n hex(SHA256(payload))``; each canonical header is
   ``lowercase-name:value`` (values trimmed, runs of spaces collapsed, several values joined
   with ``,``), sorted by name, each followed by ``\\n``; ``host`` must be signed;
2. string to sign: ``AWS4-HMAC-SHA256 \\n X-Amz-Date \\n DATE/REGION/SERVICE/aws4_request
   \\n hex(SHA256(canonical request))``;
3. signing key: ``HMAC(HMAC(HMAC(HMAC("AWS4" + secret, DATE), REGION), SERVICE),
   "aws4_request")``; the signature is ``hex(HMAC(signing key, string to sign))``.

STS's checks modelled on top (error codes from the STS API reference, "Common Errors",
https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html): an unknown access key
or a missing/wrong session token is ``InvalidClientTokenId``; a signature that does not
match, a scope for another region or service, or an ``X-Amz-Date`` more than 15 minutes
away is ``SignatureDoesNotMatch``. Not implemented: query-string (presigned) signing,
``UNSIGNED-PAYLOAD``, SigV4a, chunked payloads.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_SECONDS = 15 * 60
_INVALID_TOKEN = "The security token included in the request is invalid."

_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request,\s*SignedHeaders=(?P<signed>[^,\s]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)


@dataclass(frozen=True)
class Identity:
    """An IAM principal the test's STS knows, with its (temporary) credentials."""

    arn: str
    secret_key: str
    session_token: str | None = None


@dataclass(frozen=True)
class Scope:
    """What an ``Authorization`` header claims."""

    access_key: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


class StsRefusal(Exception):
    """STS would refuse the request: ``code`` and ``message`` as in its error answer."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


def parse_authorization(value: str) -> Scope | None:
    match = _AUTHORIZATION.fullmatch(value.strip())
    if match is None:
        return None
    return Scope(
        access_key=match["key"],
        date=match["date"],
        region=match["region"],
        service=match["service"],
        signed_headers=tuple(match["signed"].split(";")),
        signature=match["signature"],
    )


def header(headers: dict[str, list[str]], name: str) -> str | None:
    """A header's values joined with ``,`` (names compared case-insensitively)."""
    for key, values in headers.items():
        if key.lower() == name.lower():
            return ",".join(values)
    return None


def verify(
    method: str,
    url: str,
    body: bytes,
    headers: dict[str, list[str]],
    identities: dict[str, Identity],
    endpoint_region: str,
    now: datetime | None = None,
    service: str = "sts",
) -> tuple[Identity, Scope]:
    """Check a SigV4-signed request as STS at ``endpoint_region`` would; raise StsRefusal."""
    scope = parse_authorization(header(headers, "Authorization") or "")
    if scope is None:
        raise StsRefusal("IncompleteSignature", "Authorization header is not a SigV4 signature")
    identity = identities.get(scope.access_key)
    if identity is None:
        raise StsRefusal("InvalidClientTokenId", _INVALID_TOKEN)
    token = header(headers, "X-Amz-Security-Token")
    if (identity.session_token is None) != (token is None) or (
        token is not None
        and identity.session_token is not None
        and not hmac.compare_digest(token, identity.session_token)
    ):
        raise StsRefusal("InvalidClientTokenId", _INVALID_TOKEN)
    if scope.service != service or scope.region != endpoint_region:
        raise StsRefusal("SignatureDoesNotMatch", "Credential should be scoped to a valid region.")
    if "host" not in scope.signed_headers or list(scope.signed_headers) != sorted(
        scope.signed_headers
    ):
        raise StsRefusal("SignatureDoesNotMatch", "SignedHeaders must be sorted and include host.")
    amz_date = header(headers, "X-Amz-Date") or ""
    try:
        stamp = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise StsRefusal("IncompleteSignature", "X-Amz-Date is missing or malformed.") from None
    current = now or datetime.now(timezone.utc)
    if abs((current - stamp).total_seconds()) > MAX_SKEW_SECONDS or amz_date[:8] != scope.date:
        raise StsRefusal("SignatureDoesNotMatch", "Signature expired or not yet current.")

    parts = urlsplit(url)
    present = {key.lower(): values for key, values in headers.items()}
    if "host" not in present:
        # As Vault does: a signer that left Host to its HTTP library signed the URL's host.
        present["host"] = [parts.netloc]
    canonical_headers = ""
    for name in scope.signed_headers:
        if name not in present:
            raise StsRefusal("SignatureDoesNotMatch", f"signed header {name} is missing")
        values = [" ".join(v.split()) for v in present[name]]
        canonical_headers += f"{name}:{','.join(values)}\n"
    canonical_request = "\n".join(
        [
            method,
            _canonical_uri(parts.path),
            _canonical_query(parts.query),
            canonical_headers,
            ";".join(scope.signed_headers),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    credential_scope = f"{scope.date}/{scope.region}/{scope.service}/aws4_request"
    string_to_sign = "\n".join(
        [
            ALGORITHM,
            amz_date,
            credential_scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = _hmac(("AWS4" + identity.secret_key).encode(), scope.date)
    for part in (scope.region, scope.service, "aws4_request"):
        key = _hmac(key, part)
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, scope.signature):
        raise StsRefusal(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    return identity, scope


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _canonical_uri(path: str) -> str:
    return quote(path or "/", safe="/-_.~")


def _canonical_query(query: str) -> str:
    pairs = sorted(
        (quote(k, safe="-_.~"), quote(v, safe="-_.~"))
        for k, v in parse_qsl(query, keep_blank_values=True)
    )
    return "&".join(f"{k}={v}" for k, v in pairs)
