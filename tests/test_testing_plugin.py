"""``bandwidth_credentials.testing`` is a pytest plugin that changes nothing unless asked."""

from __future__ import annotations

import importlib.metadata

import pytest

import bandwidth_credentials.testing as testing

PROBE = """
def test_probe(request):
    print("FIXTURES", sorted(request.fixturenames))
"""


def test_public_names_are_pinned() -> None:
    assert sorted(testing.__all__) == [
        "BASIC_DEPRECATION_FILTER",
        "CANARIES",
        "CANARY_PASSWORD",
        "CANARY_SECRET",
        "ConnectProxy",
        "FakeClock",
        "ISOLATED_PREFIXES",
        "LeakFound",
        "LeakWatch",
        "LoopbackServer",
        "Misbehaviour",
        "ProviderContract",
        "Route",
        "STANDARD_VALUES",
        "StoreContract",
        "check_misbehaviour",
        "check_no_leaks",
        "connect_proxy",
        "exception_graph",
        "fetch_failing",
        "find_leaks",
        "forked_during",
        "in_forked_child",
        "jitter_at",
        "reset",
        "serve",
        "today_is",
        "watch_for_leaks",
    ]


def test_registered_as_a_pytest11_entry_point() -> None:
    entry_points = importlib.metadata.entry_points(group="pytest11")

    targets = {entry.name: entry.value for entry in entry_points}

    assert targets.get("bandwidth_credentials") == "bandwidth_credentials.testing"


def test_loading_the_plugin_adds_no_automatic_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_probe=PROBE)

    loaded = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider")
    unloaded = pytester.runpytest_subprocess(
        "-s", "-p", "no:cacheprovider", "-p", "no:bandwidth_credentials"
    )

    with_plugin = [line.partition("FIXTURES")[2] for line in loaded.outlines if "FIXTURES" in line]
    without_plugin = [
        line.partition("FIXTURES")[2] for line in unloaded.outlines if "FIXTURES" in line
    ]
    assert with_plugin == without_plugin
    assert len(with_plugin) == 1


def test_the_plugin_offers_its_fixtures(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--fixtures", "-p", "no:cacheprovider")

    # pytest orders them by location as text ("…:114" before "…:99"): one match each.
    result.stdout.fnmatch_lines(["*bandwidth_isolation*"])
    result.stdout.fnmatch_lines(["*allow_basic_deprecation*"])
