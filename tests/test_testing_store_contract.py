"""The store contract suite, run by pytest itself on a small writable provider.

Each case writes a provider whose ``store()`` keeps a JSON file (its version: a digest of
the file) and its :class:`~bandwidth_credentials.testing.StoreContract` subclass into a
fresh directory and runs pytest there (``pytester``), with the plugin loaded through its
``pytest11`` entry point and ``filterwarnings = error``; a provider broken in one way
fails the contract case that owns that rule.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.test_testing_contract import run

STORE = """
import hashlib
import json
import os
import pytest
from bandwidth_credentials import (
    Fetched, Provider, SourceFormatError, SourceNotFoundError, StoreConflictError,
    StoreNotSupportedError, register_provider, unregister_provider,
)
from bandwidth_credentials.testing import StoreContract


class JsonStore(Provider):
    scheme = "jsonstore"
    options = frozenset({{"readonly"}})

    def _text(self):
        uri = self.source.uri
        try:
            with open(self.source.target, encoding="utf-8") as stream:
                return stream.read()
        except FileNotFoundError:
            pass
        raise SourceNotFoundError(f"source {{uri}}: no such file", source=uri)

    def fetch(self):
        text = self._text()
        problem = None
        try:
            values = json.loads(text)
        except ValueError:
            problem = "not JSON"
        if problem:
            uri = self.source.uri
            raise SourceFormatError(f"source {{uri}}: {{problem}}", source=uri)
        return Fetched(values=values, version=hashlib.sha256(text.encode()).hexdigest()[:12])

    def store_problem(self):
        if self.source.options.get("readonly"):
            return "writing is not supported by this source (readonly=true)"
        return None

    def store(self, values, expected_version):
        uri = self.source.uri
        problem = self.store_problem()
        {read_only}
        found = self.fetch().version
        if {check}expected_version is not None and found != expected_version:
            raise StoreConflictError(
                f"source {{uri}}: version {{found}}, not {{expected_version}}{echo}",
                source=uri, expected=expected_version, found=found,
            )
        text = json.dumps({{k: {value} for k, v in values.items()}})
        temporary = self.source.target + ".tmp"
        with open(temporary, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, self.source.target)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@pytest.fixture(autouse=True)
def _registered():
    register_provider("jsonstore", JsonStore)
    yield
    unregister_provider("jsonstore")


class TestJsonStore(StoreContract):
    scheme = "jsonstore"
    read_only = {{"readonly": "readonly=true"}}

    def location(self):
        return f"jsonstore:{{self.tmp / 'bw.json'}}"

    def seed(self, values):
        (self.tmp / "bw.json").write_text(json.dumps(dict(values)), encoding="utf-8")

    def read(self):
        return json.loads((self.tmp / "bw.json").read_text(encoding="utf-8"))

    def read_only_uri(self, variant, values):
        self.seed(values)
        return f"jsonstore:{{self.tmp / 'bw.json'}}?readonly=true"

    def read_only_state(self, variant):
        return (self.tmp / "bw.json").read_bytes()
"""

REFUSES = """if problem is not None:
            raise StoreNotSupportedError(f"source {uri}: {problem}", source=uri)"""


def store_file(read_only: str = REFUSES, check: str = "", echo: str = "", value: str = "v") -> str:
    return STORE.format(read_only=read_only, check=check, echo=echo, value=value)


def test_a_correct_store_passes_the_whole_contract(pytester: pytest.Pytester) -> None:
    outcomes = run(pytester, store_file())

    assert set(outcomes) >= {
        "test_full_rotation",
        "test_store_refuses_a_stale_version",
        "test_a_read_only_source_is_refused_by_name[readonly]",
        "test_crash_after_each_step_then_rerun[persist]",
        "test_dry_run_touches_nothing",
    }
    assert {name for name, outcome in outcomes.items() if outcome != "PASSED"} == set()


@pytest.mark.parametrize(
    ("source", "failing"),
    [
        pytest.param(
            store_file(check="False and "),
            "test_store_refuses_a_stale_version",
            id="no version check: another writer's change is overwritten",
        ),
        pytest.param(
            store_file(echo=" ({values})"),
            "test_store_refuses_a_stale_version",
            id="the refusal echoes the values it was given",
        ),
        pytest.param(
            store_file(read_only="pass"),
            "test_a_read_only_source_is_refused_by_name[readonly]",
            id="a source that says it is read-only is written anyway",
        ),
        pytest.param(
            store_file(value='v.replace("$", "")'),
            "test_values_are_stored_exactly_as_given[dollar-hash]",
            id="a value is changed on the way in",
        ),
        pytest.param(
            store_file(check="False and "),
            "test_version_race_at_promotion",
            id="no version check: a promotion overwrites another writer",
        ),
    ],
)
def test_a_broken_store_fails_the_contract(
    pytester: pytest.Pytester, source: str, failing: str
) -> None:
    outcomes = run(pytester, textwrap.dedent(source))

    assert outcomes[failing] == "FAILED"
    assert outcomes["test_dry_run_touches_nothing"] == "PASSED"
