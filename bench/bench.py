"""Benchmarks: this library next to the tools people wire together by hand, in one run.

    tox -e bench          (or: python bench/bench.py [--quick])

Everything runs on this machine: moto's Secrets Manager server on 127.0.0.1 behind a
small counting proxy (so backend requests are counted the same way for every client,
and the store can be "switched off"), and fresh Python processes for cold starts.
Timings are medians; the machine is shared, so compare the ratios within one run.

Sections:
1. cached read, ns/call: get_auth() vs Powertools' get_secret (cached) vs
   aws-secretsmanager-caching's SecretCache.get_secret_string (cached);
2. backend requests caused by 64 concurrent cold callers;
3. cold start of a fresh process: get_auth("voice") from env vs a bare pydantic model
   reading the same variables vs pydantic-settings;
4. behaviour when the store goes down after the first fetch.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from _bytecode import compile_packages
from oauth_tokens import storm

SECRET_NAME = "bandwidth/bench"
SECRET = {
    "accountId": "920012",
    "username": "bench-user",
    "password": "bench-password",
    "apiToken": "bench-token",
    "apiSecret": "bench-secret",
}


class CountingProxy:
    """Forwards HTTP to moto, counting GetSecretValue calls; can refuse everything."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.get_secret_value = 0
        self.down = False
        self.lock = threading.Lock()

    @contextmanager
    def serve(self) -> Iterator[str]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if proxy.down:
                    self.send_response(503)
                    payload = b'{"__type":"ServiceUnavailable","message":"down"}'
                    self.send_header("Content-Type", "application/x-amz-json-1.1")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if self.headers.get("X-Amz-Target", "").endswith(".GetSecretValue"):
                    with proxy.lock:
                        proxy.get_secret_value += 1
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                upstream.request("POST", self.path, body, headers)
                response = upstream.getresponse()
                data = response.read()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream.close()

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 256
            daemon_threads = True

        server = Server(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


def per_call_ns(call: Callable[[], object], n: int, repeats: int = 5) -> float:
    """Median over ``repeats`` of the mean cost of one call in a tight loop."""
    results = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(n):
            call()
        results.append((time.perf_counter_ns() - start) / n)
    return statistics.median(results)


def fresh_process_ms(code: str, env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


BARE_PYDANTIC = """
import os
from pydantic import BaseModel, SecretStr
class Voice(BaseModel):
    account_id: str
    username: str
    password: SecretStr
Voice(account_id=os.environ["BW_ACCOUNT_ID"], username=os.environ["BW_USERNAME"],
      password=os.environ["BW_PASSWORD"])
"""
PYDANTIC_SETTINGS = """
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
class Voice(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BW_")
    account_id: str
    username: str
    password: SecretStr
Voice()
"""
OURS = 'from bandwidth_credentials import get_auth\nget_auth("voice")'


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    print(f"\n{title}")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    args = parser.parse_args()
    compile_packages("bandwidth_credentials")  # what pip install does; see _bytecode.py
    loops = 20_000 if args.quick else 200_000
    runs = 7 if args.quick else 21

    import warnings

    warnings.simplefilter("ignore", DeprecationWarning)  # the Basic deprecation notice
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        POWERTOOLS_PARAMETERS_MAX_AGE="300",
    )
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request lines

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    try:
        proxy = CountingProxy(moto.get_host_and_port()[1])
        with proxy.serve() as endpoint:
            os.environ["AWS_ENDPOINT_URL"] = endpoint
            run_all(proxy, loops, runs)
    finally:
        moto.stop()


def run_all(proxy: CountingProxy, loops: int, runs: int) -> None:
    import boto3
    from aws_lambda_powertools.utilities import parameters
    from aws_secretsmanager_caching import SecretCache, SecretCacheConfig

    from bandwidth_credentials import Resolver

    boto3.client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=json.dumps(SECRET))
    uri = f"aws-sm:{SECRET_NAME}"
    print(f"bandwidth-credentials benchmarks, {time.strftime('%Y-%m-%d')}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()}"
    )

    # 1. Cached reads.
    ours = Resolver([uri])
    ours.get_auth("voice")
    ours_ns = per_call_ns(lambda: ours.get_auth("voice"), loops)
    parameters.get_secret(SECRET_NAME, max_age=300)
    powertools_ns = per_call_ns(
        lambda: parameters.get_secret(SECRET_NAME, max_age=300), loops // 10
    )
    cache = SecretCache(SecretCacheConfig(), client=boto3.client("secretsmanager"))
    cache.get_secret_string(SECRET_NAME)
    caching_ns = per_call_ns(lambda: cache.get_secret_string(SECRET_NAME), loops // 10)
    table(
        "1. cached read (ns per call, median of 5 loops)",
        ["client", "ns/call", "vs get_auth()"],
        [
            ["bandwidth_credentials get_auth('voice')", f"{ours_ns:,.0f}", "1.0x"],
            [
                "powertools parameters.get_secret",
                f"{powertools_ns:,.0f}",
                f"{powertools_ns / ours_ns:.1f}x slower",
            ],
            [
                "aws-secretsmanager-caching get_secret_string",
                f"{caching_ns:,.0f}",
                f"{caching_ns / ours_ns:.1f}x slower",
            ],
        ],
    )

    # 2. Cold callers.
    rows = []
    cold: list[tuple[str, Callable[[], Callable[[], object]]]] = [
        ("bandwidth_credentials get_auth", lambda: Resolver([uri]).get_auth),
        (
            "powertools SecretsProvider.get",
            lambda: parameters.SecretsProvider().get,
        ),
        (
            "aws-secretsmanager-caching",
            lambda: (
                SecretCache(
                    SecretCacheConfig(), client=boto3.client("secretsmanager")
                ).get_secret_string
            ),
        ),
    ]
    for name, make in cold:
        fetch = make()
        arg = "voice" if name.startswith("bandwidth") else SECRET_NAME
        proxy.get_secret_value = 0
        failed = storm(64, lambda fetch=fetch, arg=arg: fetch(arg))  # type: ignore[misc]
        rows.append([name, str(proxy.get_secret_value), str(failed)])
    table(
        "2. 64 concurrent cold callers",
        ["client", "GetSecretValue requests", "callers failed"],
        rows,
    )

    # 3. Cold start of a fresh process, from the environment.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_", "AWS_"))}
    env.update(
        BW_ACCOUNT_ID="920012",
        BW_USERNAME="jdoe",
        BW_PASSWORD="pw",
        BANDWIDTH_CREDENTIALS_SOURCES="env",
        PYTHONWARNINGS="ignore",
    )
    bare = fresh_process_ms(BARE_PYDANTIC, env, runs)
    settings = fresh_process_ms(PYDANTIC_SETTINGS, env, runs)
    ours_cold = fresh_process_ms(OURS, env, runs)
    floor = fresh_process_ms("pass", env, runs)
    table(
        f"3. fresh-process cold start from env (median of {runs} runs)",
        ["what", "ms", "vs bare pydantic"],
        [
            ["python -c pass", f"{floor:.1f}", "-"],
            ["bare pydantic model", f"{bare:.1f}", "1.00x"],
            ["pydantic-settings BaseSettings", f"{settings:.1f}", f"{settings / bare:.2f}x"],
            [
                'bandwidth_credentials get_auth("voice")',
                f"{ours_cold:.1f}",
                f"{ours_cold / bare:.2f}x",
            ],
        ],
    )

    # 4. The store goes down after the first fetch.
    table("4. the store goes down after the first fetch", *outage(proxy, uri))


def outage(proxy: CountingProxy, uri: str) -> tuple[list[str], list[list[str]]]:
    import boto3
    from aws_lambda_powertools.utilities import parameters
    from aws_secretsmanager_caching import SecretCache, SecretCacheConfig

    from bandwidth_credentials import CredentialsError, Resolver

    def attempt(call: Callable[[], Any]) -> str:
        try:
            call()
        except CredentialsError as exc:
            return f"raises {type(exc).__name__}"
        except Exception as exc:
            return f"raises {type(exc).__name__}"
        return "serves last good value"

    now = [0.0]
    ours = Resolver([f"{uri}?ttl=60&max_stale=600"], clock=lambda: now[0], spawn=lambda w: w())
    proxy.down = False
    ours.get_auth("voice")
    powertools = parameters.SecretsProvider()
    powertools.get(SECRET_NAME, max_age=1)
    cache = SecretCache(
        SecretCacheConfig(secret_refresh_interval=1), client=boto3.client("secretsmanager")
    )
    cache.get_secret_string(SECRET_NAME)

    proxy.down = True
    try:
        now[0] = 61  # expired; the refresh fails
        ours_within = attempt(lambda: ours.get_auth("voice"))
        now[0] = 300
        ours_within_later = attempt(lambda: ours.get_auth("voice"))
        now[0] = 61 + 600  # past max_stale
        ours_past = attempt(lambda: ours.get_auth("voice"))
        time.sleep(1.2)  # the others' TTLs run on real time
        powertools_after = attempt(lambda: powertools.get(SECRET_NAME, max_age=1))
        caching_after = attempt(lambda: cache.get_secret_string(SECRET_NAME))
        time.sleep(1.2)
        powertools_later = attempt(lambda: powertools.get(SECRET_NAME, max_age=1))
        caching_later = attempt(lambda: cache.get_secret_string(SECRET_NAME))
    finally:
        proxy.down = False
    return (
        ["client", "just after expiry", "later"],
        [
            [
                "bandwidth_credentials (ttl 60 s, max_stale 600 s)",
                f"+1 s: {ours_within}",
                f"+240 s: {ours_within_later}; +600 s: {ours_past}",
            ],
            [
                "powertools (max_age 1 s)",
                f"+0.2 s: {powertools_after}",
                f"+1.4 s: {powertools_later}",
            ],
            [
                "aws-secretsmanager-caching (refresh 1 s)",
                f"+0.2 s: {caching_after}",
                f"+1.4 s: {caching_later}",
            ],
        ],
    )


if __name__ == "__main__":
    main()
