from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from importlib.metadata import EntryPoint

import pytest

import bandwidth_credentials as bc
import bandwidth_credentials._registry as registry
from bandwidth_credentials import (
    ConfigurationError,
    CredentialNotFoundError,
    Resolver,
    SourceError,
    UnknownServiceError,
    configure,
    get_auth,
)
from bandwidth_credentials.testing import FakeClock

from .helpers import MemoryProvider

GOOD = {
    "accountId": "920012",
    "username": "jdoe",
    "password": "pw",
    "apiToken": "t",
    "apiSecret": "s",
}


@pytest.fixture
def store() -> Iterator[dict[str, object]]:
    values: dict[str, object] = dict(GOOD)
    MemoryProvider.stores["a"] = values
    return values


@pytest.mark.usefixtures("store")
def test_get_auth_builds_every_service() -> None:
    resolver = Resolver(["mem:a"])

    voice = resolver.get_auth("voice")
    messaging = resolver.get_auth("Messaging")
    numbers = resolver.get_auth("NUMBERS")
    account = resolver.get_auth("account-management")

    assert voice.base_url == "https://voice.bandwidth.com/api/v2/accounts/920012"
    assert voice.url("calls") == "https://voice.bandwidth.com/api/v2/accounts/920012/calls"
    assert (
        messaging.url("messages") == "https://messaging.bandwidth.com/api/v2/users/920012/messages"
    )
    assert numbers.base_url == "https://dashboard.bandwidth.com/api/accounts/920012"
    assert account.base_url == "https://dashboard.bandwidth.com/api/accounts/920012"
    assert voice.headers() == {"Authorization": "Basic amRvZTpwdw=="}
    assert messaging.headers() == {"Authorization": "Basic dDpz"}


@pytest.mark.usefixtures("store")
def test_cached_call_is_a_lookup_returning_the_same_object() -> None:
    resolver = Resolver(["mem:a"])

    first = resolver.get_auth("voice")
    second = resolver.get_auth("voice")

    assert first is second
    assert MemoryProvider.fetches == {"a": 1}


@pytest.mark.usefixtures("store")
def test_unknown_service_lists_valid_names() -> None:
    resolver = Resolver(["mem:a"])

    with pytest.raises(UnknownServiceError) as caught:
        resolver.get_auth("fax")

    assert isinstance(caught.value, ValueError)
    assert "voice, messaging, numbers, account" in str(caught.value)


def test_missing_credentials_name_fields_and_sources() -> None:
    MemoryProvider.stores["a"] = {"accountId": "920012"}
    resolver = Resolver(["mem:a", "env"])

    with pytest.raises(CredentialNotFoundError) as caught:
        resolver.get_auth("voice")

    assert caught.value.service == "voice"
    assert caught.value.sources == ("mem:a", "env")
    assert "one of client_id+client_secret, access_token" in str(caught.value)


def test_missing_service_error_does_not_grow_its_traceback() -> None:
    MemoryProvider.stores["a"] = {"accountId": "920012"}
    resolver = Resolver(["mem:a"])
    depths = []

    for _ in range(3):
        try:
            resolver.get_auth("voice")
        except CredentialNotFoundError as exc:
            tb, depth = exc.__traceback__, 0
            while tb is not None:
                tb, depth = tb.tb_next, depth + 1
            depths.append(depth)

    assert depths[0] == depths[1] == depths[2]


def test_failing_required_source_fails_closed() -> None:
    MemoryProvider.stores["low"] = dict(GOOD)
    MemoryProvider.fail["high"] = SourceError("source mem:high: down", source="mem:high")
    resolver = Resolver(["mem:high", "mem:low"])

    with pytest.raises(SourceError) as caught:
        resolver.get_auth("voice")

    assert caught.value.source == "mem:high"


def test_failing_optional_source_is_skipped() -> None:
    MemoryProvider.stores["low"] = dict(GOOD)
    MemoryProvider.fail["high"] = SourceError("source mem:high: down", source="mem:high")
    resolver = Resolver(["mem:high?optional=true", "mem:low"])

    voice = resolver.get_auth("voice")

    assert voice.provenance["username"].source == "mem:low"
    assert "mem:high" in resolver.skipped()[0]


def test_foreign_exception_from_a_provider_is_wrapped_without_its_message() -> None:
    MemoryProvider.fail["a"] = RuntimeError("parse failed near 'hunter2'")
    resolver = Resolver(["mem:a"])

    with pytest.raises(SourceError) as caught:
        resolver.get_auth("voice")

    assert "RuntimeError" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


def test_concurrent_cold_callers_share_one_fetch(store: dict[str, object]) -> None:
    resolver = Resolver(["mem:a"])
    MemoryProvider.gate = gate = threading.Event()
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(resolver.get_auth("voice")))
        for _ in range(32)
    ]

    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(10)

    assert MemoryProvider.fetches == {"a": 1}
    assert len(results) == 32
    assert all(r is results[0] for r in results)


def test_concurrent_callers_share_a_failure_too() -> None:
    MemoryProvider.fail["a"] = SourceError("source mem:a: down", source="mem:a")
    resolver = Resolver(["mem:a"])
    MemoryProvider.gate = gate = threading.Event()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            resolver.get_auth("voice")
        except SourceError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(16)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(10)

    assert len(errors) == 16
    assert MemoryProvider.fetches["a"] < 16


def test_reload_fetches_again_and_serves_new_values(store: dict[str, object]) -> None:
    resolver = Resolver(["mem:a"])
    assert resolver.get_auth("voice").username == "jdoe"
    store["username"] = "rotated"

    assert resolver.get_auth("voice").username == "jdoe"
    resolver.reload()

    assert resolver.get_auth("voice").username == "rotated"
    assert MemoryProvider.fetches == {"a": 2}


def test_failed_reload_keeps_the_previous_credentials(store: dict[str, object]) -> None:
    resolver = Resolver(["mem:a"])
    before = resolver.get_auth("voice")
    MemoryProvider.fail["a"] = SourceError("source mem:a: down", source="mem:a")

    with pytest.raises(SourceError):
        resolver.reload()

    assert resolver.get_auth("voice") is before


@pytest.mark.usefixtures("store")
def test_ttl_option_expires_the_cache() -> None:
    clock = FakeClock(100.0)
    resolver = Resolver(["mem:a?ttl=30"], clock=clock, spawn=lambda work: work())
    resolver.get_auth("voice")

    clock.now = 100.0 + 30 * 0.9 - 0.01  # deadlines carry up to ±10% jitter
    resolver.get_auth("voice")
    assert MemoryProvider.fetches == {"a": 1}
    clock.now = 100.0 + 30 * 1.1
    resolver.get_auth("voice")

    assert MemoryProvider.fetches == {"a": 2}


def test_sources_come_from_the_environment_variable(
    monkeypatch: pytest.MonkeyPatch, store: dict[str, object]
) -> None:
    monkeypatch.setenv("BANDWIDTH_CREDENTIALS_SOURCES", " mem:a , env ")

    voice = get_auth("voice")

    assert [s.uri for s in bc._default._default.sources] == ["mem:a", "env"]  # type: ignore[union-attr]
    assert voice.provenance["password"].source == "mem:a"


def test_default_sources_are_env_then_optional_dotenv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BW_ACCOUNT_ID", "920012")
    monkeypatch.setenv("BW_USERNAME", "jdoe")
    monkeypatch.setenv("BW_PASSWORD", "pw")

    voice = get_auth("voice")

    assert voice.username == "jdoe"
    assert [s.uri for s in bc._default._default.sources] == ["env", "dotenv:.env?optional=true"]  # type: ignore[union-attr]


@pytest.mark.usefixtures("store")
def test_configure_replaces_the_default_resolver() -> None:
    configure(["mem:a"])

    assert get_auth("voice").provenance["username"].source == "mem:a"


@pytest.mark.usefixtures("store")
def test_configure_accepts_a_resolver_object() -> None:
    resolver = Resolver(["mem:a"])

    configure(resolver=resolver)

    assert get_auth("voice") is resolver.get_auth("voice")


@pytest.mark.parametrize(
    ("uri", "package"),
    [
        ("vault:secret/bandwidth/prod", "bandwidth-credentials-vault"),
        ("aws-sm:bandwidth/prod", "bandwidth-credentials-aws"),
        ("aws-ssm:/bandwidth/prod/", "bandwidth-credentials-aws"),
        ("aws-lambda-ext:bandwidth/prod", "bandwidth-credentials-aws"),
    ],
)
def test_missing_plugin_names_the_package(
    monkeypatch: pytest.MonkeyPatch, uri: str, package: str
) -> None:
    scheme = uri.split(":")[0]
    # Not installed: no entry point, and its package does not import.
    monkeypatch.setattr(
        registry, "_entry_points", {k: v for k, v in registry._discover().items() if k != scheme}
    )
    monkeypatch.setattr(registry, "_loaded", {})
    package_module = registry.PLUGIN_PROVIDERS[scheme].split(".")[0]
    for name in [m for m in sys.modules if m.split(".")[0] == package_module]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, package_module, None)  # import raises ImportError

    with pytest.raises(ConfigurationError) as caught:
        Resolver([uri])

    assert f"pip install {package}" in str(caught.value)


def test_unknown_scheme_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Resolver(["nosuch:thing"])

    assert "'nosuch'" in str(caught.value)
    assert "env" in str(caught.value)


def test_broken_plugin_is_skipped_when_listing_and_explained_when_asked_for(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    broken = EntryPoint("broken", "no_such_module_xyz:Provider", registry.GROUP)
    monkeypatch.setattr(registry, "_entry_points", {**registry._discover(), "broken": broken})

    listed = bc.available_providers()
    with pytest.raises(ConfigurationError) as caught:
        Resolver(["broken:x"])

    assert "broken" not in listed
    assert "env" in listed
    assert "ModuleNotFoundError" in str(caught.value)
    assert any("broken" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "uri",
    ["", "   ", "9bad:x", "env?optional", "env?optional=maybe", "env?ttl=-1", "env?a=1&a=2"],
)
def test_malformed_source_lists_are_configuration_errors(uri: str) -> None:
    with pytest.raises(ConfigurationError):
        Resolver(uri).get_auth("voice")


def test_unknown_option_is_rejected_naming_accepted_ones() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Resolver(["env?prefx=APP_"])

    assert "prefx" in str(caught.value)
    assert "prefix" in str(caught.value)


@pytest.mark.usefixtures("store")
def test_service_auth_is_immutable_and_unpicklable() -> None:
    import pickle

    voice = Resolver(["mem:a"]).get_auth("voice")

    with pytest.raises(AttributeError):
        voice.username = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        pickle.dumps(voice)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ((), "https://voice.bandwidth.com/api/v2/accounts/920012"),
        (("calls",), "https://voice.bandwidth.com/api/v2/accounts/920012/calls"),
        (("/calls/", "c-1"), "https://voice.bandwidth.com/api/v2/accounts/920012/calls/c-1"),
        (
            ("calls", 42, "recordings"),
            "https://voice.bandwidth.com/api/v2/accounts/920012/calls/42/recordings",
        ),
    ],
)
def test_url_joins_parts(
    parts: tuple[object, ...], expected: str, store: dict[str, object]
) -> None:
    assert Resolver(["mem:a"]).get_auth("voice").url(*parts) == expected


@pytest.mark.usefixtures("store")
def test_a_chain_that_is_never_due_is_served_without_reading_the_clock() -> None:
    reads = [0]

    def clock() -> float:
        reads[0] += 1
        return 100.0

    resolver = Resolver(["mem:a"], clock=clock, spawn=lambda work: work())
    first = resolver.get_auth("voice")
    after_first = reads[0]

    for _ in range(50):
        assert resolver.get_auth("voice") is first

    assert reads[0] == after_first
    resolver.invalidate()
    resolver.get_auth("voice")
    assert MemoryProvider.fetches == {"a": 2}  # an invalidation still reaches the store


@pytest.mark.usefixtures("store")
def test_a_chain_with_a_deadline_reads_the_clock_on_every_lookup() -> None:
    reads = [0]
    now = [100.0]

    def clock() -> float:
        reads[0] += 1
        return now[0]

    resolver = Resolver(["mem:a?ttl=30"], clock=clock, spawn=lambda work: work())
    resolver.get_auth("voice")
    after_first = reads[0]

    for _ in range(50):
        resolver.get_auth("voice")

    assert reads[0] == after_first + 50
    now[0] = 100.0 + 30 * 1.1
    resolver.get_auth("voice")
    assert MemoryProvider.fetches == {"a": 2}


@pytest.mark.usefixtures("store")
def test_get_auth_follows_the_clock_of_the_configured_resolver() -> None:
    start = 1e12  # past any real monotonic reading: a wrong clock would serve stale
    clock = FakeClock(start)
    bc.configure(resolver=Resolver(["mem:a?ttl=30"], clock=clock, spawn=lambda work: work()))
    get_auth("voice")

    clock.now = start + 30 * 0.9 - 0.01
    get_auth("voice")
    assert MemoryProvider.fetches == {"a": 1}
    clock.now = start + 30 * 1.1
    get_auth("voice")

    assert MemoryProvider.fetches == {"a": 2}
    later = FakeClock(start * 2)  # the next default resolver's clock; the first one's stops at 0
    clock.now = 0.0
    bc.configure(resolver=Resolver(["mem:a?ttl=30"], clock=later, spawn=lambda work: work()))
    get_auth("voice")
    assert MemoryProvider.fetches == {"a": 3}
    later.now = start * 2 + 30 * 1.1
    get_auth("voice")
    assert MemoryProvider.fetches == {"a": 4}


@pytest.mark.usefixtures("store")
def test_a_skipped_source_reads_the_same_after_a_refresh_of_the_others() -> None:
    MemoryProvider.stores["a"] = {"BW_ACCOUNT_ID": "920012"}  # no credentials: not ready
    clock = FakeClock(100.0)
    resolver = Resolver(
        ["mem:a?ttl=30", "mem:gone?optional=true"], clock=clock, spawn=lambda w: w()
    )
    with pytest.raises(CredentialNotFoundError) as first:
        resolver.get_auth("voice")

    clock.now = 100.0 + 30 * 1.1  # only mem:a is due
    with pytest.raises(CredentialNotFoundError) as second:
        resolver.get_auth("voice")

    assert MemoryProvider.fetches == {"a": 2, "gone": 1}
    said = "mem:gone?optional=true (skipped: no such store)"
    assert said in str(first.value)
    assert said in str(second.value)
    assert resolver.skipped() == ("mem:gone?optional=true: no such store",)


def test_the_projects_plugins_resolve_without_reading_entry_points(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(registry, "_loaded", {})
    monkeypatch.setattr(registry, "_entry_points", None)

    classes = {scheme: registry.provider_class(scheme) for scheme in registry.PLUGIN_PROVIDERS}

    assert registry._entry_points is None  # never scanned
    assert {s: f"{c.__module__}:{c.__qualname__}" for s, c in classes.items()} == (
        registry.PLUGIN_PROVIDERS
    )
    registered = {s: ep.value for s, ep in registry._discover().items()}
    assert {s: registered[s] for s in registry.PLUGIN_PROVIDERS} == registry.PLUGIN_PROVIDERS


def test_a_broken_own_plugin_is_explained_by_its_entry_point(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = EntryPoint("vault", "no_such_vault_module:VaultProvider", registry.GROUP)
    monkeypatch.setattr(registry, "_loaded", {})
    monkeypatch.setattr(registry, "_entry_points", {**registry._discover(), "vault": broken})
    monkeypatch.setitem(registry.PLUGIN_PROVIDERS, "vault", "no_such_vault_module:VaultProvider")

    with pytest.raises(ConfigurationError) as caught:
        Resolver(["vault:secret/bw"])

    assert "failed to load: ModuleNotFoundError" in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


def test_the_lookup_path_reads_the_default_resolver_with_its_own_clock() -> None:
    from bandwidth_credentials import _default
    from bandwidth_credentials.testing import reset

    first = Resolver(["env"], clock=lambda: 1.0)
    second = Resolver(["env"], clock=lambda: 2.0)

    bc.configure(resolver=first)
    assert _default._lookup == (first, first._clock)
    bc.configure(resolver=second)
    assert _default._lookup == (second, second._clock)
    reset()
    assert _default._lookup is None


@pytest.mark.usefixtures("store")
def test_other_spellings_are_learned_up_to_a_bound() -> None:
    from bandwidth_credentials._resolver import _SPELLINGS_KEPT

    resolver = Resolver(["mem:a"])
    voice = resolver.get_auth("voice")
    known = len(resolver._cached.by_alias)

    spellings = [" " * n + "Voice" for n in range(1, _SPELLINGS_KEPT * 2)]
    served = {id(resolver.get_auth(spelling)) for spelling in spellings}

    assert served == {id(voice)}
    assert len(resolver._cached.by_alias) == _SPELLINGS_KEPT
    assert known < _SPELLINGS_KEPT
    with pytest.raises(bc.UnknownServiceError):
        resolver.get_auth("Voyce")
    with pytest.raises(TypeError):
        resolver.get_auth(["voice"])  # type: ignore[arg-type]


def test_a_broken_own_plugin_is_run_once_and_reported_with_its_own_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from pathlib import Path

    package = Path(str(tmp_path)) / "broken_vault_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "provider.py").write_text(
        "import builtins\n"
        "builtins.broken_vault_runs = getattr(builtins, 'broken_vault_runs', 0) + 1\n"
        "raise ValueError('the module failed on its first run')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_loaded", {})
    monkeypatch.setitem(registry.PLUGIN_PROVIDERS, "vault", "broken_vault_pkg.provider:Vault")

    with pytest.raises(ConfigurationError) as caught:
        Resolver(["vault:secret/bw"])

    import builtins

    runs = builtins.broken_vault_runs  # type: ignore[attr-defined]
    del builtins.broken_vault_runs  # type: ignore[attr-defined]
    assert runs == 1
    assert "failed to load: ValueError: the module failed on its first run" in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


@pytest.mark.usefixtures("store")
def test_only_plain_strings_are_learned_as_spellings() -> None:
    class Anything(str):
        def __hash__(self) -> int:
            return 0

        def __eq__(self, other: object) -> bool:
            return True

    resolver = Resolver(["mem:a"])
    resolver.get_auth(Anything("Voice"))

    with pytest.raises(bc.UnknownServiceError):
        resolver.get_auth(0)  # type: ignore[arg-type]
