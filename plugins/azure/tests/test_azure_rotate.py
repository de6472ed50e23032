"""``azure-kv:`` joins the store contract: the official SDK over HTTPS, through the
challenge flow, against the loopback Key Vault (Get Secret and Set Secret); a source
pinned to a version is refused as not writable."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from azure_kv_testserver import KeyVaultServer

from bandwidth_credentials.testing import StoreContract


class TestKeyVaultStore(StoreContract):
    scheme = "azure-kv"
    read_only: ClassVar[Mapping[str, str]] = {"pinned-version": "pinned version"}

    @pytest.fixture(autouse=True)
    def _server(self, key_vault: KeyVaultServer, vault: str) -> None:
        self.server = key_vault
        self.vault = vault
        self.name = f"bandwidth-{uuid.uuid4().hex[:8]}"

    def location(self) -> str:
        return f"azure-kv:{self.vault}/{self.name}"

    def seed(self, values: Mapping[str, str]) -> None:
        self.server.put(self.vault, self.name, dict(values))

    def read(self) -> dict[str, Any]:
        values: dict[str, Any] = json.loads(self.server.secrets[(self.vault, self.name)][-1].value)
        return values

    def state(self) -> object:
        return copy.deepcopy(self.server.secrets[(self.vault, self.name)])

    def read_only_uri(self, variant: str, values: Mapping[str, str]) -> str:
        self.seed(values)
        return f"azure-kv:{self.vault}/{self.name}/0123456789abcdef"

    def read_only_state(self, variant: str) -> object:
        return self.state()

    def after_rotation(self) -> None:
        assert len(self.server.secrets[(self.vault, self.name)]) == 3  # seeded, pending, current
