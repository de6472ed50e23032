"""A secret directory that holds more than Bandwidth's keys still resolves.

Real mounts share a directory with a TLS certificate, a keystore, files the process
may not read and links to other directories. Those entries are never opened; they are
reported so ``bwcreds explain`` can say what was left out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bandwidth_credentials import Resolver, SourceNotFoundError, parse_source
from bandwidth_credentials.providers.file import A_DIRECTORY, NOT_A_KEY, FileProvider
from bandwidth_credentials.testing import CANARY_PASSWORD, CANARY_SECRET

from .helpers import error_unprivileged, needs_posix

BWCREDS = str(Path(sys.executable).with_name("bwcreds"))
KEYS = {"accountId": "920012", "username": "jdoe", "password": CANARY_PASSWORD}
UNRELATED = ("ca.crt", "keystore.p12", "private.key", "config")


def crowded_dir(root: Path) -> Path:
    """Bandwidth's three keys beside a certificate, a keystore, an unreadable key and a
    symlinked directory."""
    root.mkdir(mode=0o755)
    for key, value in KEYS.items():
        (root / key).write_text(value + "\n", encoding="utf-8")
        (root / key).chmod(0o644)
    (root / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n" + "A" * 100_000, "ascii")
    (root / "keystore.p12").write_bytes(b"\x30\x82\xff\xfe" + CANARY_SECRET.encode() * 100)
    (root / "private.key").write_text(CANARY_SECRET, encoding="utf-8")
    (root / "private.key").chmod(0)
    elsewhere = root.parent / "other-config"
    elsewhere.mkdir()
    (elsewhere / "password").write_text(CANARY_SECRET, encoding="utf-8")
    os.symlink(elsewhere, root / "config")
    return root


@needs_posix
def test_a_crowded_directory_resolves_as_a_user_who_cannot_read_everything(
    shared_dir: Path,
) -> None:
    root = crowded_dir(shared_dir / "bw")

    def resolve_as_user() -> None:
        voice = Resolver([f"file:{root}"]).get_auth("voice")
        if voice.username != "jdoe":
            raise AssertionError("wrong username")

    kind, message = error_unprivileged(resolve_as_user)

    assert (kind, message) == ("ok", "")


def test_entries_that_are_not_keys_are_skipped_and_reported(tmp_path: Path) -> None:
    root = crowded_dir(tmp_path / "bw")
    uri = f"file:{root}"
    resolver = Resolver([uri])

    voice = resolver.get_auth("voice")
    reports = {r.key: r for r in resolver.resolve().keys}

    assert voice.password is not None
    assert voice.password.get_secret_value() == CANARY_PASSWORD
    for name in UNRELATED:
        assert reports[name].status == NOT_A_KEY
        assert reports[name].source == uri
        assert reports[name].field is None
    assert {reports[key].status for key in KEYS} == {"used"}


def test_bwcreds_explain_lists_the_skipped_entries(tmp_path: Path) -> None:
    root = crowded_dir(tmp_path / "bw")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}
    env["BANDWIDTH_CREDENTIALS_TODAY"] = (
        "2026-11-30"  # Basic values, on a day Bandwidth still accepted them
    )

    result = subprocess.run(
        [BWCREDS, "explain", "--json", "--sources", f"file:{root}"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    keys = {row["key"]: row["status"] for row in json.loads(result.stdout)["keys"]}
    assert {name: keys[name] for name in UNRELATED} == dict.fromkeys(UNRELATED, NOT_A_KEY)
    assert CANARY_PASSWORD not in result.stdout + result.stderr
    assert CANARY_SECRET not in result.stdout + result.stderr


def test_a_directory_under_a_key_name_is_skipped_not_read(tmp_path: Path) -> None:
    root = tmp_path / "bw"
    root.mkdir()
    (root / "username").write_text("jdoe", encoding="utf-8")
    (root / "password").mkdir()

    fetched = FileProvider(parse_source(f"file:{root}")).fetch()

    assert dict(fetched.values) == {"username": "jdoe"}
    assert dict(fetched.skipped) == {"password": A_DIRECTORY}


def test_a_provider_used_on_its_own_still_skips_entries_that_are_not_keys(
    tmp_path: Path,
) -> None:
    root = tmp_path / "bw"
    root.mkdir()
    (root / "username").write_text("jdoe", encoding="utf-8")
    (root / "keystore.p12").write_bytes(b"\x30\x82\xff\xfe")

    fetched = FileProvider(parse_source(f"file:{root}")).fetch()

    assert dict(fetched.values) == {"username": "jdoe"}
    assert "keystore.p12" in fetched.skipped


def test_a_directory_with_no_key_names_says_what_it_skipped(tmp_path: Path) -> None:
    root = tmp_path / "bw"
    root.mkdir()
    (root / "ca.crt").write_text("cert", encoding="utf-8")
    uri = f"file:{root}"

    with pytest.raises(SourceNotFoundError) as caught:
        Resolver([uri]).get_auth("voice")

    assert "holds no keys" in str(caught.value)
    assert "skipped: ca.crt" in str(caught.value)


def test_service_scoped_and_prefixed_key_names_are_read(tmp_path: Path) -> None:
    root = tmp_path / "bw"
    root.mkdir()
    files = {
        "BW_ACCOUNT_ID": "920012",
        "voice_username": "vuser",
        "voice-password": "vpw",
        "messagingApiToken": "tok",
        "BANDWIDTH_MESSAGING_API_SECRET": "sec",
        "voice_notes.txt": "not a key",
    }
    for name, value in files.items():
        (root / name).write_text(value, encoding="utf-8")
    resolver = Resolver([f"file:{root}"])

    voice = resolver.get_auth("voice")
    messaging = resolver.get_auth("messaging")
    skipped = {r.key for r in resolver.resolve().keys if r.status == NOT_A_KEY}

    assert voice.username == "vuser"
    assert messaging.username == "tok"
    assert skipped == {"voice_notes.txt"}
