"""``bwcreds rotate`` with an ``azure-kv:`` source: the official SDK over HTTPS, through the
challenge flow, against the loopback Key Vault (Get Secret and Set Secret)."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure_kv_testserver import KeyVaultServer
from tests import rotation_kit as kit

from bandwidth_credentials import parse_source
from bandwidth_credentials.testing import today_is
from bandwidth_credentials_azure.key_vault import KeyVaultProvider


class AzureStore:
    def __init__(self, server: KeyVaultServer, vault: str) -> None:
        self.server = server
        self.vault = vault
        self.name = f"bandwidth-{uuid.uuid4().hex[:8]}"
        self.uri = f"azure-kv:{vault}/{self.name}"

    def seed(self, values: Any) -> None:
        self.server.put(self.vault, self.name, dict(values))

    def read(self) -> dict[str, Any]:
        values: dict[str, Any] = json.loads(self.server.secrets[(self.vault, self.name)][-1].value)
        return values

    def state(self) -> object:
        return copy.deepcopy(self.server.secrets[(self.vault, self.name)])

    def tamper(self) -> None:
        values = self.read()
        values["BW_NOTE"] = "written by someone else"
        self.seed(values)


@pytest.fixture
def store(key_vault: KeyVaultServer, vault: str) -> Iterator[AzureStore]:
    with today_is((2026, 12, 6)):
        yield AzureStore(key_vault, vault)


def test_full_rotation(
    store: AzureStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kit.full_rotation(store, tmp_path, capsys)

    assert len(store.server.secrets[(store.vault, store.name)]) == 3  # seeded, pending, current


@pytest.mark.parametrize(
    "step", ["read", "token", "create", "persist", "prove", "promote", "verify"]
)
def test_crash_after_each_step_then_rerun(store: AzureStore, tmp_path: Path, step: str) -> None:
    kit.crash_then_rerun(store, tmp_path, step)


def test_two_active_secrets_refused(
    store: AzureStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kit.two_active_refused(store, tmp_path, capsys)


def test_version_race_at_promotion(
    store: AzureStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kit.version_race(store, tmp_path, store.tamper, capsys)


def test_version_race_while_storing_the_new_secret(store: AzureStore, tmp_path: Path) -> None:
    kit.persist_race(store, tmp_path, store.tamper)


def test_dry_run_touches_nothing(
    store: AzureStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kit.dry_run_touches_nothing(store, tmp_path, capsys)


def test_store_refuses_a_stale_version(store: AzureStore) -> None:
    store.seed({"BW_CLIENT_ID": kit.CLIENT_ID, "BW_CLIENT_SECRET": kit.OLD_SECRET})
    provider = KeyVaultProvider(parse_source(store.uri))

    kit.store_conflict(store, store.tamper, provider)


def test_a_pinned_version_is_not_written(vault: str) -> None:
    provider = KeyVaultProvider(parse_source(f"azure-kv:{vault}/bandwidth/0123456789abcdef"))

    assert "pinned version" in (provider.store_problem() or "")
