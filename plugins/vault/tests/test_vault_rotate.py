"""``vault:`` joins the store contract: real hvac against the Vault-API test server (KV
version 2 with check-and-set; KV version 1 and a pinned ``?version=`` refused as not
writable), ``bwcreds rotate`` end to end included."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from vault_testserver import FakeVault

from bandwidth_credentials.testing import StoreContract


class TestVaultStore(StoreContract):
    scheme = "vault"
    read_only: ClassVar[Mapping[str, str]] = {
        "kv-version-1": "KV version 1",
        "pinned-version": "pinned ?version=",
    }

    @pytest.fixture(autouse=True)
    def _vault(self, fake_env: FakeVault, monkeypatch: pytest.MonkeyPatch) -> None:
        fake_env.enable_kv("secret", 2)
        fake_env.enable_kv("kv1", 1)
        token = fake_env.issue_token(["secret/*", "kv1/*"], ttl=3600, renewable=True)
        monkeypatch.setenv("VAULT_TOKEN", token)
        self.vault = fake_env
        self.mount = "secret"
        self.path = f"bandwidth/rotate-{uuid.uuid4().hex[:8]}"

    def location(self) -> str:
        return f"vault:{self.mount}/{self.path}"

    def seed(self, values: Mapping[str, str]) -> None:
        self.vault.put(self.mount, self.path, dict(values))

    def read(self) -> dict[str, Any]:
        return self._read(self.mount)

    def state(self) -> object:
        ns = self.vault.namespace("")
        return copy.deepcopy(
            (ns.kv1.get((self.mount, self.path)), ns.kv2.get((self.mount, self.path)))
        )

    def _read(self, mount: str) -> dict[str, Any]:
        ns = self.vault.namespace("")
        if ns.mounts[mount] == 1:
            return dict(ns.kv1[(mount, self.path)])
        return dict(ns.kv2[(mount, self.path)][-1].data)

    def read_only_uri(self, variant: str, values: Mapping[str, str]) -> str:
        mount = "kv1" if variant == "kv-version-1" else "secret"
        self.vault.put(mount, self.path, dict(values))
        pinned = "?version=1" if variant == "pinned-version" else ""
        return f"vault:{mount}/{self.path}{pinned}"

    def read_only_state(self, variant: str) -> object:
        return self._read("kv1" if variant == "kv-version-1" else "secret")

    def after_rotation(self) -> None:
        writes = list(self.vault.calls(f"secret/data/{self.path}", "POST"))
        assert [c.body["options"]["cas"] for c in writes if c.body] == [1, 2]


@pytest.mark.parametrize(
    ("query", "shown"),
    [("kv=1", "KV version 1"), ("version=3", "pinned ?version="), ("kv=2&version=1", "pinned")],
)
def test_a_source_its_uri_shows_unwritable_is_refused_without_contacting_vault(
    query: str, shown: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bandwidth_credentials import StoreNotSupportedError, parse_source
    from bandwidth_credentials._cli import main
    from bandwidth_credentials_vault import VaultProvider

    # Port 9 on loopback: nothing listens, so any request would fail to connect.
    monkeypatch.setenv("VAULT_ADDR", "http://127.0.0.1:9")
    monkeypatch.setenv("VAULT_TOKEN", "hvs.unused")
    uri = f"vault:secret/bandwidth/prod?{query}"

    code = main(["rotate", "--source", uri, "--dry-run"])
    provider = VaultProvider(parse_source(uri))
    with pytest.raises(StoreNotSupportedError) as caught:
        provider.store({"BW_CLIENT_SECRET": "x"}, "1")

    err = capsys.readouterr().err
    assert code == 2
    assert "writing is not supported" in err
    assert shown in err
    assert "connect" not in err
    assert shown in str(caught.value)
