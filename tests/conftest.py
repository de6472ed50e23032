from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bandwidth_credentials import _oauth, register_provider, unregister_provider

from .helpers import MemoryProvider
from .oauth_servers import CLIENT_ID, CLIENT_SECRET, ApiServer, TokenServer, serve


@pytest.fixture(autouse=True)
def _memory_provider() -> Iterator[None]:
    MemoryProvider.reset()
    register_provider("mem", MemoryProvider)
    yield
    unregister_provider("mem")
    MemoryProvider.reset()


@pytest.fixture(autouse=True)
def _fresh_token_managers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with no cached OAuth tokens and no retry pauses."""
    monkeypatch.setattr(_oauth, "_managers", {})
    monkeypatch.setattr(_oauth, "BACKOFF", 0.0)


@pytest.fixture
def token_server() -> Iterator[TokenServer]:
    """A local OAuth token endpoint for CLIENT_ID / CLIENT_SECRET."""
    server = TokenServer(CLIENT_ID, CLIENT_SECRET)
    with serve(server) as url:
        server.url = url + "/api/v1/oauth2/token"
        yield server


@pytest.fixture
def api_server() -> Iterator[ApiServer]:
    """A local API that refuses its first request with 401."""
    server = ApiServer()
    with serve(server) as url:
        server.url = url
        yield server


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory that an unprivileged user can traverse (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="bwcreds-perm-"))
    path.chmod(0o755)
    yield path
    for dirpath, _, _ in os.walk(path):
        os.chmod(dirpath, 0o755)
    shutil.rmtree(path)
