"""What a cold start from the environment may not load: the import budget that keeps the
start-up cost from creeping back (see bench/cold_start.py for the figures)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

NOT_LOADED = (
    "importlib.metadata",
    "email",
    "zipfile",
    "logging",
    "json",
    "urllib.parse",
    "ipaddress",
    "hashlib",
    "ssl",
    "socket",
    "http.client",
    "asyncio",
    "pydantic",
    "dotenv",
    "difflib",
    "unicodedata",
    "bandwidth_credentials._oauth",
    "bandwidth_credentials._http",
    "bandwidth_credentials._jwt",
    "bandwidth_credentials._verify",
    "bandwidth_credentials._files",
    "bandwidth_credentials._integrations",
    "bandwidth_credentials.providers.file",
    "bandwidth_credentials.providers.band",
)

CODE = (
    "import sys\n"
    "before = set(sys.modules)\n"
    "import bandwidth_credentials as b\n"
    "auth = b.get_auth('voice')\n"
    "{act}\n"
    "print(' '.join(sorted(set(sys.modules) - before)))\n"
)


@pytest.mark.parametrize(
    ("credentials", "act"),
    [
        (
            {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "jdoe", "BW_PASSWORD": "pw"},
            "auth.headers()",
        ),
        (
            {"BW_ACCOUNT_ID": "920012", "BW_CLIENT_ID": "cid", "BW_CLIENT_SECRET": "s"},
            "auth.base_url",
        ),
    ],
    ids=["basic-headers", "oauth-base-url"],
)
def test_a_cold_start_from_the_environment_stays_within_its_import_budget(
    credentials: dict[str, str], act: str, tmp_path: object
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}
    env.update(credentials)
    # The default chain: env, then an optional ./.env that is not there.
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", CODE.format(act=act)],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(tmp_path),
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.splitlines()[-1].split())
    assert sorted(name for name in NOT_LOADED if name in loaded) == []
