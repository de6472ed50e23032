"""``bandwidth_credentials_aws.rotation.lambda_handler``: Secrets Manager's four rotation
steps, driven as Secrets Manager drives them (RotateSecret makes the AWSPENDING version,
then createSecret, setSecret, testSecret, finishSecret), with real boto3 on moto's server
and the loopback Bandwidth of ``tests/credentials_api.py``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests import rotation_kit as kit
from tests.credentials_api import Bandwidth, new_secret

from bandwidth_credentials import CredentialsError
from bandwidth_credentials.testing import check_no_leaks, today_is
from bandwidth_credentials_aws.rotation import RotationStepError, lambda_handler

STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"]


class Rotation:
    def __init__(self, sm: Any, server: Bandwidth, url: str) -> None:
        self.sm = sm
        self.server = server
        self.name = f"bandwidth/lambda-{uuid.uuid4().hex[:12]}"
        values = {
            "accountId": "920012",
            "clientId": kit.CLIENT_ID,
            "clientSecret": kit.OLD_SECRET,
            "apiUrl": url,
        }
        created = self.sm.create_secret(Name=self.name, SecretString=json.dumps(values))
        self.original = created["VersionId"]
        self.token = str(uuid.uuid4())

    def _secret(self) -> Any:
        from moto.secretsmanager.models import secretsmanager_backends

        for backend in secretsmanager_backends.values():
            for regional in backend.values():
                if self.name in regional.secrets:
                    return regional.secrets[self.name]
        raise LookupError(self.name)

    def start(self) -> None:
        """What RotateSecret does before it invokes the function (AWS: "Secrets Manager
        creates a new version of the secret ... with the staging label AWSPENDING"; it
        holds no value until createSecret puts one): a version named by the request
        token, labelled AWSPENDING, and rotation enabled. Set in moto's own backend (the
        server runs in this process) as moto's RotateSecret sets it before invoking a
        function; moto's RotateSecret without a Lambda it can run finishes the rotation
        itself instead."""
        self.sm.rotate_secret(SecretId=self.name, RotationRules={"AutomaticallyAfterDays": 30})
        secret = self._secret()
        current = next(v for v, d in secret.versions.items() if "AWSCURRENT" in d["version_stages"])
        for version in secret.versions.values():  # undo moto's own finish of that rotation
            version["version_stages"] = [s for s in version["version_stages"] if s != "AWSPREVIOUS"]
        secret.versions[current]["version_stages"] = ["AWSCURRENT"]
        self._rebuild(secret)
        secret.versions[self.token] = {
            "createdate": 0,
            "version_id": self.token,
            "version_stages": ["AWSPENDING"],
        }
        secret.rotation_enabled = True
        secret.rotation_lambda_arn = "arn:aws:lambda:us-east-1:123456789012:function:rotate"

    def _rebuild(self, secret: Any) -> None:
        """Keep only the version created with the secret (the one moto's finish added
        holds no value)."""
        original = self.original
        for version_id in list(secret.versions):
            if version_id != original:
                del secret.versions[version_id]
        secret.versions[original]["version_stages"] = ["AWSCURRENT"]

    def step(self, step: str, token: str | None = None) -> None:
        event = {"SecretId": self.name, "ClientRequestToken": token or self.token, "Step": step}
        check_no_leaks(lambda: lambda_handler(event, None, client=self.sm), kit.CANARIES)

    def reenable(self) -> None:
        """Rotation enabled again on the same rotation (the operator's fix): moto's
        RotateSecret would start a new one, so its flag is set as RotateSecret sets it."""
        self._secret().rotation_enabled = True

    def value(self, **selector: str) -> dict[str, Any]:
        answer = self.sm.get_secret_value(SecretId=self.name, **selector)
        values: dict[str, Any] = json.loads(answer["SecretString"])
        return values

    def labels(self) -> dict[str, list[str]]:
        stages: dict[str, list[str]] = self.sm.describe_secret(SecretId=self.name)[
            "VersionIdsToStages"
        ]
        return stages


@pytest.fixture
def rotation(sm: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rotation]:
    monkeypatch.setenv("BANDWIDTH_ROTATION_EXPIRES_IN", "90d")
    with today_is((2026, 12, 6)), kit.bandwidth() as (server, url):
        server.clients[kit.CLIENT_ID].roles = ("Credential access",)
        yield Rotation(sm, server, url)


def assert_finished(rotation: Rotation) -> None:
    current = rotation.value(VersionStage="AWSCURRENT")
    assert current["clientSecret"] == new_secret(0)
    assert current["clientSecretExpiresAt"] == kit.NEW_EXPIRY
    assert current["apiUrl"] == rotation.value(VersionStage="AWSPREVIOUS")["apiUrl"]
    assert rotation.value(VersionStage="AWSPREVIOUS")["clientSecret"] == kit.OLD_SECRET
    labels = rotation.labels()
    assert "AWSCURRENT" in labels[rotation.token]
    assert len(rotation.server.created) == 1
    assert rotation.server.created[0] == (kit.CLIENT_ID, kit.NEW_EXPIRY)


def test_the_four_steps_rotate_the_secret(rotation: Rotation) -> None:
    rotation.start()

    for step in STEPS:
        rotation.step(step)

    assert_finished(rotation)


def test_every_step_retried_is_idempotent(rotation: Rotation) -> None:
    rotation.start()

    for step in STEPS:
        rotation.step(step)
        rotation.step(step)
    for step in STEPS:  # Secrets Manager retrying the whole rotation after it finished
        rotation.step(step)

    assert_finished(rotation)


def test_a_refused_create_stores_nothing_and_its_retry_finishes(rotation: Rotation) -> None:
    rotation.server.add_client(kit.CLIENT_ID, "canary-second-active-secret-1Lp")
    rotation.start()

    with pytest.raises(RotationStepError, match="two active secrets"):
        rotation.step("createSecret")

    assert rotation.server.created == []
    assert rotation.value(VersionStage="AWSCURRENT")["clientSecret"] == kit.OLD_SECRET
    del rotation.server.clients[kit.CLIENT_ID].secrets["canary-second-active-secret-1Lp"]
    for step in STEPS:
        rotation.step(step)
    assert_finished(rotation)


@pytest.mark.parametrize("step", ["setSecret", "finishSecret"])
def test_a_step_fails_while_rotation_is_disabled_and_its_retry_finishes(
    rotation: Rotation, step: str
) -> None:
    rotation.start()
    for done in STEPS[: STEPS.index(step)]:
        rotation.step(done)
    rotation.sm.cancel_rotate_secret(SecretId=rotation.name)

    with pytest.raises(RotationStepError, match="does not have rotation enabled"):
        rotation.step(step)

    assert rotation.value(VersionStage="AWSCURRENT")["clientSecret"] == kit.OLD_SECRET
    rotation.reenable()
    for done in STEPS[STEPS.index(step) :]:
        rotation.step(done)
    assert_finished(rotation)


def test_a_pending_secret_bandwidth_refuses_fails_the_test_step(rotation: Rotation) -> None:
    rotation.start()
    rotation.step("createSecret")
    rotation.step("setSecret")
    del rotation.server.clients[kit.CLIENT_ID].secrets[new_secret(0)]  # deleted in the App

    with pytest.raises(RotationStepError, match="testSecret: the pending secret"):
        rotation.step("testSecret")

    assert rotation.value(VersionStage="AWSCURRENT")["clientSecret"] == kit.OLD_SECRET


def test_a_token_that_is_not_pending_is_refused(rotation: Rotation) -> None:
    rotation.start()

    with pytest.raises(RotationStepError, match="has no version"):
        rotation.step("createSecret", token=str(uuid.uuid4()))

    assert rotation.server.created == []


def test_a_crash_after_create_before_storing_loses_only_that_secret(rotation: Rotation) -> None:
    """Between Bandwidth's answer and PutSecretValue: the retry creates another secret
    (the first is orphaned at Bandwidth until it expires or is deleted in the App)."""
    rotation.start()
    rotation.server.clients[kit.CLIENT_ID].secrets["canary-orphaned-secret-8Wd"] = None

    with pytest.raises(RotationStepError, match="two active secrets"):
        rotation.step("createSecret")
    del rotation.server.clients[kit.CLIENT_ID].secrets["canary-orphaned-secret-8Wd"]

    for step in STEPS:
        rotation.step(step)
    assert_finished(rotation)


def test_the_admin_source_creates_the_secret(
    rotation: Rotation, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    rotation.server.clients[kit.CLIENT_ID].roles = ()
    url = rotation.value()["apiUrl"]
    monkeypatch.setenv("BANDWIDTH_ROTATION_ADMIN_SOURCE", kit.admin_file(tmp_path, url))
    rotation.start()

    for step in STEPS:
        rotation.step(step)

    assert_finished(rotation)


# -- examples/lambda-rotation -----------------------------------------------------------

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "lambda-rotation"


def test_the_example_handler_is_the_rotation_function() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("rotation_example", EXAMPLE / "handler.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    assert module.lambda_handler is lambda_handler


def test_the_example_policy_grants_exactly_the_calls_a_rotation_makes(
    rotation: Rotation,
) -> None:
    called: set[str] = set()

    def record(model: Any, **_: Any) -> None:
        called.add(f"secretsmanager:{model.name}")

    rotation.start()
    rotation.sm.meta.events.register("before-call.secrets-manager", record)
    for step in STEPS:
        rotation.step(step)
    rotation.sm.meta.events.unregister("before-call.secrets-manager", record)

    policy = json.loads((EXAMPLE / "iam-policy.json").read_text())
    granted = set(policy["Statement"][0]["Action"])
    assert called == granted


def test_the_example_readme_turns_rotation_on_with_the_function() -> None:
    text = (EXAMPLE / "README.md").read_text()

    assert "aws secretsmanager rotate-secret --secret-id bandwidth/prod" in text
    assert "--rotation-lambda-arn arn:aws:lambda:" in text
    assert "handler.lambda_handler" in text


def test_without_a_client_the_function_builds_its_own_bounded_one(rotation: Rotation) -> None:
    rotation.start()

    for step in STEPS:
        event = {"SecretId": rotation.name, "ClientRequestToken": rotation.token, "Step": step}
        check_no_leaks(lambda event=event: lambda_handler(event, None), kit.CANARIES)

    assert_finished(rotation)


class _DeletedBeforePut:
    """The real client, with the secret deleted by someone else just before the
    function's PutSecretValue reaches Secrets Manager (a concurrent operator)."""

    def __init__(self, sm: Any, name: str) -> None:
        self._sm = sm
        self._name = name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sm, name)

    def put_secret_value(self, **kwargs: Any) -> Any:
        self._sm.delete_secret(SecretId=self._name, ForceDeleteWithoutRecovery=True)
        return self._sm.put_secret_value(**kwargs)


def test_a_failed_put_says_the_secret_was_not_stored_and_no_frame_holds_it(
    rotation: Rotation,
) -> None:
    rotation.start()
    event = {
        "SecretId": rotation.name,
        "ClientRequestToken": rotation.token,
        "Step": "createSecret",
    }
    client = _DeletedBeforePut(rotation.sm, rotation.name)

    with pytest.raises(RotationStepError, match="was not stored") as raised:
        check_no_leaks(lambda: lambda_handler(event, None, client=client), kit.CANARIES)

    assert len(rotation.server.created) == 1
    assert kit.frames_holding(raised.value, new_secret(0)) == []


def test_a_refused_pending_secret_is_held_in_no_frame(rotation: Rotation) -> None:
    rotation.start()
    rotation.step("createSecret")
    del rotation.server.clients[kit.CLIENT_ID].secrets[new_secret(0)]  # deleted in the App

    with pytest.raises(RotationStepError) as raised:
        rotation.step("testSecret")

    assert kit.frames_holding(raised.value, new_secret(0)) == []


def _rewrite(rotation: Rotation, stage: str, text: str) -> None:
    """Replace the value of the version labelled ``stage`` in moto's backend (a secret an
    operator edited by hand into something the function cannot use)."""
    secret = rotation._secret()
    for version in secret.versions.values():
        if stage in version["version_stages"]:
            version["secret_string"] = text


def _two_active(rotation: Rotation) -> str:
    rotation.server.add_client(kit.CLIENT_ID, "canary-second-active-secret-1Lp")
    return "createSecret"


def _current_not_json(rotation: Rotation) -> str:
    _rewrite(rotation, "AWSCURRENT", f"clientSecret={kit.OLD_SECRET}")
    return "createSecret"


def _current_without_client_id(rotation: Rotation) -> str:
    _rewrite(rotation, "AWSCURRENT", json.dumps({"clientSecret": kit.OLD_SECRET}))
    return "createSecret"


def _pending_without_client_id(rotation: Rotation) -> str:
    rotation.step("createSecret")
    _rewrite(rotation, "AWSPENDING", json.dumps({"clientSecret": kit.OLD_SECRET}))
    return "testSecret"


@pytest.mark.parametrize(
    "arrange",
    [_two_active, _current_not_json, _current_without_client_id, _pending_without_client_id],
    ids=["create refused", "current not JSON", "current without client id", "pending no id"],
)
def test_no_frame_holds_the_stored_secret_when_a_step_fails(
    rotation: Rotation, arrange: Any
) -> None:
    """Error trackers (Sentry's include_local_variables, on by default, and its Lambda
    integration) record the locals of every frame an error leaves: none between
    lambda_handler and the raise may hold the secret's text or its decoded values."""
    rotation.start()
    step = arrange(rotation)
    event = {"SecretId": rotation.name, "ClientRequestToken": rotation.token, "Step": step}

    with pytest.raises(CredentialsError) as raised:
        check_no_leaks(lambda: lambda_handler(event, None, client=rotation.sm), kit.CANARIES)

    assert kit.frames_holding(raised.value, kit.OLD_SECRET) == []


@pytest.mark.parametrize("lifetime", ["90", "0d", "1w", "-3d", "2914800d"])
def test_a_bad_lifetime_names_the_variable_it_came_from(
    rotation: Rotation, monkeypatch: pytest.MonkeyPatch, lifetime: str
) -> None:
    """The function has no command line: its lifetime comes from the environment, and the
    refusal says so (not ``--expires-in``) before any request to Bandwidth."""
    from bandwidth_credentials import ConfigurationError

    monkeypatch.setenv("BANDWIDTH_ROTATION_EXPIRES_IN", lifetime)
    rotation.start()

    with pytest.raises(ConfigurationError) as refused:
        rotation.step("createSecret")

    assert "BANDWIDTH_ROTATION_EXPIRES_IN" in str(refused.value)
    assert "--expires-in" not in str(refused.value)
    assert rotation.server.requests == []
    assert "AWSCURRENT" not in rotation.labels()[rotation.token]
