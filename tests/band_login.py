"""What ``band auth login`` leaves on a machine, recreated for tests.

The layout follows the CLI's source (github.com/Bandwidth/cli): ``cmd/auth/login.go``
stores the secret with ``internal/auth/auth.go`` (keychain service ``band-cli``, user =
client id), then ``internal/config/config.go`` sets the profile active, copies its
fields to the top level, and saves with ``json.MarshalIndent(cfg, "", "  ")``: the
parent directory 0700, the file 0600, fields with empty values left out, map keys
sorted, no trailing newline.

The keychain is the real ``keyring`` library with the plaintext file backend from
``keyrings.alt``, its file under the test's tmp_path; the process's previous backend
is put back afterwards, so the developer's own keychain is never touched.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import keyring
import keyring.core
from keyring.backend import KeyringBackend
from keyrings.alt.file import PlaintextKeyring

SERVICE = "band-cli"


@contextmanager
def file_keychain(path: Path) -> Iterator[PlaintextKeyring]:
    """Make a plaintext keyring file at ``path`` this process's keyring backend."""
    previous = keyring.core._keyring_backend
    backend = PlaintextKeyring()
    backend.file_path = str(path)
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.core._keyring_backend = previous


def use_backend(backend: KeyringBackend) -> None:
    """Switch the backend inside a :func:`file_keychain` block (restored with it)."""
    keyring.set_keyring(backend)


def config_path(home: Path, *, legacy: bool = False) -> Path:
    if legacy:
        return home / ".band" / "config.json"
    return home / ".config" / "band" / "config.json"


def _profile_json(profile: Mapping[str, object]) -> dict[str, object]:
    order = ("client_id", "account_id", "accounts", "environment", "roles", "build")
    return {key: profile[key] for key in order if profile.get(key)}


def save_config(path: Path, config: Mapping[str, object]) -> None:
    """Write ``config`` the way the CLI's ``config.Save`` does."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    profiles = config.get("profiles")
    out: dict[str, object] = {}
    if config.get("active_profile"):
        out["active_profile"] = config["active_profile"]
    if isinstance(profiles, Mapping) and profiles:
        out["profiles"] = {name: _profile_json(profiles[name]) for name in sorted(profiles)}
    out["format"] = config.get("format") or "json"
    out.update(_profile_json({k: v for k, v in config.items() if k != "profiles"}))
    out.pop("roles", None)
    out.pop("build", None)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        stream.write(json.dumps(out, indent=2))


def load_config(path: Path) -> dict[str, object]:
    if not path.exists():
        return {}
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def login(
    home: Path,
    *,
    client_id: str,
    secret: str,
    accounts: Sequence[str] = (),
    account_id: str | None = None,
    environment: str = "",
    profile: str = "default",
    legacy: bool = False,
) -> Path:
    """``band auth login --profile PROFILE``: returns the config file written."""
    keyring.set_password(SERVICE, client_id, secret)
    path = config_path(home, legacy=legacy)
    config = load_config(path)
    chosen = account_id if account_id is not None else (accounts[0] if accounts else "")
    entry = {
        "client_id": client_id,
        "account_id": chosen,
        "accounts": list(accounts),
        "environment": environment,
        "roles": ["Voice"],
        "build": False,
    }
    profiles = dict(config.get("profiles") or {})  # type: ignore[call-overload]
    profiles[profile] = entry
    config.update(entry, profiles=profiles, active_profile=profile)
    save_config(path, config)
    return path


def use(path: Path, profile: str) -> None:
    """``band auth use PROFILE``: switch the active profile, syncing the top-level fields."""
    config = load_config(path)
    profiles = config["profiles"]
    assert isinstance(profiles, dict)
    config.update(profiles[profile], active_profile=profile)
    save_config(path, config)
