"""The Vaults the shared tests run against: the test server, or a real Vault."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from vault_testserver import FakeVault


class Backend:
    """What the shared tests need from a Vault: mounts, secrets, tokens, an AppRole."""

    kind = ""
    addr = ""
    cacert = ""
    kv2 = ""
    kv1 = ""

    def fresh(self, name: str = "prod") -> str:
        """A secret path (inside a mount) no other test uses."""
        return f"bw-{uuid.uuid4().hex[:10]}/{name}"

    def put(self, mount: str, path: str, data: Mapping[str, Any]) -> int | None:
        raise NotImplementedError

    def delete_version(self, mount: str, path: str, version: int) -> None:
        raise NotImplementedError

    def destroy_version(self, mount: str, path: str, version: int) -> None:
        raise NotImplementedError

    def token(self, read_paths: list[str]) -> str:
        """A token allowed to read exactly these API paths (``secret/data/x``)."""
        raise NotImplementedError

    def approle(self, read_paths: list[str]) -> tuple[str, str, str]:
        """An AppRole whose tokens read these paths: (mount, role_id, secret_id)."""
        raise NotImplementedError


class FakeBackend(Backend):
    kind = "fake"

    def __init__(self, vault: FakeVault) -> None:
        self.vault = vault
        self.addr = vault.addr
        self.kv2, self.kv1 = "secret", "kv1"

    def put(self, mount: str, path: str, data: Mapping[str, Any]) -> int | None:
        return self.vault.put(mount, path, data)

    def delete_version(self, mount: str, path: str, version: int) -> None:
        self.vault.delete_version(mount, path, version)

    def destroy_version(self, mount: str, path: str, version: int) -> None:
        self.vault.destroy_version(mount, path, version)

    def token(self, read_paths: list[str]) -> str:
        return self.vault.issue_token(read_paths, ttl=3600, renewable=True)

    def approle(self, read_paths: list[str]) -> tuple[str, str, str]:
        role_id, secret_id = f"role-{uuid.uuid4().hex[:8]}", f"sid-{uuid.uuid4().hex}"
        self.vault.add_approle(role_id, secret_id, read_paths)
        return "approle", role_id, secret_id


class RealBackend(Backend):
    """A real Vault, driven through hvac with an admin token; cleans up after itself."""

    kind = "real"

    def __init__(self, addr: str, token: str, cacert: str = "") -> None:
        import hvac

        self.addr = addr
        self.cacert = cacert
        self.client = hvac.Client(url=addr, token=token, verify=cacert or True)
        suffix = uuid.uuid4().hex[:8]
        self.kv2, self.kv1 = f"bwcreds-it-{suffix}-v2", f"bwcreds-it-{suffix}-v1"
        self.approle_mount = f"bwcreds-it-{suffix}-approle"
        self.policies: list[str] = []
        self.client.sys.enable_secrets_engine("kv", path=self.kv2, options={"version": "2"})
        self.client.sys.enable_secrets_engine("kv", path=self.kv1, options={"version": "1"})
        self.client.sys.enable_auth_method("approle", path=self.approle_mount)

    def close(self) -> None:
        for mount in (self.kv2, self.kv1):
            self.client.sys.disable_secrets_engine(mount)
        self.client.sys.disable_auth_method(self.approle_mount)
        for name in self.policies:
            self.client.sys.delete_policy(name)

    def put(self, mount: str, path: str, data: Mapping[str, Any]) -> int | None:
        if mount == self.kv1:
            self.client.secrets.kv.v1.create_or_update_secret(
                path, dict(data), method="PUT", mount_point=mount
            )
            return None
        answer = self.client.secrets.kv.v2.create_or_update_secret(
            path, dict(data), mount_point=mount
        )
        return int(answer["data"]["version"])

    def delete_version(self, mount: str, path: str, version: int) -> None:
        self.client.secrets.kv.v2.delete_secret_versions(path, [version], mount_point=mount)

    def destroy_version(self, mount: str, path: str, version: int) -> None:
        self.client.secrets.kv.v2.destroy_secret_versions(path, [version], mount_point=mount)

    def _policy(self, read_paths: list[str]) -> str:
        name = f"bwcreds-it-{uuid.uuid4().hex[:8]}"
        rules = "".join(f'path "{p}" {{ capabilities = ["read"] }}\n' for p in read_paths)
        self.client.sys.create_or_update_policy(name, rules)
        self.policies.append(name)
        return name

    def token(self, read_paths: list[str]) -> str:
        answer = self.client.auth.token.create(policies=[self._policy(read_paths)], ttl="1h")
        return str(answer["auth"]["client_token"])

    def approle(self, read_paths: list[str]) -> tuple[str, str, str]:
        role = f"bw-{uuid.uuid4().hex[:8]}"
        approle = self.client.auth.approle
        approle.create_or_update_approle(
            role, token_policies=[self._policy(read_paths)], mount_point=self.approle_mount
        )
        role_id = approle.read_role_id(role, mount_point=self.approle_mount)["data"]["role_id"]
        secret = approle.generate_secret_id(role, mount_point=self.approle_mount)
        return self.approle_mount, str(role_id), str(secret["data"]["secret_id"])
