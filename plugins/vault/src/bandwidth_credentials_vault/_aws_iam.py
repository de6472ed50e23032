"""Vault's ``aws`` auth method, IAM type: a signed ``sts:GetCallerIdentity`` request.

The client never sends its AWS keys to Vault. It signs a GetCallerIdentity request with
AWS Signature Version 4 and hands Vault the request's parts; Vault forwards them to STS and
learns from STS's answer which IAM principal signed. botocore (the credential chain and the
SigV4 signer) is imported on the first login, never when this module is imported.

Protocol facts:

- Vault, "AWS auth method (API)", Login
  (https://developer.hashicorp.com/vault/api-docs/auth/aws#login): ``POST auth/<mount>/login``
  with ``role`` (optional: else the principal's friendly name), ``iam_http_request_method``,
  ``iam_request_url`` and ``iam_request_body`` (both base64) and ``iam_request_headers``
  (base64 of a JSON object mapping each header to a string or a list of strings). A mount
  with ``iam_server_id_header_value`` requires ``X-Vault-AWS-IAM-Server-ID`` with that value
  among the signed headers. Vault calls its configured STS endpoint, the global
  ``https://sts.amazonaws.com/`` unless ``sts_endpoint``/``sts_region`` or
  ``use_sts_region_from_client`` say otherwise ("Configure client" on the same page), so the
  signature's scope must name that endpoint's region (``us-east-1`` for the global one).
- AWS STS, GetCallerIdentity
  (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html): form body
  ``Action=GetCallerIdentity&Version=2011-06-15``; no IAM permission is needed to call it.
- AWS, "Create a signed AWS API request"
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html): a signature
  is accepted for 15 minutes after its ``X-Amz-Date``, so the signed request is a Vault
  credential for that long and is treated as a secret.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ._config import REGION_NAME

logger = logging.getLogger("bandwidth_credentials.vault")

#: The signing region of the global STS endpoint.
GLOBAL_REGION = "us-east-1"
GLOBAL_ENDPOINT = "https://sts.amazonaws.com/"
BODY = "Action=GetCallerIdentity&Version=2011-06-15"
CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
SERVER_ID_HEADER = "X-Vault-AWS-IAM-Server-ID"

_NO_CREDENTIALS = (
    "no AWS credentials found (looked where botocore looks: AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws/config, a web identity token (EKS), "
    "the ECS/EKS container endpoint, the EC2 instance profile)"
)


class AwsSigningError(Exception):
    """Signing was not possible; ``reason`` is safe to show (no secret, no AWS text)."""

    def __init__(self, reason: str, configuration: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.configuration = configuration  # a bad setting rather than missing credentials


@dataclass(frozen=True)
class SignedLogin:
    """The login request's fields and everything in them that must never be shown."""

    body: dict[str, str]
    secrets: frozenset[str]
    region: str
    credential_source: str  # botocore's name for where the keys came from ("env", ...)
    server_id: bool  # whether X-Vault-AWS-IAM-Server-ID was sent


def endpoint(region: str | None) -> str:
    """The STS URL to sign for: the global endpoint, or ``https://sts.REGION.amazonaws.com/``."""
    if region is None:
        return GLOBAL_ENDPOINT
    # The China partition's regional endpoints live under amazonaws.com.cn.
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://sts.{region}.{domain}/"


def chosen_region(option: str | None) -> str | None:
    """``?region=``, else ``VAULT_STS_ENDPOINT_REGION``; None is the global endpoint."""
    if option is not None:
        return option
    region = os.environ.get("VAULT_STS_ENDPOINT_REGION", "").strip().lower()
    if region and not REGION_NAME.fullmatch(region):
        raise AwsSigningError(
            "VAULT_STS_ENDPOINT_REGION must be an AWS region name such as eu-west-1",
            configuration=True,
        )
    return region or None


def chosen_server_id(option: str | None) -> str | None:
    """``?header_value=``, else ``VAULT_IAM_SERVER_ID``; None sends no server-ID header."""
    if option is not None:
        return option
    value = os.environ.get("VAULT_IAM_SERVER_ID", "").strip()
    if not value.isprintable():
        raise AwsSigningError(
            "VAULT_IAM_SERVER_ID must be printable text (an HTTP header value)",
            configuration=True,
        )
    return value or None


def sign_login(
    role: str | None, header_value: str | None, region: str | None, timeout: float
) -> SignedLogin:
    """Sign a GetCallerIdentity request with the default credential chain.

    Returns the ``auth/<mount>/login`` body. ``timeout`` (seconds) bounds each answer of a
    credential source that botocore reaches through an AWS client (STS for a web identity
    or an assumed role); the instance and container endpoints keep botocore's own short
    timeouts. Raises AwsSigningError when no credentials are found or the chain fails (the
    reason names the failure's type only, as botocore's texts may quote a credential
    process's output).
    """
    server_id = chosen_server_id(header_value)
    region = chosen_region(region)
    scope = region or GLOBAL_REGION
    url = endpoint(region)
    frozen, source = _credentials(timeout)

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    headers = {"Content-Type": CONTENT_TYPE}
    if server_id is not None:
        headers[SERVER_ID_HEADER] = server_id
    request = AWSRequest(method="POST", url=url, data=BODY, headers=headers)
    with _quiet_botocore():
        # Every header present when signing is signed, the server-ID header included.
        SigV4Auth(frozen, "sts", scope).add_auth(request)
    sent = {name: [str(value)] for name, value in request.headers.items()}
    encoded_headers = _b64(json.dumps(sent, separators=(",", ":")))
    authorization = str(request.headers.get("Authorization", ""))
    signature = authorization.rpartition("Signature=")[2]
    body = {
        "iam_http_request_method": "POST",
        "iam_request_url": _b64(url),
        "iam_request_body": _b64(BODY),
        "iam_request_headers": encoded_headers,
    }
    if role is not None:
        body["role"] = role
    secrets = {frozen.secret_key, frozen.token or "", authorization, signature, encoded_headers}
    return SignedLogin(
        body=body,
        secrets=frozenset(s for s in secrets if s),
        region=scope,
        credential_source=source,
        server_id=server_id is not None,
    )


def _credentials(timeout: float) -> tuple[Any, str]:
    import botocore.config
    import botocore.exceptions
    import botocore.session

    frozen: Any = None
    source = ""
    failure = ""
    with _quiet_botocore():
        try:
            # A new session at every login: rotated keys and a changed profile are seen.
            session = botocore.session.Session()
            session.set_default_client_config(
                botocore.config.Config(
                    connect_timeout=min(5.0, timeout),
                    read_timeout=timeout,
                    retries={"max_attempts": 2, "mode": "standard"},
                )
            )
            found = session.get_credentials()
            if found is not None:
                frozen = found.get_frozen_credentials()
                source = str(getattr(found, "method", "") or "unknown")
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            failure = type(exc).__name__
        except (OSError, ValueError) as exc:
            failure = type(exc).__name__
    # Raised here, outside the except blocks: botocore's messages may quote what a
    # credential source answered, so only the exception's type is reported.
    if failure:
        raise AwsSigningError(f"the AWS credential chain failed ({failure})")
    if frozen is None or not frozen.access_key or not frozen.secret_key:
        raise AwsSigningError(_NO_CREDENTIALS)
    return frozen, source


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


# -- Vault's answer ----------------------------------------------------------------------

_STS_CODE = re.compile(r"<Code>\s*([A-Za-z0-9.]+)\s*</Code>")


def describe_refusal(errors: list[str], region: str, server_id: bool) -> tuple[list[str], str]:
    """Vault's refusal with an embedded STS error answer cut to its code, plus a hint.

    Vault answers a login whose forwarded request STS refused with "error making upstream
    request: received error code 403 from STS: <ErrorResponse ...>"; only the STS error
    code (``SignatureDoesNotMatch``, ``InvalidClientTokenId``, ...) is kept.
    """
    kept: list[str] = []
    hint = ""
    for text in errors:
        if "from STS" in text:
            code = _STS_CODE.search(text)
            kept.append(f"STS refused the signed request: {code.group(1) if code else 'error'}")
            if region != GLOBAL_REGION:
                hint = (
                    f"; signed for the {region} STS endpoint: the Vault mount needs "
                    "use_sts_region_from_client=true, or sts_endpoint and sts_region for "
                    f"{region}, in auth/<mount>/config/client"
                )
            else:
                hint = (
                    "; signed for the global STS endpoint (us-east-1): if the mount's "
                    "sts_endpoint is regional, set ?region= or VAULT_STS_ENDPOINT_REGION to match"
                )
        else:
            kept.append(text)
        if SERVER_ID_HEADER.lower() in text.lower() and not server_id:
            hint = (
                "; the mount requires the X-Vault-AWS-IAM-Server-ID header: set ?header_value= "
                "or VAULT_IAM_SERVER_ID to its iam_server_id_header_value"
            )
    return kept, hint


# -- botocore's logging ------------------------------------------------------------------

# botocore's DEBUG records show the canonical request (with X-Amz-Security-Token), the
# signature, and the answers of credential endpoints. While this thread resolves
# credentials or signs, every botocore record it emits is dropped; other threads' botocore
# logging is left alone.
_KNOWN_LOGGERS = (
    "botocore",
    "botocore.auth",
    "botocore.credentials",
    "botocore.utils",
    "botocore.endpoint",
    "botocore.parsers",
    "botocore.hooks",
    "botocore.httpsession",
    "botocore.retryhandler",
    "botocore.client",
    "botocore.tokens",
    "botocore.regions",
    "botocore.loaders",
    "botocore.configprovider",
    "botocore.signers",
)
_state = threading.local()


class _QuietFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_state, "quiet", False)


_FILTER = _QuietFilter()


@contextmanager
def _quiet_botocore() -> Iterator[None]:
    names = set(_KNOWN_LOGGERS)
    names.update(n for n in logging.Logger.manager.loggerDict if n.startswith("botocore."))
    for name in names:
        target = logging.getLogger(name)
        if _FILTER not in target.filters:
            target.addFilter(_FILTER)
    _state.quiet = True
    try:
        yield
    finally:
        _state.quiet = False
