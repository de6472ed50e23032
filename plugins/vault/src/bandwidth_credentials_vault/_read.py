"""Reading one KV secret through hvac: engine detection, the read, and what a refusal means.

The engine's version (1 or 2) and its real mount path come from the
``sys/internal/ui/mounts/<path>`` preflight, as the Vault CLI does, unless ``?kv=1|2``
says so (then the first path segment is the mount). A 404 for a deleted or destroyed KV
v2 version says so, showing the answer's ``version`` and ``deletion_time`` only when they
have the shape Vault gives them (a number, an RFC 3339 time): a store (or anything in
between) answering with other text in those fields has it left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from bandwidth_credentials import (
    SourceAccessDeniedError,
    SourceFormatError,
    SourceNotFoundError,
)
from bandwidth_credentials.plugin import Fetched

from ._calls import Caller, HttpFailure
from ._config import SourceSpec
from ._failures import Reporter, TokenRejected, mapping, strings, timestamp, version_number
from ._login import TokenKeeper

__all__ = ["KvReader"]


class KvReader:
    """Reads the secret a ``vault:`` source names; remembers the engine found."""

    def __init__(self, spec: SourceSpec, report: Reporter, keeper: TokenKeeper) -> None:
        self.spec = spec
        self.report = report
        self.keeper = keeper
        self.engine: tuple[str, str, int] | None = None  # mount, path in mount, kv version

    def read(self, client: Any, caller: Caller) -> Fetched:
        """Read the secret now. Raises :class:`TokenRejected` when Vault no longer
        accepts the token (the caller logs in again), else a library error."""
        mount, path, kv = self.locate(client, caller)
        version = self.spec.version
        if kv == 2:
            logical = f"{mount}/data/{path}"

            def read() -> Any:
                return client.secrets.kv.v2.read_secret_version(
                    path, version=version, mount_point=mount, raise_on_deleted_version=True
                )

        else:
            logical = f"{mount}/{path}"

            def read() -> Any:
                return client.secrets.kv.v1.read_secret(path, mount_point=mount)

        answer, failure = caller.try_call(read)
        if isinstance(failure, HttpFailure) and failure.status == 403:
            self.denied(client, caller, f"reading {logical}", failure)
        if isinstance(failure, HttpFailure) and failure.status == 404:
            self._not_found(logical, failure)
        if failure is not None:
            self.report.any(failure, f"reading {logical}")
        if not isinstance(answer, Mapping) or not isinstance(answer.get("data"), Mapping):
            self.report.fail(
                SourceFormatError, f"reading {logical}: the answer is not a Vault secret"
            )
        data: Mapping[str, Any] = answer["data"]
        read_version: str | None = None
        if kv == 2:
            metadata = data.get("metadata")
            values = data.get("data")
            if isinstance(metadata, Mapping) and metadata.get("version") is not None:
                read_version = str(metadata["version"])
            if values is None:
                self._not_found(logical, HttpFailure(404, [], answer))
            data = values
        if not isinstance(data, Mapping):
            self.report.fail(SourceFormatError, f"{logical} does not hold key/value pairs")
        # A later error text from Vault must not echo a value already read.
        self.report.secrets.update(strings(data))
        return Fetched(values=dict(data), version=read_version)

    def locate(self, client: Any, caller: Caller) -> tuple[str, str, int]:
        """``(mount, path in the mount, KV version)`` of the secret: found once (the
        preflight, unless ``?kv=`` says), then remembered."""
        if self.engine is None:
            self.engine = self._detect(client, caller)
        return self.engine

    def _detect(self, client: Any, caller: Caller) -> tuple[str, str, int]:
        """Find the KV mount and engine version, as ``vault kv get`` does."""
        target = self.spec.path
        if self.spec.kv is not None:
            mount, _, path = target.partition("/")
            return mount, path, self.spec.kv
        import hvac.utils

        url = hvac.utils.format_url("/v1/sys/internal/ui/mounts/{path}", path=target)
        where = f"finding the mount of {target} (sys/internal/ui/mounts)"
        answer, failure = caller.try_call(lambda: client.adapter.get(url))
        if isinstance(failure, HttpFailure) and failure.status == 403:
            self.denied(
                client, caller, where, failure, "; no such mount, or no policy grants a path in it"
            )
        if isinstance(failure, HttpFailure) and failure.status == 404:
            # Vault before 0.10.2 has no preflight endpoint, and only KV version 1.
            mount, _, path = target.partition("/")
            return mount, path, 1
        if failure is not None:
            self.report.any(failure, where)
        data = mapping(answer).get("data")
        if not isinstance(data, Mapping) or not isinstance(data.get("path"), str):
            self.report.fail(SourceFormatError, f"{where}: the answer names no mount")
        engine = data.get("type")
        if engine not in ("kv", "generic"):
            shown = engine if isinstance(engine, str) and engine.isidentifier() else "non-KV"
            self.report.fail(
                SourceFormatError, f"{target} is in a {shown} secrets engine, not a KV one"
            )
        options = data.get("options")
        version = options.get("version") if isinstance(options, Mapping) else None
        kv = 2 if str(version) == "2" else 1
        mount = data["path"].strip("/")
        if not (target + "/").startswith(mount + "/") or target == mount:
            self.report.fail(
                SourceFormatError,
                f"{target} names the mount {mount}/, not a secret inside it",
            )
        if kv == 1 and self.spec.version is not None:
            self.report.fail(
                SourceFormatError,
                f"?version= needs KV version 2, but {mount}/ is a KV version 1 engine",
            )
        return mount, target[len(mount) + 1 :], kv

    def denied(
        self, client: Any, caller: Caller, what: str, failure: HttpFailure, hint: str = ""
    ) -> NoReturn:
        # Vault answers 403 both to a token without a policy and to an invalid or revoked
        # one; lookup-self tells them apart. A token that could not look itself up when it
        # was loaded is asked again: refused both ways, it is taken as invalid.
        if not self.keeper.alive(client, caller):
            raise TokenRejected
        self.report.fail(
            SourceAccessDeniedError,
            f"{what}: permission denied (403{self.report.detail(failure.errors)}){hint}",
        )

    def _not_found(self, logical: str, failure: HttpFailure) -> NoReturn:
        metadata = mapping(mapping(mapping(failure.body).get("data")).get("metadata"))
        version = version_number(metadata.get("version"))
        which = f"version {version}" if version is not None else "the requested version"
        if metadata.get("destroyed"):
            self.report.fail(
                SourceNotFoundError,
                f"{which} of {logical} was destroyed; pin another with ?version= or write "
                "the secret again",
            )
        if metadata.get("deletion_time"):
            when = timestamp(metadata.get("deletion_time"))
            restore = (
                f"`vault kv undelete -versions={version}` restores it"
                if version is not None
                else "`vault kv undelete` restores it"
            )
            self.report.fail(
                SourceNotFoundError,
                f"{which} of {logical} was deleted{f' at {when}' if when else ''}; {restore}",
            )
        pinned = f" (version {self.spec.version})" if self.spec.version is not None else ""
        self.report.fail(SourceNotFoundError, f"no secret at {logical}{pinned} (404)")
