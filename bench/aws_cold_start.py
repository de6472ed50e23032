"""Cold start of ``get_auth("voice")``: Lambda extension path versus Secrets Manager SDK path.

Each run is a fresh Python process that does::

    from bandwidth_credentials import get_auth
    get_auth("voice")

with ``BANDWIDTH_CREDENTIALS_SOURCES`` set to ``aws-lambda-ext:bandwidth/bench`` (against
a local stub that answers as the AWS Parameters and Secrets Lambda Extension does) or to
``aws-sm:bandwidth/bench`` (real boto3 against moto's server mode). Both servers run on
127.0.0.1 inside this script. The runs alternate between the two paths so that machine
noise hits both alike; the script prints the median of each, side by side, and the ratio.

    python bench/aws_cold_start.py --runs 21

Needs the core, the AWS plugin and ``moto[server]`` installed. A benchmark, not a test:
nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The stub extension server is shared with the plugin's tests.
sys.path.insert(0, str(ROOT / "plugins" / "aws" / "tests"))

from _bytecode import compile_packages  # noqa: E402
from aws_extension_stub import StubExtension, running  # noqa: E402

SECRET_NAME = "bandwidth/bench"
SECRET = {"accountId": "920012", "username": "bench-user", "password": "bench-password"}
SESSION_TOKEN = "bench-session-token"
REGION = "us-east-1"

# Runs inside each fresh process; prints the in-process seconds for import + get_auth.
CHILD = (
    "import time\n"
    "start = time.perf_counter()\n"
    "from bandwidth_credentials import get_auth\n"
    "auth = get_auth('voice')\n"
    "elapsed = time.perf_counter() - start\n"
    "assert auth.username == 'bench-user', auth.username\n"
    "print(elapsed)\n"
)


def base_env() -> dict[str, str]:
    """The current environment without any credential, Vault or AWS settings."""
    prefixes = ("BW_", "BANDWIDTH_", "VAULT_", "AWS_", "PARAMETERS_SECRETS_")
    return {k: v for k, v in os.environ.items() if not k.upper().startswith(prefixes)}


def run_once(env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds for the whole process, in-process seconds for import + get_auth)."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"child process failed:\n{result.stderr}")
    return wall, float(result.stdout.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per path")
    args = parser.parse_args()
    compile_packages("bandwidth_credentials", "bandwidth_credentials_aws")  # as pip install does

    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request lines
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    client = boto3.client(
        "secretsmanager",
        region_name=REGION,
        endpoint_url=moto_url,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    client.create_secret(Name=SECRET_NAME, SecretString=json.dumps(SECRET))
    client.close()

    stub = StubExtension(token=SESSION_TOKEN, region=REGION)
    stub.put(SECRET_NAME, json.dumps(SECRET))
    with running(stub):
        common = base_env() | {"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}
        ext_env = common | {
            "BANDWIDTH_CREDENTIALS_SOURCES": f"aws-lambda-ext:{SECRET_NAME}",
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(stub.port),
            "AWS_SESSION_TOKEN": SESSION_TOKEN,
        }
        sdk_env = common | {
            "BANDWIDTH_CREDENTIALS_SOURCES": f"aws-sm:{SECRET_NAME}",
            "AWS_ENDPOINT_URL": moto_url,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
        # One untimed run each, so both start with warm OS file caches and .pyc files.
        run_once(ext_env)
        run_once(sdk_env)
        ext: list[tuple[float, float]] = []
        sdk: list[tuple[float, float]] = []
        for _ in range(args.runs):
            ext.append(run_once(ext_env))
            sdk.append(run_once(sdk_env))
    moto.stop()

    ext_wall = statistics.median(w for w, _ in ext)
    sdk_wall = statistics.median(w for w, _ in sdk)
    ext_in = statistics.median(i for _, i in ext)
    sdk_in = statistics.median(i for _, i in sdk)
    print(
        f"{time.strftime('%Y-%m-%d')}  Python {platform.python_version()}  "
        f"{os.cpu_count()} CPUs  {platform.machine()}  runs per path: {args.runs}"
    )
    print(f"{'median over fresh processes':<40}{'aws-lambda-ext':>16}{'aws-sm':>12}{'ratio':>9}")
    print(
        f"{'whole process (spawn to exit)':<40}{ext_wall * 1000:>13.1f} ms"
        f"{sdk_wall * 1000:>9.1f} ms{sdk_wall / ext_wall:>8.2f}x"
    )
    print(
        f"{'import + get_auth(voice) in process':<40}{ext_in * 1000:>13.1f} ms"
        f"{sdk_in * 1000:>9.1f} ms{sdk_in / ext_in:>8.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
