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

from bandwidth_credentials.testing import StoreContract, today_is


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


def test_a_version_added_during_the_write_leaves_the_rotation_going_on_with_its_own(
    store: SecretStore,
    loopback: Loopback,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Secret Manager has no conditional add: another writer's version landing between the
    read and AddSecretVersion is found only afterwards, with the new secret already
    stored (and latest). The rotation recognises its own pending secret and finishes,
    creating one secret; a WARNING names both versions. Before, it reported the secret
    as not stored and advised deleting it at Bandwidth."""
    from bandwidth_credentials.rotation import rotate
    from bandwidth_credentials.testing._store_kit import (
        CANARIES,
        admin_file,
        assert_rotated,
        bandwidth,
        seed_values,
    )

    secret = f"projects/{PROJECT}/secrets/bandwidth-{uuid.uuid4().hex[:8]}"
    real = store.add_version
    raced: list[str] = []

    def racing(parent: str, data: bytes, crc: int | None, authorization: str | None) -> str:
        if not raced:  # another writer's version lands first, once
            raced.append(store.add(secret, json.dumps({**seeded, "BW_NOTE": "other"}).encode()))
        return real(parent, data, crc, authorization)

    with today_is((2026, 12, 6)), bandwidth() as (server, url):
        seeded = seed_values(url)
        store.add(secret, json.dumps(seeded).encode())
        admin = admin_file(tmp_path, url)
        monkeypatch.setattr(store, "add_version", racing)

        result = rotate(loopback.uri(secret), admin_source=admin)

        assert result["rotated"] is True
        assert len(server.created) == 1
        latest = json.loads(store.secrets[secret][-1].data)
        assert_rotated(latest, loopback.uri(secret), server, 0)
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("another version was added" in text and "goes on" in text for text in warned)
    assert not any(canary in text for text in warned for canary in CANARIES)
