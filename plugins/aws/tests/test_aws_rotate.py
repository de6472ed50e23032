"""``bwcreds rotate`` with an ``aws-sm:`` source: real boto3 against moto's server mode."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests import rotation_kit as kit

from bandwidth_credentials import parse_source
from bandwidth_credentials.testing import today_is
from bandwidth_credentials_aws.secrets_manager import SecretsManagerProvider


class SecretsManagerStore:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.name = f"bandwidth/rotate-{uuid.uuid4().hex[:12]}"
        self.uri = f"aws-sm:{self.name}"

    def seed(self, values: Any) -> None:
        self.client.create_secret(Name=self.name, SecretString=json.dumps(dict(values)))

    def read(self) -> dict[str, Any]:
        # The stage is named: moto's default version does not follow a label move made
        # with UpdateSecretVersionStage (AWS's GetSecretValue defaults to AWSCURRENT).
        answer = self.client.get_secret_value(SecretId=self.name, VersionStage="AWSCURRENT")
        values: dict[str, Any] = json.loads(answer["SecretString"])
        return values

    def state(self) -> object:
        described = self.client.describe_secret(SecretId=self.name)
        return (described["VersionIdsToStages"], self.read())

    def tamper(self) -> None:
        """Another writer makes a new AWSCURRENT version, as a rotation function does (a new
        version, then the label moved). A plain PutSecretValue is not used: moto keeps a
        default version that UpdateSecretVersionStage does not move, and its PutSecretValue
        then leaves AWSCURRENT on two versions. The writer's own botocore DEBUG records
        (which show its request body) are not the library's; they are redacted as the
        plugin's are, since the leak harness watches the rotation this runs inside."""
        from bandwidth_credentials_aws._redact import signing_hidden

        values = self.read()
        values["BW_NOTE"] = "written by someone else"
        current = next(v for v, stages in self.labels().items() if "AWSCURRENT" in stages)
        with signing_hidden():
            new = self.client.put_secret_value(
                SecretId=self.name, SecretString=json.dumps(values), VersionStages=["X"]
            )["VersionId"]
        self.client.update_secret_version_stage(
            SecretId=self.name,
            VersionStage="AWSCURRENT",
            MoveToVersionId=new,
            RemoveFromVersionId=current,
        )

    def labels(self) -> dict[str, list[str]]:
        stages: dict[str, list[str]] = self.client.describe_secret(SecretId=self.name)[
            "VersionIdsToStages"
        ]
        return stages


@pytest.fixture
def store(sm: Any) -> Iterator[SecretsManagerStore]:
    with today_is((2026, 12, 6)):
        yield SecretsManagerStore(sm)


def test_full_rotation(
    store: SecretsManagerStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kit.full_rotation(store, tmp_path, capsys)

    labels = store.labels()
    assert sorted(label for stages in labels.values() for label in stages) == [
        "AWSCURRENT",
        "AWSPREVIOUS",
    ]


@pytest.mark.parametrize(
    "step", ["read", "token", "create", "persist", "prove", "promote", "verify"]
)
def test_crash_after_each_step_then_rerun(
    store: SecretsManagerStore, tmp_path: Path, step: str
) -> None:
    kit.crash_then_rerun(store, tmp_path, step)


def test_two_active_secrets_refused(
    store: SecretsManagerStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kit.two_active_refused(store, tmp_path, capsys)


def test_version_race_at_promotion(
    store: SecretsManagerStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kit.version_race(store, tmp_path, store.tamper, capsys)


def test_version_race_while_storing_the_new_secret(
    store: SecretsManagerStore, tmp_path: Path
) -> None:
    kit.persist_race(store, tmp_path, store.tamper)


def test_dry_run_touches_nothing(
    store: SecretsManagerStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kit.dry_run_touches_nothing(store, tmp_path, capsys)


def test_store_refuses_a_stale_version_and_leaves_no_label(store: SecretsManagerStore) -> None:
    store.seed({"BW_CLIENT_ID": kit.CLIENT_ID, "BW_CLIENT_SECRET": kit.OLD_SECRET})
    provider = SecretsManagerProvider(parse_source(store.uri))

    kit.store_conflict(store, store.tamper, provider)

    assert all("AWSPENDING" not in stages for stages in store.labels().values())


def test_store_refuses_while_a_rotation_is_in_progress(store: SecretsManagerStore) -> None:
    from bandwidth_credentials import StoreConflictError

    store.seed({"BW_CLIENT_ID": kit.CLIENT_ID, "BW_CLIENT_SECRET": kit.OLD_SECRET})
    provider = SecretsManagerProvider(parse_source(store.uri))
    fetched = provider.fetch()
    store.client.put_secret_value(
        SecretId=store.name, SecretString="{}", VersionStages=["AWSPENDING"]
    )

    with pytest.raises(StoreConflictError, match=r"rotation .* is in progress"):
        provider.store(dict(fetched.values), fetched.version)

    assert store.read()["BW_CLIENT_SECRET"] == kit.OLD_SECRET


@pytest.mark.parametrize("option", ["stage=AWSPREVIOUS", "version_id=abc"])
def test_a_pinned_version_is_not_written(option: str) -> None:
    provider = SecretsManagerProvider(parse_source(f"aws-sm:bandwidth/x?{option}"))

    assert "not supported" in (provider.store_problem() or "")
