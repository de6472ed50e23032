"""The example third-party plugin, copied out of the repository on its own, installs with
pip and passes the provider and store contract suites there: it needs nothing from this checkout but
the installed core (the plugin kit and the ``bandwidth_credentials.testing`` pytest plugin).

Offline: pip builds it with the setuptools already installed (``--no-build-isolation``,
``--no-index``) into a target directory that comes first on ``PYTHONPATH``. The slow
``tests/test_install_lines.py`` case "provider plugin, own repository" does the same from
a fresh virtualenv with the documented ``pip install -e '.[test]'``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "provider-plugin"


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_the_example_plugin_installs_outside_the_repository_and_passes_the_contract(
    tmp_path: Path,
) -> None:
    project = tmp_path / "bandwidth-credentials-inifile"
    shutil.copytree(
        EXAMPLE, project, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__", "build")
    )
    target = tmp_path / "site"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_", "PYTEST_"))
    }
    env["PIP_NO_COMPILE"] = "1"
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
    install += ["--no-build-isolation", "--target", str(target), str(project)]

    installed = run(install, tmp_path, env)
    env["PYTHONPATH"] = str(target)
    where = run(
        [sys.executable, "-c", "import bandwidth_credentials_inifile as m; print(m.__file__)"],
        tmp_path,
        env,
    )
    tests = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project, env)

    assert installed.returncode == 0, installed.stderr
    assert where.stdout.strip().startswith(str(target)), where.stdout + where.stderr
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert " passed" in tests.stdout
    collected = run(
        [sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider"],
        project,
        env,
    ).stdout
    assert "TestIniContract" in collected
    assert "TestIniStore::test_full_rotation" in collected  # the store contract, from outside
