"""``aws-sm:`` joins the store contract (real boto3 against moto's server mode), and what
only Secrets Manager has: its staging labels."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import pytest
from tests import rotation_kit as kit

from bandwidth_credentials import parse_source
from bandwidth_credentials.testing import StoreContract, today_is
from bandwidth_credentials_aws.secrets_manager import SecretsManagerProvider


class SecretsManagerStore:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.name = f"bandwidth/rotate-{uuid.uuid4().hex[:12]}"
        self.uri = f"aws-sm:{self.name}"
        self.created = False

    def seed(self, values: Any) -> None:
        self.client.create_secret(Name=self.name, SecretString=json.dumps(dict(values)))
        self.created = True

    def read(self) -> dict[str, Any]:
        # The stage is named: moto's default version does not follow a label move made
        # with UpdateSecretVersionStage (AWS's GetSecretValue defaults to AWSCURRENT).
        answer = self.client.get_secret_value(SecretId=self.name, VersionStage="AWSCURRENT")
        values: dict[str, Any] = json.loads(answer["SecretString"])
        return values

    def state(self) -> object:
        described = self.client.describe_secret(SecretId=self.name)
        return (described["VersionIdsToStages"], self.read())

    def exists(self) -> bool:
        return any(entry["Name"] == self.name for entry in self.client.list_secrets()["SecretList"])

    def tamper(self, values: dict[str, Any] | None = None) -> None:
        """Another writer makes a new AWSCURRENT version, as a rotation function does (a new
        version, then the label moved). A plain PutSecretValue is not used: moto keeps a
        default version that UpdateSecretVersionStage does not move, and its PutSecretValue
        then leaves AWSCURRENT on two versions. The writer's own botocore DEBUG records
        (which show its request body) are not the library's; they are redacted as the
        plugin's are, since the leak harness watches the rotation this runs inside."""
        from bandwidth_credentials_aws._redact import signing_hidden

        if values is None:
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


class TestSecretsManagerStore(StoreContract):
    scheme = "aws-sm"
    read_only: ClassVar[Mapping[str, str]] = {
        "stage": "pinned version or stage",
        "version-id": "pinned version or stage",
    }

    @pytest.fixture(autouse=True)
    def _moto(self, sm: Any) -> None:
        self.secret = SecretsManagerStore(sm)

    def location(self) -> str:
        return self.secret.uri

    def seed(self, values: Mapping[str, str]) -> None:
        if self.secret.created:
            self.secret.tamper(dict(values))
        else:
            self.secret.seed(values)

    def read(self) -> dict[str, Any]:
        return self.secret.read()

    def state(self) -> object:
        return self.secret.state()

    def read_only_uri(self, variant: str, values: Mapping[str, str]) -> str:
        self.secret.seed(values)
        option = "stage=AWSPREVIOUS" if variant == "stage" else "version_id=abc"
        return f"{self.secret.uri}?{option}"

    def read_only_state(self, variant: str) -> object:
        return self.secret.state()

    def after_rotation(self) -> None:
        labels = self.secret.labels()
        assert sorted(label for stages in labels.values() for label in stages) == [
            "AWSCURRENT",
            "AWSPREVIOUS",
        ]

    def after_conflict(self) -> None:
        assert all("AWSPENDING" not in stages for stages in self.secret.labels().values())


@pytest.fixture
def store(sm: Any) -> Iterator[SecretsManagerStore]:
    with today_is((2026, 12, 6)):
        yield SecretsManagerStore(sm)


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
