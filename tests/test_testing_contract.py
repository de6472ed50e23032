"""The contract suite and the pytest plugin, run by pytest itself on small provider test files.

Each case writes a provider and its contract subclass into a fresh directory and runs
pytest there (``pytester``), with the plugin loaded through its ``pytest11`` entry point
and ``filterwarnings = error``, then reads the outcome of each contract test.
"""

from __future__ import annotations

import textwrap

import pytest

PROVIDER = """
import json
import pytest
from bandwidth_credentials import (
    Fetched, Provider, SourceError, SourceFormatError, SourceNotFoundError,
    register_provider, unregister_provider,
)
from bandwidth_credentials.testing import ProviderContract

CLEANED = []


class JsonProvider(Provider):
    scheme = "jsonfile"

    def fetch(self):
        uri = self.source.uri
        try:
            with open(self.source.target, encoding="utf-8") as stream:
                text = stream.read()
        except FileNotFoundError:
            raise {missing_error}(f"source {{uri}}: no such file", source=uri) from None
        {parse}
        return Fetched(values={values})


@pytest.fixture(autouse=True)
def _registered():
    register_provider("jsonfile", JsonProvider)
    yield
    unregister_provider("jsonfile")


class TestJsonContract(ProviderContract):
    scheme = "jsonfile"

    def store(self, values):
        path = self.tmp / "bw.json"
        path.write_text(json.dumps(dict(values)), encoding="utf-8")
        return f"jsonfile:{{path}}"

    def missing_uri(self):
        return f"jsonfile:{{self.tmp / 'absent.json'}}"

    def malformed_uri(self, values):
        path = self.tmp / "broken.json"
        path.write_text(json.dumps(dict(values))[:-1], encoding="utf-8")
        return f"jsonfile:{{path}}"

    def cleanup(self):
        CLEANED.append(self.tmp)


def test_cleanup_ran_after_every_contract_test():
    assert len(CLEANED) == len(set(CLEANED)) >= 10
"""

CLEAN_PARSE = """problem = None
        try:
            values = json.loads(text)
        except ValueError:
            problem = "not JSON"
        if problem:
            raise SourceFormatError(f"source {uri}: {problem}", source=uri)"""

# Raising inside the except block leaves the JSONDecodeError, document and all, as
# __context__ even with "from None".
LEAKY_PARSE = """try:
            values = json.loads(text)
        except ValueError:
            raise SourceFormatError(f"source {uri}: not JSON", source=uri) from None"""


def provider_file(
    parse: str = CLEAN_PARSE, missing_error: str = "SourceNotFoundError", values: str = "values"
) -> str:
    return PROVIDER.format(parse=parse, missing_error=missing_error, values=values)


def run(pytester: pytest.Pytester, source: str) -> dict[str, str]:
    """Run ``source`` as a test file; map each test name to its outcome."""
    pytester.makepyfile(test_provider=textwrap.dedent(source))
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    result = pytester.runpytest_subprocess("-rA", "-p", "no:cacheprovider")
    outcomes: dict[str, str] = {}
    for line in result.outlines:
        word, _, rest = line.partition(" ")
        if word in ("PASSED", "FAILED", "SKIPPED", "ERROR") and "::" in rest:
            outcomes[rest.split("::")[-1].split(" ")[0]] = word
    return outcomes


def test_a_correct_provider_passes_and_unimplemented_hooks_are_skipped(
    pytester: pytest.Pytester,
) -> None:
    outcomes = run(pytester, provider_file())

    assert set(outcomes) >= {
        "test_close_may_be_called_twice_before_and_after_a_fetch",
        "test_current_version_of_a_missing_source_is_a_version_or_a_source_error",
        "test_cleanup_ran_after_every_contract_test",
    }
    failed = {name for name, outcome in outcomes.items() if outcome != "PASSED"}
    assert failed == set()


def test_skipped_hooks_name_themselves(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_provider=textwrap.dedent(provider_file()))
    pytester.makeini("[pytest]\nfilterwarnings = error\n")

    result = pytester.runpytest_subprocess("-rs", "-p", "no:cacheprovider")

    result.stdout.fnmatch_lines(
        [
            "*TestJsonContract does not implement denied_uri(values)*",
            "*TestJsonContract does not implement unreadable_uri(values)*",
        ]
    )


@pytest.mark.parametrize(
    ("source", "failing"),
    [
        pytest.param(
            provider_file(parse=LEAKY_PARSE),
            "test_malformed_source_is_a_format_error",
            id="raised inside except: the document stays reachable as __context__",
        ),
        pytest.param(
            provider_file(missing_error="SourceError"),
            "test_missing_source_is_an_error",
            id="a missing source raises a plain SourceError",
        ),
        pytest.param(
            provider_file(values="{k.lower(): v for k, v in values.items()}"),
            "test_fetch_returns_the_stored_keys_and_values",
            id="keys lowercased as configparser does by default",
        ),
    ],
)
def test_a_broken_provider_fails_the_contract(
    pytester: pytest.Pytester, source: str, failing: str
) -> None:
    outcomes = run(pytester, source)

    assert outcomes[failing] == "FAILED"
    assert outcomes["test_unknown_option_is_a_configuration_error"] == "PASSED"


def test_the_leak_failure_names_the_place_not_the_secret(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_provider=textwrap.dedent(provider_file(parse=LEAKY_PARSE)))

    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-k", "malformed", "--tb=short"
    )

    result.stdout.fnmatch_lines(
        ["*LeakFound: secret canary found:*", "*exception.__context__.doc*"]
    )
    assert "DO-NOT-LEAK" not in result.stdout.str()


FIXTURES = """
import os
import pytest
from bandwidth_credentials import get_auth
from bandwidth_credentials.testing import BASIC_DEPRECATION_FILTER

# What a developer's shell might export; the isolation fixture must hide it.
os.environ["BW_USERNAME"] = "developer"
os.environ["BANDWIDTH_CREDENTIALS_SOURCES"] = "vault:secret/bw"


@pytest.fixture
def basic_env(monkeypatch):
    monkeypatch.setenv("BW_ACCOUNT_ID", "920012")
    monkeypatch.setenv("BW_USERNAME", "jdoe")
    monkeypatch.setenv("BW_PASSWORD", "pw")


@pytest.mark.usefixtures("bandwidth_isolation")
def test_isolated_sees_no_developer_settings():
    assert not [name for name in os.environ if name.startswith(("BW_", "BANDWIDTH_"))]
    assert os.listdir(".") == []


@pytest.mark.usefixtures("bandwidth_isolation", "basic_env", "allow_basic_deprecation")
def test_basic_credentials_with_the_fixture():
    assert get_auth("voice").username == "jdoe"


@pytest.mark.usefixtures("bandwidth_isolation", "basic_env")
@pytest.mark.filterwarnings(BASIC_DEPRECATION_FILTER)
def test_basic_credentials_with_the_marker():
    assert get_auth("voice").username == "jdoe"


@pytest.mark.usefixtures("bandwidth_isolation", "basic_env")
def test_basic_credentials_without_either_fail_under_error():
    with pytest.raises(Warning, match="decommission"):
        get_auth("voice")
"""


def test_plugin_fixtures_isolate_and_filter_the_basic_notice(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_fixtures=FIXTURES)
    pytester.makeini("[pytest]\nfilterwarnings = error\n")

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=4)
