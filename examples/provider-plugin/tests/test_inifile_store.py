"""The INI provider can be written (``bwcreds rotate --source ini:...``): it passes the
shared store contract, ``bwcreds rotate`` end to end against a loopback Bandwidth
included, and keeps the file's other sections."""

from __future__ import annotations

import configparser
from collections.abc import Mapping
from pathlib import Path

from bandwidth_credentials_inifile import IniProvider

from bandwidth_credentials import parse_source
from bandwidth_credentials.testing import StoreContract


def ini_text(values: Mapping[str, str], section: str = "bandwidth") -> str:
    return f"[{section}]\n" + "".join(f"{key} = {value}\n" for key, value in values.items())


def section(path: Path, name: str = "bandwidth") -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    return dict(parser.items(name, raw=True))


class TestIniStore(StoreContract):
    scheme = "ini"

    def location(self) -> str:
        return f"ini:{self.tmp / 'bw.ini'}"

    def seed(self, values: Mapping[str, str]) -> None:
        (self.tmp / "bw.ini").write_text(ini_text(values), encoding="utf-8")

    def read(self) -> dict[str, str]:
        return section(self.tmp / "bw.ini")

    def state(self) -> object:
        path = self.tmp / "bw.ini"
        return (
            path.read_bytes(),
            path.stat().st_mtime_ns,
            sorted(p.name for p in self.tmp.iterdir()),
        )


def test_a_write_keeps_the_other_sections(tmp_path: Path) -> None:
    path = tmp_path / "bw.ini"
    staging = {"BW_ACCOUNT_ID": "920012", "BW_CLIENT_ID": "id", "BW_CLIENT_SECRET": "s"}
    path.write_text(ini_text({"BW_ACCOUNT_ID": "1"}) + ini_text(staging, "staging"))
    provider = IniProvider(parse_source(f"ini:{path}?section=staging"))
    fetched = provider.fetch()

    provider.store({**fetched.values, "BW_CLIENT_SECRET": "new"}, fetched.version)

    assert section(path) == {"BW_ACCOUNT_ID": "1"}
    assert section(path, "staging")["BW_CLIENT_SECRET"] == "new"
