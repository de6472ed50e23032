"""Every ``pip install`` line in every README and example works as written.

The fast tests tie the documentation to the table below: each install line found in a
README or example must belong to a case, and each case's commands must appear verbatim
in the documentation. The slow tests (``-m slow``, ``tox -e install``; they need PyPI)
run each case's commands with ``bash`` in a fresh virtualenv, in a fresh copy of the
checkout, then check the result. Lines written for after publication
(``pip install bandwidth-credentials ...``) run against wheels built from the checkout,
offered to pip with ``--find-links``, since nothing is on an index yet.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC_SUFFIXES = {".md", ".yaml", ".yml", ".py", ".toml", ".ini", ".txt", ".hcl", ".json"}
INSTALL = re.compile(r"(?:[\w./-]*/)?pip install [^`#\n]*")
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".tox", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
)
TIMEOUT = 600  # seconds per case; a cold pip cache downloads boto3 and moto


def documents() -> list[Path]:
    examples = (p for p in ROOT.glob("examples/**/*") if p.suffix in DOC_SUFFIXES)
    return [ROOT / "README.md", *sorted(ROOT.glob("plugins/**/README.md")), *sorted(examples)]


def install_lines() -> set[tuple[str, str]]:
    """(document, install line) for every ``pip install`` in the documentation."""
    found = set()
    for path in documents():
        for match in INSTALL.finditer(path.read_text(encoding="utf-8")):
            found.add((str(path.relative_to(ROOT)), match.group(0).rstrip()))
    return found


@dataclass(frozen=True)
class Case:
    """``commands``, one bash script, run in a fresh copy of the checkout (or of its
    ``source`` folder alone, as a repository of its own) with a fresh virtualenv first on
    ``PATH`` unless they make their own; then ``check`` runs the same way and its output
    must contain each of ``expect``. ``published``: pip finds the project's own
    distributions through ``--find-links`` instead of an index."""

    commands: tuple[str, ...]
    check: str
    expect: tuple[str, ...]
    own_venv: bool = False
    published: bool = False
    source: str = "."


PROVIDERS = "bwcreds providers"
CORE = ("env", "dotenv", "file")
VAULT = (*CORE, "vault")
AWS = (*CORE, "aws-sm", "aws-ssm", "aws-lambda-ext")
AZURE = (*CORE, "azure-kv")
GCP = (*CORE, "gcp-sm")
BAND = (
    "python -c 'import keyring; print(\"keyring ok\")' && bwcreds providers",
    ("keyring ok", "band"),
)
FIXTURES = 'cd "$(mktemp -d)" && python -m pytest --fixtures -p no:cacheprovider'
PLUGIN_TESTS = (
    "python3 -m venv .venv && .venv/bin/pip install '.[testing]' ./examples/provider-plugin",
    "cd examples/provider-plugin && ../../.venv/bin/python -m pytest",
    "cd ../.. && BANDWIDTH_CREDENTIALS_SOURCES=ini:examples/provider-plugin/example.ini "
    ".venv/bin/bwcreds check voice",
)

CASES: dict[str, Case] = {
    "quickstart": Case(
        (
            "python3 -m venv .venv && .venv/bin/pip install . && "
            ".venv/bin/bwcreds check --sources dotenv:examples/example.env",
        ),
        ".venv/bin/bwcreds check voice --sources dotenv:examples/example.env",
        ("voice", "yes"),
        own_venv=True,
    ),
    "core": Case(("pip install .",), PROVIDERS, CORE),
    "vault": Case(("pip install . ./plugins/vault",), PROVIDERS, VAULT),
    "aws": Case(("pip install . ./plugins/aws",), PROVIDERS, AWS),
    "vault aws": Case(
        ("pip install . './plugins/vault[aws]'",),
        "python -c 'import botocore; print(\"botocore ok\")'",
        ("botocore ok",),
    ),
    "azure": Case(("pip install . ./plugins/azure",), PROVIDERS, AZURE),
    "gcp": Case(("pip install . ./plugins/gcp",), PROVIDERS, GCP),
    "band": Case(("pip install '.[band]'",), *BAND),
    "all plugins": Case(
        ("pip install . ./plugins/vault ./plugins/aws ./plugins/azure ./plugins/gcp",),
        PROVIDERS,
        VAULT + AWS + AZURE + GCP,
    ),
    "sdk": Case(
        ("pip install '.[sdk]'",), "python -c 'import bandwidth; print(\"sdk ok\")'", ("sdk ok",)
    ),
    "testing": Case(("pip install '.[testing]'",), FIXTURES, ("bandwidth_isolation",)),
    "flask": Case(
        ("pip install '.[flask]'",),
        "python -c 'import bandwidth_credentials.callbacks.flask; print(\"flask ok\")'",
        ("flask ok",),
    ),
    "fastapi": Case(
        ("pip install '.[fastapi]'",),
        "python -c 'import bandwidth_credentials.callbacks.fastapi; print(\"fastapi ok\")'",
        ("fastapi ok",),
    ),
    "fastapi example": Case(
        ("pip install '.[fastapi]' uvicorn",),
        "cd examples/callbacks && python -c 'import uvicorn, fastapi_app; print(\"example ok\")'",
        ("example ok",),
    ),
    "django": Case(
        ("pip install '.[django]'",),
        "python -c 'import bandwidth_credentials.callbacks.django; print(\"django ok\")'",
        ("django ok",),
    ),
    "published core": Case(("pip install bandwidth-credentials",), PROVIDERS, CORE, published=True),
    "published vault": Case(
        ("pip install bandwidth-credentials bandwidth-credentials-vault",),
        PROVIDERS,
        VAULT,
        published=True,
    ),
    "published aws": Case(
        ("pip install bandwidth-credentials bandwidth-credentials-aws",),
        PROVIDERS,
        AWS,
        published=True,
    ),
    "published azure": Case(
        ("pip install bandwidth-credentials bandwidth-credentials-azure",),
        PROVIDERS,
        AZURE,
        published=True,
    ),
    "published gcp": Case(
        ("pip install bandwidth-credentials bandwidth-credentials-gcp",),
        PROVIDERS,
        GCP,
        published=True,
    ),
    "published band": Case(("pip install 'bandwidth-credentials[band]'",), *BAND, published=True),
    "published sdk": Case(
        ("pip install 'bandwidth-credentials[sdk]'",),
        "python -c 'import bandwidth; print(\"sdk ok\")'",
        ("sdk ok",),
        published=True,
    ),
    "published testing": Case(
        ("pip install 'bandwidth-credentials[testing]'",),
        FIXTURES,
        ("allow_basic_deprecation",),
        published=True,
    ),
    "aws development": Case(
        (
            "python -m venv .venv && "
            ".venv/bin/pip install -e . -e plugins/aws pytest 'moto[server]'",
        ),
        ".venv/bin/python -c 'import moto, bandwidth_credentials_aws; print(\"dev ok\")'",
        ("dev ok",),
        own_venv=True,
    ),
    "azure development": Case(
        ("python -m venv .venv && .venv/bin/pip install -e . -e plugins/azure pytest trustme",),
        ".venv/bin/python -c 'import trustme, bandwidth_credentials_azure; print(\"dev ok\")'",
        ("dev ok",),
        own_venv=True,
    ),
    "gcp development": Case(
        (
            "python -m venv .venv && "
            ".venv/bin/pip install -e . -e plugins/gcp pytest trustme cryptography requests",
        ),
        ".venv/bin/python -c 'import trustme, bandwidth_credentials_gcp; print(\"dev ok\")'",
        ("dev ok",),
        own_venv=True,
    ),
    "lambda package": Case(
        (
            "pip wheel --no-deps --wheel-dir dist . ./plugins/aws",
            "pip install --target package --platform manylinux2014_x86_64 --implementation cp "
            "--python-version 3.12 --only-binary=:all: dist/bandwidth_credentials-*.whl "
            "dist/bandwidth_credentials_aws-*.whl",
            "cp examples/lambda/handler.py package/",
            "python -m compileall -q --invalidation-mode unchecked-hash package",
            "(cd package && zip -qr ../function.zip .)",
        ),
        "unzip -l function.zip",
        (
            "handler.py",
            "bandwidth_credentials_aws/__init__.py",
            "cpython-312-x86_64-linux-gnu.so",
            # (this test's own Python: which one compiles is the reader's choice)
            "bandwidth_credentials/__pycache__/_resolver.cpython-",
        ),
    ),
    "provider plugin": Case(PLUGIN_TESTS, ".venv/bin/bwcreds providers", ("ini",), own_venv=True),
    "provider plugin, own repository": Case(
        ("pip install -e '.[test]'",),
        "python -m pytest -p no:cacheprovider",
        ("passed",),
        published=True,
        source="examples/provider-plugin",
    ),
}

#: Install lines that are not commands to run, with the reason.
NOT_RUN = {
    "pip install . ./plugins/<folder>": "a pattern; each folder's line is its own case",
    "pip install tox && tox": "the test command itself; CI runs exactly it (.ci/)",
}


def test_every_install_line_in_the_documentation_has_a_case() -> None:
    commands = [command for case in CASES.values() for command in case.commands]

    orphans = sorted(
        (document, line)
        for document, line in install_lines()
        if line not in NOT_RUN and not any(line in command for command in commands)
    )

    assert orphans == []


def tox_environments() -> tuple[set[str], str]:
    """The environments tox.ini declares (its list and its [testenv:NAME] sections), and
    the text of its [testenv] section, whose factor conditions make pyXY-FACTOR names."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini", encoding="utf-8")
    declared = {name.strip() for name in parser["tox"]["env_list"].split(",")}
    declared |= {section.split(":", 1)[1] for section in parser if section.startswith("testenv:")}
    base = "\n".join(f"{key} = {value}" for key, value in parser["testenv"].items())
    return declared, base


def test_every_tox_environment_the_documentation_names_exists() -> None:
    declared, base = tox_environments()
    named = {
        name
        for path in documents()
        for names in re.findall(r"tox -e ([\w.,-]+)", path.read_text(encoding="utf-8"))
        for name in names.split(",")
    }

    def known(name: str) -> bool:
        python, _, factor = name.partition("-")
        if name in declared or not re.fullmatch(r"py3\d+", python):
            return name in declared
        return factor == "" or f"{factor}:" in base

    assert {"py311-latest", "install", "bench"} <= named
    assert sorted(name for name in named if not known(name)) == []


def test_the_test_constraints_pin_every_package_once_per_python() -> None:
    """constraints.txt (tox's test, lint and types environments) holds exact pins only,
    one per package and Python, so a run installs the same versions on any date."""
    from packaging.requirements import Requirement

    seen: dict[tuple[str, str], str] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        assert spec.operator == "==", line
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        for python in ("3.10", "3.11", "3.12", "3.13"):
            marker = requirement.marker
            if marker is None or marker.evaluate({"python_version": python}):
                assert (name, python) not in seen, line
                seen[(name, python)] = spec.version
    for package in ("pytest", "sentry-sdk", "ruff", "mypy", "hvac", "boto3", "moto"):
        assert all((package, python) in seen for python in ("3.10", "3.13")), package
    _, base = tox_environments()
    assert "!latest: -c constraints.txt" in base


def test_every_case_runs_lines_written_in_the_documentation() -> None:
    text = "\n".join(path.read_text(encoding="utf-8") for path in documents())

    missing = sorted(
        command for case in CASES.values() for command in case.commands if command not in text
    )

    assert missing == []


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wheels of the core and every plugin, standing in for the package index."""
    wheels = tmp_path_factory.mktemp("wheelhouse")
    sources = [ROOT, *sorted(p.parent for p in ROOT.glob("plugins/*/pyproject.toml"))]
    checkout = copy_checkout(tmp_path_factory.mktemp("wheel-build"))
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(wheels),
            *(str(checkout / p.relative_to(ROOT)) for p in sources),
        ],
        cwd=checkout,
    )
    return wheels


def copy_checkout(into: Path, source: str = ".") -> Path:
    target = into / "checkout"
    shutil.copytree(ROOT / source, target, ignore=COPY_IGNORE)
    return target


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert result.returncode == 0, f"{argv[-1]!r} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def shell_env(venv: Path | None, find_links: Path | None) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("BW_", "BANDWIDTH_", "PYTHON", "VIRTUAL_ENV", "PYTEST_"))
    }
    # Byte-compiling botocore alone takes seconds per virtualenv and proves nothing here.
    env["PIP_NO_COMPILE"] = "1"
    if venv is not None:
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
        env["VIRTUAL_ENV"] = str(venv)
    if find_links is not None:
        env["PIP_FIND_LINKS"] = " ".join(filter(None, [str(find_links), env.get("PIP_FIND_LINKS")]))
    return env


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_install_line_works_in_a_fresh_virtualenv(
    name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    case = CASES[name]
    checkout = copy_checkout(tmp_path, case.source)
    venv = None if case.own_venv else tmp_path / "venv"
    if venv is not None:
        run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    find_links = request.getfixturevalue("wheelhouse") if case.published else None
    env = shell_env(venv, find_links)

    run(["bash", "-euo", "pipefail", "-c", "\n".join(case.commands)], cwd=checkout, env=env)
    output = run(["bash", "-euo", "pipefail", "-c", case.check], cwd=checkout, env=env)

    missing = [word for word in case.expect if word not in output]
    assert missing == [], output
