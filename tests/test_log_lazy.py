"""The library logs without importing ``logging`` at start-up, and loses nothing by it:
records reach handlers configured before the first record and after it."""

from __future__ import annotations

import os
import subprocess
import sys

HALF = {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "jdoe", "BW_PASSWORD": "pw", "BW_API_TOKEN": "t"}


def run(code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}
    env.update(HALF)
    return subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_a_handler_configured_before_the_first_record_gets_it() -> None:
    code = (
        "import logging, sys\n"
        "logging.basicConfig(stream=sys.stdout, format='%(name)s %(levelname)s %(message)s')\n"
        "import bandwidth_credentials as b\n"
        "b.get_auth('voice')\n"
    )

    result = run(code)

    assert result.returncode == 0, result.stderr
    assert "bandwidth_credentials WARNING env has api_token" in result.stdout


def test_a_handler_configured_after_the_first_use_gets_later_records() -> None:
    code = (
        "import sys\n"
        "import bandwidth_credentials as b\n"
        "b.get_auth('voice')\n"
        "print('logging imported:', 'logging' in sys.modules)\n"
        "import logging\n"
        "logging.basicConfig(stream=sys.stdout, format='%(name)s %(levelname)s %(message)s')\n"
        "r = b.Resolver(['env'])\n"
        "from bandwidth_credentials import _normalizer\n"
        "_normalizer._logged_notes.clear()\n"
        "r.get_auth('voice')\n"
    )

    result = run(code)

    assert result.returncode == 0, result.stderr
    assert "logging imported: False" in result.stdout
    assert "bandwidth_credentials WARNING env has api_token" in result.stdout


def test_nothing_reaches_stderr_without_a_configured_handler() -> None:
    result = run("import logging\nimport bandwidth_credentials as b\nb.get_auth('voice')\n")

    assert result.returncode == 0
    assert "api_token" not in result.stderr  # the library's NullHandler, as before
