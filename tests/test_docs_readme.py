"""What the README quotes from ``bwcreds`` (Troubleshooting, "Which credentials win") is
what ``bwcreds`` prints: each case is run here and the quoted line must appear both in the
README and in the real output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BWCREDS = str(Path(sys.executable).with_name("bwcreds"))

FILES = {
    "basic.env": "BW_USERNAME=user1\nBW_PASSWORD=pw1\nBW_ENVIRONMENT=test\n"
    "BW_VOICE_BASE_URL=https://proxy.example.com/v\n",
    "oauth.env": "BW_ACCOUNT_ID=920012\nBW_CLIENT_ID=cid\nBW_CLIENT_SECRET=csecret\n",
    "half.env": "BW_USERNAME=u\n",
    "proj/.env": "BW_ACCOUNT_ID=920012\nBW_CLIENT_ID=cid\nBW_CLIENT_SECRET=cs\n",
}

# (case, working directory under tmp, environment, bwcreds arguments, lines the README quotes)
CASES = [
    (
        "kind-before-precedence",
        ".",
        {"BANDWIDTH_CREDENTIALS_TODAY": "2026-12-06"},
        ["check", "voice", "--sources", "dotenv:basic.env,dotenv:oauth.env"],
        [
            "voice    yes    bearer  oauth        dotenv:oauth.env (BW_ACCOUNT_ID, BW_CLIENT_ID, "
            "BW_CLIENT_SECRET)",
            "  - voice, messaging, numbers, account, mfa, phone-number-lookup, "
            "toll-free-verification, endpoints: using OAuth client credentials; also found API "
            "user credentials, which were ignored (OAuth is preferred over a static token, and "
            "both over Basic, whatever the source order); Bandwidth decommissioned API users "
            "(HTTP Basic) on 2026-12-02",
            "  - dotenv:basic.env has BW_VOICE_BASE_URL, but the OAuth client credentials for "
            "voice came from dotenv:oauth.env; endpoints are taken only from the credentials' "
            "own source, so it was ignored",
            "  - dotenv:basic.env has BW_ENVIRONMENT, but the OAuth client credentials for voice "
            "came from dotenv:oauth.env; endpoints are taken only from the credentials' own "
            "source, so it was ignored",
        ],
    ),
    (
        "api-user-decommissioned",
        ".",
        {
            "BANDWIDTH_CREDENTIALS_TODAY": "2026-12-06",
            "BW_ACCOUNT_ID": "920012",
            "BW_USERNAME": "jdoe",
            "BW_PASSWORD": "pw",
        },
        ["check", "voice", "--sources", "env"],
        [
            "voice    NO     basic   api_user     env (BW_ACCOUNT_ID, BW_USERNAME, BW_PASSWORD)",
            "voice: API user (Basic): decommissioned by Bandwidth on 2026-12-02",
            "  - Bandwidth decommissioned API user credentials (HTTP Basic) on 2026-12-02 and no "
            "longer accepts them; set BW_CLIENT_ID and BW_CLIENT_SECRET (OAuth 2.0 client "
            "credentials) instead",
        ],
    ),
    (
        "nothing-found",
        "empty",
        {"BANDWIDTH_CREDENTIALS_TODAY": "2026-12-06"},
        ["check", "voice"],
        [
            "voice: no credentials for the voice API: missing account_id and credentials (one of "
            "client_id+client_secret, access_token); sources consulted: "
            "env (read), dotenv:.env?optional=true (skipped: .env does not exist)",
            "  - dotenv:.env?optional=true: .env does not exist",
        ],
    ),
    (
        "dotenv-in-parent",
        "proj/app",
        {},
        ["check", "voice"],
        [
            "  - dotenv:.env?optional=true: .env does not exist; found "
            "../.env; point the source at it with dotenv:../.env",
        ],
    ),
    (
        "typo-check",
        ".",
        {"BW_ACCOUNT_ID": "920012", "BW_USRNAME": "u", "BW_PASSWORD": "p"},
        ["check", "voice", "--sources", "env"],
        [
            "  - env has BW_USRNAME, which is not a Bandwidth name; did you mean BW_USERNAME?",
            "  - env has password (BW_PASSWORD) without username; a half pair is never combined "
            "with another source, so it was ignored",
        ],
    ),
    (
        "typo-explain",
        ".",
        {"BW_ACCOUNT_ID": "920012", "BW_USRNAME": "u", "BW_PASSWORD": "p"},
        ["explain", "--sources", "env"],
        [
            "env     BW_USRNAME     -           all  present  not read: not a documented "
            "Bandwidth variable name (did you mean BW_USERNAME?)",
        ],
    ),
    (
        "bitwarden",
        ".",
        {"BW_ACCOUNT_ID": "920012", "BW_CLIENTID": "user.1", "BW_SESSION": "s"},
        ["explain", "--sources", "env"],
        [
            "env     BW_CLIENTID    -           all  present  not read: BW_CLIENTID belongs to "
            "Bitwarden's CLI, not Bandwidth",
            "env     BW_SESSION     -           all  present  not read: BW_SESSION belongs to "
            "Bitwarden's CLI, not Bandwidth",
        ],
    ),
    (
        "bitwarden-check",
        ".",
        {"BW_ACCOUNT_ID": "920012", "BW_CLIENTID": "user.1", "BW_SESSION": "s"},
        ["check", "voice", "--sources", "env"],
        [
            "  - env has BW_CLIENTID, which belongs to Bitwarden's CLI, not Bandwidth; it was "
            "not read",
            "  - env has BW_SESSION, which belongs to Bitwarden's CLI, not Bandwidth; it was "
            "not read",
        ],
    ),
    (
        "bitwarden-password",
        ".",
        {"BW_ACCOUNT_ID": "920012", "BW_SESSION": "s", "BW_USERNAME": "u", "BW_PASSWORD": "m"},
        ["check", "voice", "--sources", "env"],
        [
            "  - env has BW_PASSWORD; not read: BW_SESSION is set, so BW_PASSWORD is Bitwarden's "
            "master password, not Bandwidth's; give Bandwidth's password as BANDWIDTH_PASSWORD, "
            "or read a prefix of your own (env?prefix=MYAPP_BW_)",
        ],
    ),
    (
        "half-pair",
        ".",
        {"BW_ACCOUNT_ID": "920012", "BW_PASSWORD": "p"},
        ["check", "voice", "--sources", "env,dotenv:half.env"],
        [
            "  - env has password (BW_PASSWORD) without username; a half pair is never combined "
            "with another source, so it was ignored",
            "  - dotenv:half.env has username (BW_USERNAME) without password; a half pair is "
            "never combined with another source, so it was ignored",
        ],
    ),
    (
        "url-user-info",
        ".",
        {
            "BW_ACCOUNT_ID": "920012",
            "BW_CLIENT_ID": "c",
            "BW_CLIENT_SECRET": "s",
            "BW_TOKEN_URL": "https://user:pw@auth.example.com/token",
        },
        ["check", "voice", "--sources", "env"],
        [
            "voice: token_url from env (BW_TOKEN_URL) for the voice API must not contain user "
            "info (user:password@); give credentials as fields",
        ],
    ),
    (
        "invisible-character",
        ".",
        {"BW_ACCOUNT_ID": "920012", "BW_CLIENT_ID": "c", "BW_CLIENT_SECRET": "abc\u200bdef"},
        ["check", "voice", "--sources", "env"],
        [
            "voice: client_secret from env (BW_CLIENT_SECRET) for the voice API contains an "
            "invisible or undecodable character (zero-width space, bidi control, byte-order "
            "mark, line separator, or a byte that is not UTF-8); retype the value",
        ],
    ),
]


def _run(cwd: Path, extra: dict[str, str], args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_", "AWS_"))}
    env.update(extra)
    return subprocess.run(
        [BWCREDS, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("cwd", "extra", "args", "quoted"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_readme_quotes_what_bwcreds_prints(
    tmp_path: Path, cwd: str, extra: dict[str, str], args: list[str], quoted: list[str]
) -> None:
    for name, text in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "empty").mkdir()
    (tmp_path / "proj" / "app").mkdir(parents=True)

    result = _run(tmp_path / cwd, extra, args)

    printed = result.stdout.splitlines()
    for line in quoted:
        assert line in printed, f"bwcreds no longer prints: {line}\n{result.stdout}"
        assert line.strip() in README, f"the README no longer quotes: {line}"


def test_readme_states_the_fleet_cost_for_the_default_ttl() -> None:
    from bandwidth_credentials._refresh import JITTER

    pods, ttl = 1000, 300

    assert f"about {pods / ttl:.1f} requests/s" in README
    assert "1,000 pods at the default 300 s TTL" in README
    assert f"±{JITTER:.0%}" in README


def test_readme_names_every_service_of_the_table() -> None:
    from bandwidth_credentials._schema import SERVICES

    missing = [name for name in SERVICES if f"| `{name}` |" not in README]

    assert missing == []


#: The day the README's sample output describes (after Bandwidth decommissioned API users).
README_DAY = "2026-12-06"


def test_readme_check_example_is_the_real_output() -> None:
    result = _run(
        ROOT,
        {"BANDWIDTH_CREDENTIALS_TODAY": README_DAY},
        ["check", "--sources", "dotenv:examples/example.env"],
    )

    lines = [line for line in result.stdout.splitlines() if line.strip()]

    assert result.returncode == 0, result.stderr
    assert [line for line in lines if line not in README] == []
