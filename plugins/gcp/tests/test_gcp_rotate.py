"""``bwcreds rotate`` with a ``gcp-sm:`` source: the official client, over REST and gRPC,
against the loopback Secret Manager (AccessSecretVersion and AddSecretVersion)."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gcp_secret_manager_server import SecretStore
from gcp_settings import PROJECT, Loopback
from tests import rotation_kit as kit

from bandwidth_credentials import parse_source
from bandwidth_credentials.testing import today_is
from bandwidth_credentials_gcp.secret_manager import SecretManagerProvider


class GoogleStore:
    def __init__(self, server: SecretStore, loopback: Loopback) -> None:
        self.server = server
        self.secret = f"projects/{PROJECT}/secrets/bandwidth-{uuid.uuid4().hex[:8]}"
        self.uri = loopback.uri(self.secret)

    def seed(self, values: Any) -> None:
        self.server.add(self.secret, json.dumps(dict(values)).encode())

    def read(self) -> dict[str, Any]:
        values: dict[str, Any] = json.loads(self.server.secrets[self.secret][-1].data)
        return values

    def state(self) -> object:
        return copy.deepcopy(self.server.secrets[self.secret])

    def tamper(self) -> None:
        values = self.read()
        values["BW_NOTE"] = "written by someone else"
        self.seed(values)


@pytest.fixture
def writable(store: SecretStore, loopback: Loopback) -> Iterator[GoogleStore]:
    with today_is((2026, 12, 6)):
        yield GoogleStore(store, loopback)


def test_full_rotation(
    writable: GoogleStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kit.full_rotation(writable, tmp_path, capsys)

    assert len(writable.server.secrets[writable.secret]) == 3  # seeded, pending, promoted


@pytest.mark.parametrize(
    "step", ["read", "token", "create", "persist", "prove", "promote", "verify"]
)
def test_crash_after_each_step_then_rerun(writable: GoogleStore, tmp_path: Path, step: str) -> None:
    kit.crash_then_rerun(writable, tmp_path, step)


def test_two_active_secrets_refused(
    writable: GoogleStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kit.two_active_refused(writable, tmp_path, capsys)


def test_version_race_at_promotion(
    writable: GoogleStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kit.version_race(writable, tmp_path, writable.tamper, capsys)


def test_version_race_while_storing_the_new_secret(writable: GoogleStore, tmp_path: Path) -> None:
    kit.persist_race(writable, tmp_path, writable.tamper)


def test_dry_run_touches_nothing(
    writable: GoogleStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kit.dry_run_touches_nothing(writable, tmp_path, capsys)


def test_store_refuses_a_stale_version(writable: GoogleStore) -> None:
    writable.seed({"BW_CLIENT_ID": kit.CLIENT_ID, "BW_CLIENT_SECRET": kit.OLD_SECRET})
    provider = SecretManagerProvider(parse_source(writable.uri))

    kit.store_conflict(writable, writable.tamper, provider)


def test_a_pinned_version_is_not_written(loopback: Loopback) -> None:
    provider = SecretManagerProvider(
        parse_source(loopback.uri(f"projects/{PROJECT}/secrets/s/versions/3"))
    )

    assert "pinned version 3" in (provider.store_problem() or "")
