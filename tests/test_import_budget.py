"""What a cold start from the environment may not load: the import budget that keeps the
start-up cost from creeping back (see bench/cold_start.py for the figures).

Each listed module costs a measurable share of a bare interpreter's start-up; ``typing``
alone (with the ``re``, ``functools`` and ``contextlib`` it pulls in) about as much as the
interpreter itself. Showing the Basic notice must not load ``warnings``' Python half
either (it imports ``linecache``, ``tokenize`` and ``re`` to print the source line).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

NOT_LOADED = (
    "typing",
    "re",
    "enum",
    "functools",
    "contextlib",
    "threading",
    "base64",
    "struct",
    "random",
    "warnings",
    "linecache",
    "tokenize",
    "importlib",
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
    "bandwidth_credentials._files",
    "bandwidth_credentials._integrations",
    "bandwidth_credentials.providers.file",
    "bandwidth_credentials.providers.band",
    # Callback verification: its hashing on first use, each framework only in its adapter.
    "hmac",
    "bandwidth_credentials.callbacks",
    "flask",
    "fastapi",
    "starlette",
    "django",
)

CODE = (
    "import sys\n"
    "before = set(sys.modules)\n"
    "import bandwidth_credentials as b\n"
    "auth = b.get_auth('voice')\n"
    "{act}\n"
    "print(' '.join(sorted(set(sys.modules) - before)))\n"
)


def run_fresh(code: str, credentials: dict[str, str], cwd: object) -> str:
    """Run ``code`` in a fresh interpreter with only ``credentials`` as ``BW_*`` variables
    and no ``-W`` option (the Basic notice shows as an application would see it); returns
    the last line it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}
    env.pop("PYTHONWARNINGS", None)
    env.update(credentials)
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(cwd),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1]


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
    # The default chain: env, then an optional ./.env that is not there.
    last = run_fresh(CODE.format(act=act), credentials, tmp_path)

    loaded = set(last.split())
    assert sorted(name for name in NOT_LOADED if name in loaded and name not in SHOWING) == []


# From Python 3.13 on, the interpreter itself imports these to show any warning (here the
# Basic notice), however it was raised.
SHOWING = {"warnings", "linecache"} if sys.version_info >= (3, 13) else set()


EXEC_CODE = (
    "import os, sys\n"
    "before = set(sys.modules)\n"
    "def execvpe(file, args, env):\n"  # stands in for the exec: report, then leave
    "    print(env['BW_USERNAME'], ' '.join(sorted(set(sys.modules) - before)), flush=True)\n"
    "    os._exit(0)\n"
    "os.execvpe = execvpe\n"
    "from bandwidth_credentials._cli import main\n"
    "sys.exit(main(['exec', '--', 'true']))\n"
)
# argparse itself loads re, enum, functools and gettext: not counted against exec. Its
# help formatter would load shutil (with bz2 and lzma) for every add_argument().
EXEC_NOT_LOADED = (
    "shutil",
    "bz2",
    "lzma",
    "typing",
    "json",
    "threading",
    "heapq",
    "logging",
    "importlib.metadata",
    "bandwidth_credentials._jwt",
    "bandwidth_credentials._oauth",
    "bandwidth_credentials._http",
)


def test_bwcreds_exec_stays_within_its_import_budget(tmp_path: object) -> None:
    credentials = {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "jdoe", "BW_PASSWORD": "pw"}

    last = run_fresh(EXEC_CODE, credentials, tmp_path)

    user, _, modules = last.partition(" ")
    assert user == "jdoe"
    loaded = set(modules.split())
    assert sorted(name for name in EXEC_NOT_LOADED if name in loaded) == []


def test_callback_credentials_in_the_environment_keep_the_budget(tmp_path: object) -> None:
    credentials = {
        "BW_ACCOUNT_ID": "920012",
        "BW_CLIENT_ID": "cid",
        "BW_CLIENT_SECRET": "s",
        "BW_CALLBACK_USERNAME": "cb",
        "BW_CALLBACK_PASSWORD": "cb-pw",
        "BW_WEBHOOK_SECRET": "key",
    }

    last = run_fresh(CODE.format(act="b.get_callback_auth(app='sales')"), credentials, tmp_path)

    loaded = set(last.split())
    assert sorted(n for n in NOT_LOADED if n in loaded and n not in SHOWING) == []


def test_verifying_through_the_wsgi_middleware_loads_no_framework(tmp_path: object) -> None:
    code = (
        "import sys, io\n"
        "from bandwidth_credentials.callbacks.wsgi import CallbackAuthMiddleware\n"
        "inner = lambda environ, start: [b'ok']\n"
        "app = CallbackAuthMiddleware(inner)\n"
        "environ = {'HTTP_AUTHORIZATION': 'Basic Y2I6Y2ItcHc=', 'CONTENT_LENGTH': '2',\n"
        "           'wsgi.input': io.BytesIO(b'{}')}\n"
        "print(app(environ, lambda status, headers: None))\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )

    last = run_fresh(
        code, {"BW_CALLBACK_USERNAME": "cb", "BW_CALLBACK_PASSWORD": "cb-pw"}, tmp_path
    )

    loaded = set(last.split())
    assert sorted(loaded & {"flask", "werkzeug", "fastapi", "starlette", "django"}) == []
    assert "bandwidth_credentials.callbacks.wsgi" in loaded
