"""The plugin kit, ``bandwidth_credentials.plugin``: its names are pinned, every plugin
(the project's four and the example third-party one) imports nothing private from the
core, and each helper does what its docstring says."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bandwidth_credentials import (
    ConfigurationError,
    Resolver,
    SourceError,
    SourceFormatError,
    SourceNotFoundError,
    SourceUnavailableError,
    parse_source,
)
from bandwidth_credentials import plugin as kit
from bandwidth_credentials.testing import CANARY_PASSWORD, FakeClock
from tests.misbehaving import answer, hang, huge, misbehaving, redirect, trickle

ROOT = Path(__file__).resolve().parent.parent
# Every plugin's sources: the project's own and the example third-party plugin.
PLUGIN_SOURCES = [*sorted(ROOT.glob("plugins/*/src")), ROOT / "examples/provider-plugin/src"]

KIT = {
    "DEFAULT_MAX_SIZE",
    "FILE_MAX_SIZE",
    "KIT_VERSION",
    "TYPE_CHECKING",
    "Any",
    "BadURL",
    "BoundedAdapter",
    "BrokenResponse",
    "ClientHolder",
    "ConfigurationError",
    "ConnectFailed",
    "CredentialsError",
    "Deadline",
    "DeadlineExceeded",
    "ExchangeFailed",
    "ExchangeLog",
    "Fetched",
    "FileText",
    "HttpError",
    "NamedTuple",
    "Protocol",
    "Provider",
    "Response",
    "ResponseTooLarge",
    "SecretFileError",
    "Source",
    "SourceAccessDeniedError",
    "SourceAuthenticationError",
    "SourceError",
    "SourceFormatError",
    "SourceNotFoundError",
    "SourceUnavailableError",
    "StoreConflictError",
    "StoreNotSupportedError",
    "TLSFailed",
    "backoff",
    "bounded_session",
    "decode_fields",
    "display_url",
    "exchange_error",
    "field",
    "fresh",
    "guarded",
    "logger",
    "map_exceptions",
    "max_size_option",
    "origin",
    "parse_retry_after",
    "positive_number",
    "read_file",
    "redact",
    "request",
    "retry_after",
    "source_error",
    "text_option",
    "text_values",
    "time_for",
}


def test_all_lists_exactly_the_kit_names() -> None:
    assert set(kit.__all__) == KIT
    assert len(kit.__all__) == len(KIT)
    for name in kit.__all__:
        assert getattr(kit, name) is not None, name
    assert kit.KIT_VERSION == (1, 2)


def test_the_kit_shares_the_cores_objects() -> None:
    import bandwidth_credentials as bc
    from bandwidth_credentials import _http

    for name in ("Provider", "Source", "Fetched", "SourceError", "ConfigurationError"):
        assert getattr(kit, name) is getattr(bc, name), name
    assert kit.DEFAULT_MAX_SIZE == _http.DEFAULT_MAX_SIZE
    assert kit.HttpError is _http.HttpError


def test_every_kit_callable_has_a_docstring() -> None:
    for name in kit.__all__:
        obj = getattr(kit, name)
        if callable(obj) and not isinstance(obj, str) and name not in ("Any",):
            assert obj.__doc__, name


def _private_imports(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "bandwidth_credentials" and any(p.startswith("_") for p in parts[1:]):
                found.append(f"{path.relative_to(root)}:{node.lineno}: {name}")
                break
    return found


def test_no_plugin_imports_a_private_core_module() -> None:
    offenders = [
        line
        for src in PLUGIN_SOURCES
        for path in sorted(src.rglob("*.py"))
        for line in _private_imports(path)
    ]

    assert offenders == [], "plugins must import the kit, not:\n" + "\n".join(offenders)


def test_the_scan_finds_each_spelling_of_a_private_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from bandwidth_credentials import _http\n"
        "import bandwidth_credentials._files\n"
        "from bandwidth_credentials._typing import Any\n"
        "def f():\n    from bandwidth_credentials._log import logger\n"
        "from bandwidth_credentials import plugin\n"
        "from bandwidth_credentials.plugin import request\n"
    )

    found = [line.split(": ", 1)[1] for line in _private_imports(sample, tmp_path)]

    assert found == [
        "bandwidth_credentials._http",
        "bandwidth_credentials._files",
        "bandwidth_credentials._typing",
        "bandwidth_credentials._log",
    ]


def test_importing_the_kit_loads_no_http_typing_threading_or_logging() -> None:
    code = (
        "import sys\n"
        "import bandwidth_credentials.plugin\n"
        "heavy = ('typing', 'threading', 'logging', 'socket', 'ssl', 'json',\n"
        "         'bandwidth_credentials._http')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_importing_the_core_does_not_load_the_kit() -> None:
    code = (
        "import sys, bandwidth_credentials\nprint('bandwidth_credentials.plugin' in sys.modules)\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.stdout.strip() == "False", result.stderr


# -- the total deadline ------------------------------------------------------------------


def test_a_deadline_caps_each_attempt_and_refuses_one_past_its_end() -> None:
    clock = FakeClock()
    deadline = kit.Deadline(24.0, clock=clock)

    first = deadline.cap(7.0)
    clock.now += 20.0
    second = deadline.cap(7.0)
    clock.now += 4.0

    assert (first, second) == (7.0, 4.0)
    assert deadline.expired
    with pytest.raises(kit.DeadlineExceeded, match="within 24 s"):
        deadline.cap(7.0)


def test_a_request_gets_what_is_left_of_the_deadline() -> None:
    with misbehaving(answer(200, b"{}")) as server:
        clock = FakeClock()
        deadline = kit.Deadline(5.0, clock=clock)
        clock.now += 6.0

        with pytest.raises(kit.DeadlineExceeded):
            kit.request("GET", server.url + "/", timeout=5.0, deadline=deadline)

        assert server.requests == []


def test_the_kit_request_follows_no_redirect() -> None:
    with (
        misbehaving(answer(200, b'{"stolen": true}'), host="127.0.0.2") as other,
        misbehaving(redirect(other.url + "/x", status=307)) as server,
    ):
        got = kit.request("POST", server.url + "/login", body=b"secret_id=1", timeout=5.0)

    assert got.status == 307
    assert other.requests == []


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3600"}, 3600.0),
        ({"retry-after": "0"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_retry_after_is_read_from_any_spelling_of_the_header(
    headers: dict[str, str] | None, expected: float | None
) -> None:
    assert kit.retry_after(headers) == expected


def test_origin_compares_scheme_host_and_port() -> None:
    assert kit.origin("HTTPS://Vault.example/v1") == ("https", "vault.example", 443)
    assert kit.origin("http://127.0.0.1:8200/") != kit.origin("http://127.0.0.2:8200/")


# -- files -------------------------------------------------------------------------------


def test_read_file_returns_the_text_or_the_reason(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("\ufeffhvs.token\n", encoding="utf-8")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    got = kit.read_file(str(token))
    missing = kit.read_file(str(tmp_path / "absent"))
    pipe = kit.read_file(str(fifo))
    big = kit.read_file(str(token), max_size=4)

    assert isinstance(got, kit.FileText)
    assert got.text == "hvs.token\n"
    assert isinstance(missing, kit.SecretFileError)
    assert missing.kind is SourceNotFoundError
    assert isinstance(pipe, kit.SecretFileError)
    assert pipe.kind is SourceFormatError
    assert isinstance(big, kit.SecretFileError)
    assert "hvs" not in big.reason


# -- errors ------------------------------------------------------------------------------


def test_source_error_names_the_source_and_keeps_retry_after() -> None:
    source = parse_source("vault:kv/bw?role=r")

    error = kit.source_error(SourceUnavailableError, source, "sealed (503)", retry_after=30.0)
    config = kit.source_error(ConfigurationError, "vault:kv/bw", "bad option")

    assert str(error) == "source vault:kv/bw?role=***: sealed (503)"
    assert (error.source, error.retry_after) == ("vault:kv/bw?role=***", 30.0)
    assert isinstance(config, ConfigurationError)
    assert config.source == "vault:kv/bw"


def test_map_exceptions_raises_the_mapped_error_with_nothing_chained() -> None:
    def read() -> str:
        raise KeyError(CANARY_PASSWORD)

    table = [((KeyError, IndexError), lambda e: SourceNotFoundError("gone", source="s"))]

    with pytest.raises(SourceNotFoundError) as caught:
        kit.map_exceptions(read, table)

    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    with pytest.raises(ZeroDivisionError):  # unmapped: passes unchanged
        kit.map_exceptions(lambda: 1 // 0, table)


def test_redact_cuts_secrets_control_characters_and_length() -> None:
    text = f"permission denied for {CANARY_PASSWORD}\r\nforged: line" + "x" * 300

    shown = kit.redact(text, [CANARY_PASSWORD, "ab"], limit=60)

    assert CANARY_PASSWORD not in shown
    assert "\n" not in shown
    assert "\r" not in shown
    assert shown.startswith("permission denied for [redacted] forged: line")
    assert len(shown) == 63


# -- options -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("x:y?timeout=0", "'timeout' must be greater than 0"),
        ("x:y?timeout=-1", "'timeout' must be a number"),
        ("x:y?field=", "'field' is empty"),
        ("x:y?field=a%0D%0Ab", "'field' holds a control"),
        ("x:y?field=a%00b", "'field' holds a control"),
        ("x:y?field=%0D%0A", "'field' holds a control"),
    ],
)
def test_option_parsers_refuse_bad_values_without_quoting_them(uri: str, message: str) -> None:
    source = parse_source(uri)

    with pytest.raises(ConfigurationError) as caught:
        kit.positive_number(source, "timeout", 5.0) if "timeout" in uri else kit.field(source)

    assert message in str(caught.value)
    assert "a\r\nb" not in str(caught.value)


# Every text option of every provider, the core's and the plugins': ``{}`` is where the
# value goes. The numbers and flags (timeouts, sizes, ``kv``) are parsed as numbers.
_TEXT_OPTIONS = [
    ("env", "env?prefix={}"),
    ("dotenv", "dotenv:.env?prefix={}"),
    ("file", "file:/run/secrets/bw?format={}"),
    ("band", "band:?profile={}"),
    ("vault", "vault:secret/bw?namespace={}"),
    ("vault", "vault:secret/bw?auth={}"),
    ("vault", "vault:secret/bw?version={}"),
    ("vault", "vault:secret/bw?auth=approle&mount={}"),
    ("vault", "vault:secret/bw?auth=jwt&role=r&jwt_path={}"),
    ("vault", "vault:secret/bw?auth=kubernetes&role={}"),
    ("vault", "vault:secret/bw?auth=aws&header_value={}"),
    ("vault", "vault:secret/bw?auth=aws&region={}"),
    ("aws-sm", "aws-sm:bw?stage={}"),
    ("aws-sm", "aws-sm:bw?version_id={}"),
    ("aws-sm", "aws-sm:bw?region={}"),
    ("aws-sm", "aws-sm:bw?profile={}"),
    ("aws-sm", "aws-sm:bw?field={}"),
    ("aws-ssm", "aws-ssm:/bw/secret?version={}"),
    ("aws-ssm", "aws-ssm:/bw/secret?label={}"),
    ("aws-ssm", "aws-ssm:/bw/secret?region={}"),
    ("aws-ssm", "aws-ssm:/bw/secret?profile={}"),
    ("aws-ssm", "aws-ssm:/bw/secret?field={}"),
    ("aws-lambda-ext", "aws-lambda-ext:bw?stage={}"),
    ("aws-lambda-ext", "aws-lambda-ext:bw?version_id={}"),
    ("aws-lambda-ext", "aws-lambda-ext:bw?region={}"),
    ("aws-lambda-ext", "aws-lambda-ext:bw?field={}"),
    ("aws-lambda-ext", "aws-lambda-ext:bw?fallback={}"),
    ("aws-lambda-ext", "aws-lambda-ext:ssm:/bw/secret?version={}"),
    ("aws-lambda-ext", "aws-lambda-ext:ssm:/bw/secret?label={}"),
    ("aws-lambda-ext", "aws-lambda-ext:ssm:/bw/secret?region={}"),
    ("gcp-sm", "gcp-sm:projects/p/secrets/bw?field={}"),
    ("gcp-sm", "gcp-sm:projects/p/secrets/bw?transport={}"),
    ("gcp-sm", "gcp-sm:projects/p/secrets/bw?endpoint={}"),
    ("azure-kv", "azure-kv:myvault/bw?field={}"),
    ("ini", "ini:/etc/bandwidth.ini?section={}"),
]
_NUMBER_OPTIONS = {
    "ttl",
    "max_stale",
    "optional",
    "interpolate",
    "max_size",
    "check_interval",
    "settle",
    "timeout",
    "connect_timeout",
    "read_timeout",
    "wait",
    "kv",
}


@pytest.mark.parametrize("value", ["a%0AINJECTED", "us-east-1%0D%0AINJECTED: forged", "%0A"])
@pytest.mark.parametrize(("scheme", "template"), _TEXT_OPTIONS)
def test_every_text_option_is_checked_when_the_source_is_parsed(
    scheme: str, template: str, value: str
) -> None:
    uri = template.format(value)

    with pytest.raises(ConfigurationError) as caught:
        Resolver([uri])

    message = str(caught.value)
    assert "holds a control or invisible character" in message
    assert "INJECTED" not in message
    assert message.isprintable()


def test_the_option_table_covers_every_text_option_of_every_provider() -> None:
    from bandwidth_credentials_inifile import IniProvider

    from bandwidth_credentials._registry import BUILTIN, PLUGIN_PROVIDERS

    classes = {"ini": IniProvider}
    for scheme, target in {**BUILTIN, **PLUGIN_PROVIDERS}.items():
        module, name = target.split(":")
        classes[scheme] = getattr(__import__(module, fromlist=[name]), name)
    covered = {
        (scheme, t.split("?")[1].split("&")[-1].split("=")[0]) for scheme, t in _TEXT_OPTIONS
    }

    text_options = {
        (scheme, option)
        for scheme, cls in classes.items()
        for option in cls.options
        if option not in _NUMBER_OPTIONS
    }

    assert text_options == covered


def test_option_parsers_read_good_values() -> None:
    source = parse_source("x:y?timeout=2.5&field=BW_CLIENT_SECRET")

    assert kit.positive_number(source, "timeout", 5.0) == 2.5
    assert kit.field(source) == "BW_CLIENT_SECRET"
    assert kit.field(parse_source("x:y")) is None


def test_decode_fields_takes_an_object_or_one_field() -> None:
    assert kit.decode_fields("x:y", "it", '{"a": "1"}', None) == {"a": "1"}
    assert kit.decode_fields("x:y", "it", CANARY_PASSWORD, "BW_CLIENT_SECRET") == {
        "BW_CLIENT_SECRET": CANARY_PASSWORD
    }
    with pytest.raises(SourceFormatError) as caught:
        kit.decode_fields("x:y", "the value", f'["{CANARY_PASSWORD}"]', None)
    assert CANARY_PASSWORD not in str(caught.value)
    assert "?field=NAME" in str(caught.value)
    assert caught.value.__context__ is None


# -- the client holder -------------------------------------------------------------------


class Client:
    made = 0

    def __init__(self) -> None:
        Client.made += 1
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_the_holder_builds_once_however_many_threads_ask() -> None:
    Client.made = 0
    gate = threading.Event()

    def slow() -> Client:
        gate.wait(10)  # the first build waits while the other threads pile up
        return Client()

    holder = kit.ClientHolder(slow)
    got: list[Client] = []
    threads = [threading.Thread(target=lambda: got.append(holder.get())) for _ in range(8)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(10)

    assert Client.made == 1
    assert len({id(client) for client in got}) == 1


def test_close_closes_and_after_fork_drops_without_closing() -> None:
    holder = kit.ClientHolder(Client)
    first = holder.get()

    holder.after_fork()
    second = holder.get()
    holder.close()

    assert first is not second
    assert not first.closed  # the parent's client is the parent's to close
    assert second.closed
    assert holder.built is None


# -- the requests adapter (kit 1.1) ------------------------------------------------------


def test_importing_the_kit_loads_no_requests_until_the_adapter_is_used() -> None:
    code = (
        "import sys\n"
        "import bandwidth_credentials.plugin as kit\n"
        "log = kit.ExchangeLog()\n"
        "with kit.Deadline(5.0):\n"
        "    kit.time_for(1.0)\n"
        "before = 'requests' in sys.modules\n"
        "kit.BoundedAdapter\n"
        "print(before, 'requests' in sys.modules)\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False True"


def _get(session: object, url: str, **kwargs: object) -> object:
    return session.get(url, **kwargs)  # type: ignore[attr-defined]


def test_the_adapter_bounds_a_trickled_answer_by_one_deadline() -> None:
    body = b'{"value": "' + b"x" * 40 + b'"}'
    with misbehaving(trickle(body, interval=0.1)) as server:
        session = kit.bounded_session(1.0)
        started = time.monotonic()

        with pytest.raises(kit.ExchangeFailed) as caught:
            _get(session, server.url + "/v1/secret", timeout=(30.0, 30.0))

        elapsed = time.monotonic() - started
    assert caught.value.kind == "timeout"
    assert caught.value.host == f"127.0.0.1:{server.port}"
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    assert 0.9 <= elapsed < 2.5  # one deadline for the answer, not 30 s per read


def test_the_adapter_caps_the_answer_and_keeps_the_failure_in_its_log() -> None:
    log = kit.ExchangeLog()
    with misbehaving(huge(300 << 20)) as server:
        session = kit.bounded_session(5.0, tag="token", log=log)

        with pytest.raises(kit.ExchangeFailed) as caught:
            _get(session, server.url + "/token")

    assert caught.value.kind == "too-large"
    assert log.in_flight == ""
    assert log.take() is caught.value
    assert log.take() is None
    assert caught.value.tag == "token"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_the_adapter_follows_no_redirect_to_another_origin(status: int) -> None:
    with (
        misbehaving(answer(200, b'{"stolen": true}'), host="127.0.0.2") as other,
        misbehaving(redirect(other.url + f"/x?token={CANARY_PASSWORD}", status)) as server,
    ):
        for within in (None, server.url):
            session = kit.bounded_session(5.0, follow_within=within)
            with pytest.raises(kit.ExchangeFailed) as caught:
                session.post(server.url + "/login", data=b"secret_id=" + CANARY_PASSWORD.encode())

            assert caught.value.kind == "redirect"
            assert caught.value.status == status
            assert caught.value.location == f"http://127.0.0.2:{other.port}/x"
            assert CANARY_PASSWORD not in str(caught.value)
        assert other.requests == []


def test_the_adapter_hands_back_the_configured_origins_own_redirect() -> None:
    with misbehaving(redirect("/v1/moved", 307), answer(200, b'{"ok": true}')) as server:
        session = kit.bounded_session(5.0, follow_within=server.url)

        got = _get(session, server.url + "/v1/secret")

        targets = [request.target for request in server.requests]
    assert got.json() == {"ok": True}  # type: ignore[attr-defined]
    assert targets == ["/v1/secret", "/v1/moved"]


def test_a_chain_of_the_origins_own_redirects_is_bounded_and_typed() -> None:
    with misbehaving(redirect("/v1/again", 307)) as server:  # to itself, for ever
        log = kit.ExchangeLog()
        session = kit.bounded_session(5.0, follow_within=server.url, tag="vault", log=log)

        with pytest.raises(kit.ExchangeFailed) as caught:
            session.post(server.url + "/v1/login", data=b"secret_id=" + CANARY_PASSWORD.encode())

        hops = len(server.requests)
    assert caught.value.kind == "redirect"
    assert caught.value.tag == "vault"
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    assert log.take() is caught.value
    assert CANARY_PASSWORD not in str(caught.value)
    assert hops == 6  # the first request and 5 redirects followed, no more


def test_mounting_the_adapter_lowers_the_sessions_redirect_limit() -> None:
    import requests

    session = requests.Session()
    kit.BoundedAdapter(5.0, follow_within="http://127.0.0.1:1").mount(session)

    assert session.max_redirects == 5


def test_an_entered_deadline_bounds_every_exchange_in_its_block() -> None:
    with misbehaving(hang()) as server:
        session = kit.bounded_session(30.0)
        started = time.monotonic()

        with kit.Deadline(0.5), pytest.raises(kit.ExchangeFailed) as caught:
            _get(session, server.url + "/")

        elapsed = time.monotonic() - started
    assert caught.value.kind == "timeout"
    assert 0.4 <= elapsed < 2.0


def test_entered_deadlines_nest_and_the_earliest_end_wins() -> None:
    clock = FakeClock()

    assert kit.time_for(7.0) == 7.0
    with kit.Deadline(10.0, clock=clock):
        clock.now += 8.0
        outer_first = kit.time_for(7.0)
        with kit.Deadline(3.0, clock=clock):
            outer_earlier = kit.time_for(7.0)
        with kit.Deadline(1.0, clock=clock):
            inner_earlier = kit.time_for(7.0)
        clock.now += 2.0
        with pytest.raises(kit.DeadlineExceeded):
            kit.time_for(7.0)
    after = kit.time_for(7.0)

    assert (outer_first, outer_earlier, inner_earlier, after) == (2.0, 2.0, 1.0, 7.0)


@pytest.mark.parametrize(
    ("kind", "error", "says"),
    [
        ("too-large", SourceFormatError, "the answer from Store h:1 to secret 'bw' is larger"),
        ("timeout", SourceUnavailableError, "secret 'bw' timed out at Store h:1 (d; timeout 2 s"),
        ("redirect", SourceError, "Store h:1 answered secret 'bw' with d"),
        ("tls", SourceUnavailableError, "TLS with Store h:1 failed for secret 'bw' (d)"),
        ("connect", SourceUnavailableError, "could not reach Store h:1 for secret 'bw' (d)"),
        ("broken", SourceUnavailableError, "could not reach Store h:1 for secret 'bw' (d)"),
        ("request", SourceError, "secret 'bw' was not sent to Store h:1 (d)"),
    ],
)
def test_exchange_error_words_each_kind_once(
    kind: str, error: type[SourceError], says: str
) -> None:
    made = kit.exchange_error(
        "x:bw", kind, "d", peer="Store h:1", subject="secret 'bw'", timeout=2.0
    )

    assert type(made) is error
    assert str(made).startswith(f"source x:bw: {says}")
    assert made.source == "x:bw"


# -- retry waits -------------------------------------------------------------------------


def test_backoff_is_a_random_half_to_all_of_a_doubling_window() -> None:
    waits = [[kit.backoff(attempt, 0.25) for attempt in (1, 2, 3)] for _ in range(50)]

    for first, second, third in waits:
        assert 0.125 <= first <= 0.25
        assert 0.25 <= second <= 0.5
        assert 0.5 <= third <= 1.0
    assert len({round(w[0], 6) for w in waits}) > 1  # jittered


def test_backoff_draws_from_os_urandom_not_the_random_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import random

    random.seed(20261207)
    monkeypatch.setattr(os, "urandom", lambda n: b"\x00" * n)
    low = kit.backoff(2, 0.25)
    monkeypatch.setattr(os, "urandom", lambda n: b"\xff" * n)
    high = kit.backoff(2, 0.25)
    monkeypatch.undo()

    assert (low, high) == (pytest.approx(0.25), pytest.approx(0.5))


def test_jitter_at_pins_the_draw_and_restores_it() -> None:
    from bandwidth_credentials.testing import jitter_at

    with jitter_at(0.0):
        pinned = [kit.backoff(1, 1.0), kit.backoff(2, 1.0)]
    with pytest.raises(ValueError, match="within"), jitter_at(2.0):
        pass

    assert pinned == [pytest.approx(0.5), pytest.approx(1.0)]
