"""An AWS Secrets Manager rotation function for a secret holding Bandwidth client credentials.

Configure it as the secret's rotation function (``examples/lambda-rotation/``); Secrets
Manager then invokes :func:`lambda_handler` four times per rotation with
``{"SecretId": ..., "ClientRequestToken": ..., "Step": ...}``, as AWS documents for
rotation functions ("Lambda rotation functions", and AWS's rotation template):

- ``createSecret``: when the version ``ClientRequestToken`` holds no value yet, create a
  client secret at Bandwidth (Credentials API, ``POST /api/v1/credentials/{clientId}/secrets``
  with an expiration date) and store it at once with ``PutSecretValue`` under that token with
  the label ``AWSPENDING``: the current secret's JSON with ``client_secret`` (and
  ``client_secret_expires_at``) replaced, keys spelled as the secret spells them. A retry
  finds the version and does nothing.
- ``setSecret``: nothing to do; Bandwidth created the secret itself in ``createSecret``
  (Bandwidth's API only creates secrets; it does not accept one chosen by the caller).
- ``testSecret``: mint an access token with the ``AWSPENDING`` version's secret.
- ``finishSecret``: move ``AWSCURRENT`` to the token's version (``AWSPREVIOUS`` follows the
  old one); a retry after the move does nothing.

Before any step the secret must have rotation enabled and the token must name a version
labelled ``AWSPENDING`` (or already ``AWSCURRENT``: the rotation finished, nothing to do).

Who creates the secret: the client itself (its credential needs Bandwidth's *Credential
access* role), or the client credentials in the source URI given by the function's
environment variable ``BANDWIDTH_ROTATION_ADMIN_SOURCE`` (for example
``aws-sm:bandwidth/credential-admin``). The new secret's lifetime is
``BANDWIDTH_ROTATION_EXPIRES_IN`` (``90d`` by default; whole days or hours).

Retries and limits: a crash between Bandwidth's answer and ``PutSecretValue`` leaves a
secret at Bandwidth that nobody holds (it expires at its expiration date; Bandwidth shows
it only once, so it cannot be recovered): the retry then creates another, and Bandwidth
refuses a third active one until one is deleted in the Bandwidth App. Nothing logged or
raised holds a secret.
"""

from __future__ import annotations

import json
import os
from typing import Any

from bandwidth_credentials import ConfigurationError, CredentialsError
from bandwidth_credentials.plugin import Fetched
from bandwidth_credentials.rotation import (
    RotationError,
    access_token,
    admin_credentials,
    client_credentials,
    create_client_secret,
    expiry_after,
    parse_duration,
    with_new_secret,
)

from ._boto import call

__all__ = ["ADMIN_SOURCE_VARIABLE", "EXPIRES_IN_VARIABLE", "RotationStepError", "lambda_handler"]

ADMIN_SOURCE_VARIABLE = "BANDWIDTH_ROTATION_ADMIN_SOURCE"
EXPIRES_IN_VARIABLE = "BANDWIDTH_ROTATION_EXPIRES_IN"
CURRENT, PENDING = "AWSCURRENT", "AWSPENDING"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


class RotationStepError(CredentialsError):
    """A rotation step failed; Secrets Manager retries the step. ``step`` names it; the
    message names the secret, never a value."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"{step}: {message}")
        self.step = step


def _client(secret_id: str) -> Any:
    """The plugin's own bounded client (timeouts 2 s/5 s, standard retries, one deadline
    per attempt), in the secret's region (an ARN's, else the function's)."""
    from bandwidth_credentials import parse_source

    from .secrets_manager import SecretsManagerProvider

    return SecretsManagerProvider(parse_source(f"aws-sm:{secret_id}")).client()


def lambda_handler(event: dict[str, Any], context: object, *, client: Any = None) -> None:
    """Run one rotation step for Secrets Manager (``event``: ``SecretId``,
    ``ClientRequestToken``, ``Step``). ``client`` is a boto3 Secrets Manager client (by
    default one from the function's environment).

    Raises :class:`RotationStepError` (the step failed; Secrets Manager retries it) or
    :class:`ConfigurationError` (a bad event or setting).

    >>> lambda_handler({"SecretId": arn, "ClientRequestToken": token, "Step": "createSecret"},
    ...                context)                                     # doctest: +SKIP
    """
    del context
    secret_id = event.get("SecretId")
    token = event.get("ClientRequestToken")
    step = event.get("Step")
    if not isinstance(secret_id, str) or not isinstance(token, str) or step not in STEPS:
        raise ConfigurationError(
            f"the event must hold SecretId, ClientRequestToken and Step (one of {', '.join(STEPS)})"
        )
    from ._redact import install

    install()  # botocore's DEBUG records of these calls show no value
    client = client if client is not None else _client(secret_id)
    stages = _stages(client, secret_id, step)
    if token not in stages:
        raise RotationStepError(step, f"secret {secret_id} has no version {token} to rotate")
    if CURRENT in stages[token]:
        return  # already current: a retry of a finished rotation
    if PENDING not in stages[token]:
        raise RotationStepError(step, f"version {token} of {secret_id} is not AWSPENDING")
    if step == "createSecret":
        _create(client, secret_id, token)
    elif step == "testSecret":
        _test(client, secret_id, token)
    elif step == "finishSecret":
        _finish(client, secret_id, token, stages)
    # setSecret: Bandwidth created the secret in createSecret; nothing to set.


def _stages(client: Any, secret_id: str, step: str) -> dict[str, list[str]]:
    described, failure = call(client.describe_secret, SecretId=secret_id)
    if failure is not None:
        raise RotationStepError(step, f"DescribeSecret of {secret_id} failed ({failure.answer})")
    if not described.get("RotationEnabled"):
        raise RotationStepError(step, f"secret {secret_id} does not have rotation enabled")
    stages: dict[str, list[str]] = described.get("VersionIdsToStages") or {}
    return stages


def _values(client: Any, secret_id: str, step: str, **selector: str) -> Fetched | None:
    """The JSON object of one version, held in a :class:`Fetched` (its ``repr`` lists keys
    only), or ``None`` when that version holds no value yet.

    Error trackers (Sentry's ``include_local_variables``) record the locals of every frame
    an error passes: no frame here or in the callers keeps the secret's text or values
    outside such a holder when a :class:`RotationStepError` is raised."""
    answer, failure = call(client.get_secret_value, SecretId=secret_id, **selector)
    if failure is not None:
        if failure.code == "ResourceNotFoundException":
            return None
        raise RotationStepError(step, f"GetSecretValue of {secret_id} failed ({failure.answer})")
    text = answer.get("SecretString")
    del answer
    decoded: object = None
    if isinstance(text, str):
        try:
            decoded = json.loads(text)
        except ValueError:
            decoded = None
    del text
    held = Fetched(decoded) if isinstance(decoded, dict) else None
    del decoded
    if held is None:
        raise RotationStepError(step, f"{secret_id} does not hold a JSON object")
    return held


def _create(client: Any, secret_id: str, token: str) -> None:
    step = "createSecret"
    current = _values(client, secret_id, step, VersionStage=CURRENT)
    if current is None:
        raise RotationStepError(step, f"{secret_id} has no AWSCURRENT value to rotate")
    if _values(client, secret_id, step, VersionId=token, VersionStage=PENDING) is not None:
        return  # a retry: the pending version was stored already
    lifetime = parse_duration(os.environ.get(EXPIRES_IN_VARIABLE) or "90d", EXPIRES_IN_VARIABLE)
    asked = expiry_after(lifetime, EXPIRES_IN_VARIABLE)  # before any request
    where = f"secret {secret_id}"
    credentials = client_credentials(current.values, where)
    admin_source = os.environ.get(ADMIN_SOURCE_VARIABLE)
    caller = admin_credentials(admin_source) if admin_source else credentials
    if caller.api_base != credentials.api_base:
        raise ConfigurationError(
            f"{ADMIN_SOURCE_VARIABLE}: its token endpoint is not on {credentials.api_base}"
        )
    failure: RotationError | None = None
    try:
        bearer = access_token(caller)
        secret, expires_at = create_client_secret(credentials, bearer, asked)
    except RotationError as exc:
        failure = exc
    if failure is not None:
        raise RotationStepError(step, f"{where}: {failure}")
    from ._redact import signing_hidden

    with signing_hidden():
        _, put_failure = call(
            client.put_secret_value,
            SecretId=secret_id,
            ClientRequestToken=token,
            SecretString=json.dumps(with_new_secret(current.values, secret, expires_at, where)),
            VersionStages=[PENDING],
        )  # the new secret unmasked only as this call's argument, gone when it returns
    if put_failure is not None:
        raise RotationStepError(
            step,
            f"PutSecretValue of {secret_id} failed ({put_failure.answer}); Bandwidth holds a "
            f"new secret expiring at {expires_at} that was not stored: delete it in the "
            "Bandwidth App or let it expire",
        )


def _test(client: Any, secret_id: str, token: str) -> None:
    step = "testSecret"
    pending = _values(client, secret_id, step, VersionId=token, VersionStage=PENDING)
    if pending is None:
        raise RotationStepError(step, f"version {token} of {secret_id} holds no value")
    credentials = client_credentials(pending.values, f"secret {secret_id}")
    failure: RotationError | None = None
    try:
        access_token(credentials, "test")
    except RotationError as exc:
        failure = exc
    if failure is not None:
        raise RotationStepError(step, f"the pending secret of {secret_id}: {failure}")


def _finish(client: Any, secret_id: str, token: str, stages: dict[str, list[str]]) -> None:
    step = "finishSecret"
    current = next((v for v, labels in stages.items() if CURRENT in labels), None)
    if current == token:
        return
    _, failure = call(
        client.update_secret_version_stage,
        SecretId=secret_id,
        VersionStage=CURRENT,
        MoveToVersionId=token,
        RemoveFromVersionId=current,
    )
    if failure is not None:
        raise RotationStepError(
            step, f"UpdateSecretVersionStage of {secret_id} failed ({failure.answer})"
        )
