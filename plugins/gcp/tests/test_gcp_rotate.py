"""``gcp-sm:`` joins the store contract: the official client, over REST and gRPC, against
the loopback Secret Manager (AccessSecretVersion and AddSecretVersion); a source pinned to
a version is refused as not writable."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from gcp_secret_manager_server import SecretStore
from gcp_settings import PROJECT, Loopback

from bandwidth_credentials.testing import StoreContract


class TestSecretManagerStore(StoreContract):
    scheme = "gcp-sm"
    read_only: ClassVar[Mapping[str, str]] = {"pinned-version": "pinned version 1"}

    @pytest.fixture(autouse=True)
    def _server(self, store: SecretStore, loopback: Loopback) -> None:
        self.server = store
        self.loopback = loopback
        self.secret = f"projects/{PROJECT}/secrets/bandwidth-{uuid.uuid4().hex[:8]}"

    def location(self) -> str:
        return self.loopback.uri(self.secret)

    def seed(self, values: Mapping[str, str]) -> None:
        self.server.add(self.secret, json.dumps(dict(values)).encode())

    def read(self) -> dict[str, Any]:
        values: dict[str, Any] = json.loads(self.server.secrets[self.secret][-1].data)
        return values

    def state(self) -> object:
        return copy.deepcopy(self.server.secrets[self.secret])

    def read_only_uri(self, variant: str, values: Mapping[str, str]) -> str:
        self.seed(values)
        return self.loopback.uri(f"{self.secret}/versions/1")

    def read_only_state(self, variant: str) -> object:
        return self.state()

    def after_rotation(self) -> None:
        assert len(self.server.secrets[self.secret]) == 3  # seeded, pending, promoted
