"""The INI provider passes the shared provider contract, failure paths included."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest

from bandwidth_credentials import Resolver, get_auth
from bandwidth_credentials.testing import ProviderContract


def ini_text(values: Mapping[str, str], section: str = "bandwidth") -> str:
    return f"[{section}]\n" + "".join(f"{key} = {value}\n" for key, value in values.items())


class TestIniContract(ProviderContract):
    scheme = "ini"

    def store(self, values: Mapping[str, str]) -> str:
        path = self.tmp / "bw.ini"
        path.write_text(ini_text(values), encoding="utf-8")
        return f"ini:{path}"

    def missing_uri(self) -> str:
        return f"ini:{self.tmp / 'absent.ini'}"

    def denied_uri(self, values: Mapping[str, str]) -> str:
        if os.geteuid() == 0:
            pytest.skip("root reads every file whatever its mode")
        path = Path(self.store(values).removeprefix("ini:"))
        path.chmod(0)
        return f"ini:{path}"

    def unreadable_uri(self, values: Mapping[str, str]) -> str:
        path = self.tmp / "latin1.ini"
        path.write_bytes(b"\xff" + ini_text(values).encode("utf-8"))
        return f"ini:{path}"

    def malformed_uri(self, values: Mapping[str, str]) -> str:
        path = self.tmp / "no-section.ini"
        path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
        return f"ini:{path}"

    def cleanup(self) -> None:
        for path in self.tmp.iterdir():
            path.chmod(0o600)


def test_section_option_selects_the_section(tmp_path: Path) -> None:
    path = tmp_path / "bw.ini"
    staging = {"BW_ACCOUNT_ID": "920012", "BW_CLIENT_ID": "id", "BW_CLIENT_SECRET": "s"}
    path.write_text(ini_text({"BW_ACCOUNT_ID": "1"}) + ini_text(staging, "staging"))

    voice = Resolver([f"ini:{path}?section=staging"]).get_auth("voice")

    assert (voice.account_id, voice.scheme) == ("920012", "bearer")


def test_the_default_resolver_reads_a_configured_ini_file(
    bandwidth_isolation: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    oauth = {"BW_ACCOUNT_ID": "920012", "BW_CLIENT_ID": "id", "BW_CLIENT_SECRET": "s"}
    (bandwidth_isolation / "bw.ini").write_text(ini_text(oauth))
    monkeypatch.setenv("BANDWIDTH_CREDENTIALS_SOURCES", "ini:bw.ini")

    voice = get_auth("voice")

    assert (voice.account_id, voice.scheme) == ("920012", "bearer")
