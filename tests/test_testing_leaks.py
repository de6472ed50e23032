"""The leak harness finds a planted canary in every channel, says where, and passes clean runs."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import warnings
from collections.abc import Callable

import pytest

from bandwidth_credentials import SourceFormatError
from bandwidth_credentials.testing import (
    CANARY_PASSWORD,
    CANARY_SECRET,
    LeakFound,
    check_no_leaks,
    exception_graph,
    find_leaks,
    watch_for_leaks,
)


def translated_json_error() -> None:
    try:
        json.loads('{"password": "' + CANARY_PASSWORD)
    except ValueError:
        raise SourceFormatError("source x: not JSON", source="x") from None


def translated_decode_error() -> None:
    try:
        (b"\xff" + CANARY_SECRET.encode()).decode("utf-8")
    except UnicodeDecodeError:
        raise SourceFormatError("source x: not UTF-8", source="x") from None


def log_to_a_quiet_sdk_logger() -> None:
    logger = logging.getLogger("hvac")
    logger.setLevel(logging.WARNING)
    try:
        logger.debug("response body: %s", {"data": {"password": CANARY_PASSWORD}})
    finally:
        logger.setLevel(logging.NOTSET)


def log_to_a_logger_that_does_not_propagate() -> None:
    logger = logging.getLogger("bwcreds-test.isolated")
    logger.propagate = False
    try:
        logger.debug("token=%s", CANARY_SECRET)
    finally:
        logger.propagate = True


def log_a_basic_header() -> None:
    header = base64.b64encode(f"jdoe:{CANARY_PASSWORD}".encode()).decode()
    logging.getLogger("urllib3").debug("send: Authorization: Basic %s", header)


def log_an_exception() -> None:
    try:
        raise KeyError(CANARY_SECRET)
    except KeyError:
        logging.getLogger("botocore").debug("request failed", exc_info=True)


def log_an_extra_field() -> None:
    logging.getLogger("httpx").info("sent", extra={"auth": ("jdoe", CANARY_PASSWORD)})


def warn() -> None:
    warnings.warn(f"bad value {CANARY_PASSWORD!r}", UserWarning, stacklevel=1)


def write_to_file_descriptor_1() -> None:
    os.write(1, CANARY_SECRET.encode() + b"\n")


def child_process_writes_to_stderr() -> None:
    code = f"import sys; sys.stderr.write({CANARY_PASSWORD!r})"
    subprocess.run([sys.executable, "-c", code], check=True)


class Holder:
    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value


def raise_with_a_slot_attribute() -> None:
    raise RuntimeError("failed", Holder([{"nested": CANARY_SECRET.encode()}]))


LEAKS: list[tuple[str, Callable[[], object], str]] = [
    ("json error left as __context__", translated_json_error, "exception.__context__.doc"),
    ("bytes left as __context__", translated_decode_error, "exception.__context__.object"),
    ("debug record of a quiet logger", log_to_a_quiet_sdk_logger, "log record of 'hvac' (DEBUG)"),
    (
        "logger that does not propagate",
        log_to_a_logger_that_does_not_propagate,
        "'bwcreds-test.isolated'",
    ),
    ("base64 in a Basic header", log_a_basic_header, "log record of 'urllib3'"),
    ("exception attached to a record", log_an_exception, ".exc_info[1]"),
    ("extra field of a record", log_an_extra_field, "(INFO).auth[1]"),
    ("warning", warn, "warning UserWarning"),
    ("print", lambda: print(CANARY_PASSWORD), "stdout"),
    ("sys.stderr", lambda: sys.stderr.write(CANARY_SECRET), "stderr"),
    ("file descriptor 1", write_to_file_descriptor_1, "stdout"),
    ("child process stderr", child_process_writes_to_stderr, "stderr"),
    ("slot of an object in args", raise_with_a_slot_attribute, "exception.args[1].value[0]"),
    ("exception text", lambda: int(CANARY_PASSWORD), "str(exception)"),
]


@pytest.mark.parametrize(
    ("action", "where"), [case[1:] for case in LEAKS], ids=[c[0] for c in LEAKS]
)
def test_a_planted_canary_is_found_and_located(action: Callable[[], object], where: str) -> None:
    with pytest.raises(LeakFound) as caught:
        check_no_leaks(action)

    message = str(caught.value)
    assert where in message
    assert CANARY_PASSWORD not in message
    assert CANARY_SECRET not in message
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None


def test_the_exception_graph_gives_each_object_once_and_text_on_each_path() -> None:
    inner = ValueError("inner", {"key": b"raw"})
    outer = KeyError("outer")
    outer.__cause__ = inner
    outer.__context__ = inner

    found = list(exception_graph(outer))

    assert [path for path, value in found if value is inner] == ["exception.__cause__"]
    assert ("exception.__cause__.args[1]['key']", b"raw") in found
    assert ("exception.args[0]", "outer") in found


def test_a_clean_run_returns_the_result_and_lets_output_through(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def clean() -> int:
        print("hello")
        logging.getLogger("hvac").debug("GET %s", "/v1/secret/data/bw")
        return 42

    result = check_no_leaks(clean)

    assert result == 42
    assert capsys.readouterr().out == "hello\n"


def test_a_clean_exception_propagates_unchanged() -> None:
    error = SourceFormatError("source x: not JSON", source="x")

    def fail() -> None:
        raise error

    with pytest.raises(SourceFormatError) as caught:
        check_no_leaks(fail)

    assert caught.value is error


def test_real_handlers_get_only_what_the_levels_let_through() -> None:
    hvac = logging.getLogger("hvac")
    hvac.setLevel(logging.ERROR)
    received: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: received.append(record.getMessage())  # type: ignore[method-assign]
    hvac.addHandler(handler)

    try:
        with watch_for_leaks(fd=False) as watch:
            hvac.debug("quiet")
            hvac.error("loud")
    finally:
        hvac.removeHandler(handler)
        hvac.setLevel(logging.NOTSET)

    assert [record.getMessage() for record in watch.records] == ["quiet", "loud"]
    assert received == ["loud"]
    assert not hvac.isEnabledFor(logging.DEBUG)


def test_a_warning_is_seen_even_when_the_caller_ignores_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")

        with pytest.raises(LeakFound) as caught:
            check_no_leaks(warn)

    assert "warning UserWarning" in str(caught.value)


def test_clean_warnings_still_meet_the_outer_filters() -> None:
    with pytest.warns(UserWarning, match="nothing secret"):
        check_no_leaks(lambda: warnings.warn("nothing secret", UserWarning, stacklevel=1))


def test_the_context_manager_exposes_what_it_captured() -> None:
    with watch_for_leaks(fd=False) as watch:
        logging.getLogger("azure").debug("token request to %s", "https://login.example")
        print("done")

    assert [record.name for record in watch.records] == ["azure"]
    assert watch.stdout == "done\n"
    assert watch.exception is None


def test_cycles_and_custom_canaries() -> None:
    error = ValueError("outer")
    error.loop = error  # type: ignore[attr-defined]
    error.payload = {"self": error, "token": ["tok-" + "0123456789"]}  # type: ignore[attr-defined]

    found = find_leaks(error, ["tok-0123456789"])

    assert found == ["value.payload['token'][0]"]


@pytest.mark.parametrize("canaries", [[], ["short"]])
def test_canaries_must_be_distinctive(canaries: list[str]) -> None:
    with pytest.raises(ValueError, match="at least 8 characters"):
        find_leaks("x", canaries)
