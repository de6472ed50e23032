"""``bwcreds rotate`` with a ``vault:`` source: real hvac against the Vault-API test server
(KV version 2 with check-and-set; KV version 1 refused as not writable)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests import rotation_kit as kit
from vault_testserver import FakeVault

from bandwidth_credentials import StoreNotSupportedError, parse_source
from bandwidth_credentials.testing import today_is
from bandwidth_credentials_vault import VaultProvider


class VaultStore:
    def __init__(self, vault: FakeVault, mount: str = "secret") -> None:
        self.vault = vault
        self.mount = mount
        self.path = f"bandwidth/rotate-{uuid.uuid4().hex[:8]}"
        self.uri = f"vault:{mount}/{self.path}"

    def seed(self, values: Any) -> None:
        self.vault.put(self.mount, self.path, dict(values))

    def read(self) -> dict[str, Any]:
        ns = self.vault.namespace("")
        if ns.mounts[self.mount] == 1:
            return dict(ns.kv1[(self.mount, self.path)])
        return dict(ns.kv2[(self.mount, self.path)][-1].data)

    def state(self) -> object:
        ns = self.vault.namespace("")
        return copy.deepcopy(
            (ns.kv1.get((self.mount, self.path)), ns.kv2.get((self.mount, self.path)))
        )

    def tamper(self) -> None:
        values = self.read()
        values["BW_NOTE"] = "written by someone else"
        self.seed(values)


@pytest.fixture
def store(fake_env: FakeVault, monkeypatch: pytest.MonkeyPatch) -> Iterator[VaultStore]:
    fake_env.enable_kv("secret", 2)
    fake_env.enable_kv("kv1", 1)
    token = fake_env.issue_token(["secret/*", "kv1/*"], ttl=3600, renewable=True)
    monkeypatch.setenv("VAULT_TOKEN", token)
    with today_is((2026, 12, 6)):
        yield VaultStore(fake_env)


def test_full_rotation(
    store: VaultStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kit.full_rotation(store, tmp_path, capsys)

    writes = list(store.vault.calls(f"secret/data/{store.path}", "POST"))
    assert [c.body["options"]["cas"] for c in writes if c.body] == [1, 2]


@pytest.mark.parametrize(
    "step", ["read", "token", "create", "persist", "prove", "promote", "verify"]
)
def test_crash_after_each_step_then_rerun(store: VaultStore, tmp_path: Path, step: str) -> None:
    kit.crash_then_rerun(store, tmp_path, step)


def test_two_active_secrets_refused(
    store: VaultStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kit.two_active_refused(store, tmp_path, capsys)


def test_version_race_at_promotion(
    store: VaultStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kit.version_race(store, tmp_path, store.tamper, capsys)


def test_version_race_while_storing_the_new_secret(store: VaultStore, tmp_path: Path) -> None:
    kit.persist_race(store, tmp_path, store.tamper)


def test_dry_run_touches_nothing(
    store: VaultStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kit.dry_run_touches_nothing(store, tmp_path, capsys)


def test_store_refuses_a_stale_version(store: VaultStore) -> None:
    store.seed({"BW_CLIENT_ID": kit.CLIENT_ID, "BW_CLIENT_SECRET": kit.OLD_SECRET})
    provider = VaultProvider(parse_source(store.uri))

    kit.store_conflict(store, store.tamper, provider)


def test_kv_version_1_is_not_writable(
    store: VaultStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kv1 = VaultStore(store.vault, "kv1")
    kv1.seed({"BW_CLIENT_ID": kit.CLIENT_ID, "BW_CLIENT_SECRET": kit.OLD_SECRET})
    provider = VaultProvider(parse_source(kv1.uri))

    with pytest.raises(StoreNotSupportedError, match="KV version 1"):
        provider.store({"BW_CLIENT_SECRET": "x" * 12}, None)
    assert kit.run_cli("--source", kv1.uri, "--dry-run") == 2

    assert "KV version 1" in capsys.readouterr().err
    assert kv1.read()["BW_CLIENT_SECRET"] == kit.OLD_SECRET
