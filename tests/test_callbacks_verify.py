"""``get_callback_auth().verify()``: each scheme accepted as Bandwidth sends it, current and
previous values, and every malformed input refused cleanly (no traceback, no echo)."""

from __future__ import annotations

import array
import asyncio
import collections
import email.message
import json
import traceback
import types
import wsgiref.headers
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import bandwidth_credentials as bc
from bandwidth_credentials import (
    CallbackAuthError,
    CallbackVerification,
    CredentialNotFoundError,
    CredentialsError,
    InvalidCredentialsError,
    Resolver,
)
from bandwidth_credentials.testing import FakeClock, check_no_leaks, find_leaks

from .callback_kit import (
    ACCEPTED,
    ENV,
    OLD_PASSWORD,
    PASSWORD,
    REFUSED,
    SECRETS,
    SUBSCRIPTION_BODY,
    TFV_BODY,
    USER,
    VOICE_BODY,
    Refused,
    Sent,
    basic,
    sent_values,
    subscription_signature,
    tfv_signature,
)
from .helpers import MemoryProvider


def _as_dict(headers: list[tuple[str, str | bytes]]) -> dict[str, str | bytes]:
    """A plain dict, as an application might build one; a repeated header joined with a
    comma, as WSGI servers and Django do."""
    out: dict[str, str | bytes] = {}
    for name, value in headers:
        if name in out:
            previous = out[name]
            joined = previous if isinstance(previous, str) else previous.decode("latin-1")
            out[name] = (
                joined + "," + (value if isinstance(value, str) else value.decode("latin-1"))
            )
        else:
            out[name] = value
    return out


@pytest.fixture
def auth(monkeypatch: pytest.MonkeyPatch) -> bc.CallbackAuth:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return Resolver(["env"]).get_callback_auth()


@pytest.mark.parametrize(
    ("sent", "scheme", "previous"), ACCEPTED, ids=lambda v: getattr(v, "name", "")
)
def test_each_scheme_is_accepted_as_bandwidth_sends_it(
    auth: bc.CallbackAuth, sent: Sent, scheme: str, previous: bool
) -> None:
    verification = auth.verify(dict(sent.headers), sent.body)

    assert verification == CallbackVerification(scheme, (scheme,), previous, None)


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.name)
def test_every_malformed_request_is_refused_without_echo(
    auth: bc.CallbackAuth, case: Refused
) -> None:
    headers = _as_dict(case.headers)

    with pytest.raises(CallbackAuthError) as caught:
        check_no_leaks(lambda: auth.verify(headers, case.body), [*SECRETS, *sent_values(case)])

    error = caught.value
    assert (error.status, error.reason) == (case.status, case.reason)
    assert isinstance(error, CredentialsError)
    assert error.__cause__ is None
    assert error.__context__ is None
    assert find_leaks(error, [*SECRETS, *sent_values(case)]) == []
    # The raising frame keeps nothing the caller sent (error trackers record frame locals).
    library = [
        f
        for f, _ in traceback.walk_tb(error.__traceback__)
        if "/bandwidth_credentials/" in f.f_code.co_filename
    ]
    assert library
    for frame in library:
        assert "headers" not in frame.f_locals
        assert "body" not in frame.f_locals


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda: _multi(wsgiref.headers.Headers([])), id="wsgiref Headers"),
        pytest.param(lambda: _multi(email.message.Message()), id="email Message"),
    ],
)
def test_a_multi_value_mapping_reveals_a_duplicate(auth: bc.CallbackAuth, headers: object) -> None:
    with pytest.raises(CallbackAuthError) as caught:
        auth.verify(headers(), VOICE_BODY)  # type: ignore[operator]

    assert caught.value.reason == "duplicate"


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": basic(), "authorization": basic(password="nope-nope-nope")},
        {"AUTHORIZATION": basic(password="nope-nope-nope"), "Authorization": basic()},
        {"Authorization": basic(), "aUtHoRiZaTiOn": basic()},
        {"Cache-Control": "no-cache", "Authorization": basic(), "authorization": basic()},
    ],
    ids=["right then wrong", "wrong then right", "two right", "with another 13-letter name"],
)
def test_two_spellings_in_a_dict_are_a_duplicate_every_time(
    monkeypatch: pytest.MonkeyPatch, headers: dict[str, str]
) -> None:
    # Basic alone: the configuration verify() answers with one comparison once the
    # credentials are at hand; the answer must not depend on that.
    monkeypatch.setenv("BW_CALLBACK_USERNAME", USER)
    monkeypatch.setenv("BW_CALLBACK_PASSWORD", PASSWORD)
    auth = Resolver(["env"]).get_callback_auth()
    assert auth.verify({"Authorization": basic()}, VOICE_BODY).scheme == "basic"

    reasons = []
    for _ in range(3):
        with pytest.raises(CallbackAuthError) as caught:
            auth.verify(headers, VOICE_BODY)
        reasons.append(caught.value.reason)

    assert reasons == ["duplicate"] * 3


class _Plain(Mapping[str, str]):
    """A read-only mapping that is not a dict (as some frameworks hand headers over)."""

    def __init__(self, items: dict[str, str]) -> None:
        self._items = items

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@pytest.mark.parametrize(
    "make", [collections.OrderedDict, types.MappingProxyType, _Plain], ids=lambda m: m.__name__
)
@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": basic(), "AUTHORIZATION": basic(password="nope-nope-nope")},
        {"Authorization": basic(), "AuthoriZation": basic()},
    ],
    ids=["right then wrong", "two right"],
)
def test_two_spellings_in_any_mapping_are_a_duplicate(
    monkeypatch: pytest.MonkeyPatch, make: Any, headers: dict[str, str]
) -> None:
    monkeypatch.setenv("BW_CALLBACK_USERNAME", USER)
    monkeypatch.setenv("BW_CALLBACK_PASSWORD", PASSWORD)
    auth = Resolver(["env"]).get_callback_auth()

    with pytest.raises(CallbackAuthError) as caught:
        auth.verify(make(headers), VOICE_BODY)

    assert caught.value.reason == "duplicate"


def _multi(headers: wsgiref.headers.Headers | email.message.Message) -> object:
    headers.add_header("authorization", basic())
    headers.add_header("AUTHORIZATION", basic())
    return headers


@pytest.mark.parametrize(
    "name", ["Authorization", "authorization", "AUTHORIZATION", "aUtHoRiZaTiOn"]
)
def test_header_names_are_case_insensitive(auth: bc.CallbackAuth, name: str) -> None:
    assert auth.verify({name: basic()}, b"").scheme == "basic"


def test_odd_header_keys_are_no_error(auth: bc.CallbackAuth) -> None:
    headers = {1: "x", None: "y", ("a",): "z", "Authorization": basic()}

    assert auth.verify(headers, b"").scheme == "basic"  # type: ignore[dict-item]
    with pytest.raises(CallbackAuthError):
        auth.verify({1: "x", b"X-BANDWIDTH-SIGNATURE-SHA-256": b"AAAA"}, b"{}")  # type: ignore[dict-item]


def test_the_basic_scheme_name_is_case_insensitive(auth: bc.CallbackAuth) -> None:
    assert auth.verify({"Authorization": basic(scheme="bAsIc")}, b"").scheme == "basic"


def test_raw_header_bytes_are_read(auth: bc.CallbackAuth) -> None:
    sent = {b"x-bandwidth-signature-hmac-sha256": tfv_signature(b"{}").encode()}

    assert auth.verify(sent, b"{}").scheme == "tfv"  # type: ignore[arg-type]


def test_a_signature_and_basic_together_report_the_hmac(auth: bc.CallbackAuth) -> None:
    headers = {
        "Authorization": basic(),
        "X-Bandwidth-Signature-SHA-256": subscription_signature(b"{}"),
    }

    verification = auth.verify(headers, b"{}")

    assert verification.scheme == "subscriptions"
    assert verification.schemes == ("subscriptions", "basic")


def test_a_header_of_an_unconfigured_scheme_is_not_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BW_CALLBACK_USERNAME", USER)
    monkeypatch.setenv("BW_CALLBACK_PASSWORD", PASSWORD)
    auth = Resolver(["env"]).get_callback_auth()

    with pytest.raises(CallbackAuthError) as caught:
        auth.verify({"x-bandwidth-signature-hmac-sha256": tfv_signature(b"{}")}, b"{}")

    assert (caught.value.status, caught.value.reason) == (401, "missing")
    assert caught.value.www_authenticate == 'Basic realm="Bandwidth callbacks"'


def test_a_previous_value_alone_is_never_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BW_CALLBACK_PREVIOUS_USERNAME", USER)
    monkeypatch.setenv("BW_CALLBACK_PREVIOUS_PASSWORD", OLD_PASSWORD)

    with pytest.raises(CredentialNotFoundError, match=r"callbacks \(shared credentials\)"):
        Resolver(["env"]).get_callback_auth().verify(
            {"Authorization": basic(password=OLD_PASSWORD)}, b""
        )


def test_body_must_be_bytes(auth: bc.CallbackAuth) -> None:
    with pytest.raises(TypeError, match="raw request body"):
        auth.verify({"Authorization": basic()}, VOICE_BODY.decode())  # type: ignore[arg-type]


def test_headers_must_be_a_mapping(auth: bc.CallbackAuth) -> None:
    # An ASGI scope's raw headers, or any list of pairs: a TypeError that says what to pass
    # (not an AttributeError from inside the lookup).
    with pytest.raises(TypeError, match="mapping of header names"):
        auth.verify([("Authorization", basic())], VOICE_BODY)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="mapping of header names"):
        asyncio.run(auth.averify([(b"authorization", basic().encode())], VOICE_BODY))  # type: ignore[arg-type]


def test_max_body_is_configurable(auth: bc.CallbackAuth) -> None:
    with pytest.raises(CallbackAuthError) as caught:
        auth.verify({"Authorization": basic()}, VOICE_BODY, max_body=16)

    assert caught.value.status == 413


def test_averify_answers_as_verify(auth: bc.CallbackAuth) -> None:
    async def both() -> tuple[CallbackVerification, str]:
        ok = await auth.averify({"Authorization": basic()}, b"")
        try:
            await auth.averify({"Authorization": basic(password="x")}, b"")
        except CallbackAuthError as exc:
            return ok, exc.reason
        return ok, "accepted"

    ok, reason = asyncio.run(both())

    assert (ok.scheme, reason) == ("basic", "mismatch")


def test_for_call_gives_the_voice_api_fragment(auth: bc.CallbackAuth) -> None:
    assert auth.for_call() == {"username": USER, "password": PASSWORD}


def test_for_call_needs_the_basic_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BW_WEBHOOK_SECRET", "only-a-webhook-key")

    with pytest.raises(CredentialNotFoundError, match="callback_username"):
        Resolver(["env"]).get_callback_auth().for_call()


def test_repr_shows_no_secret(auth: bc.CallbackAuth) -> None:
    auth.verify({"Authorization": basic()}, b"")

    assert find_leaks([repr(auth), str(auth)], SECRETS) == []


# -- the default resolver, and rotation ---------------------------------------------------


def _write_json(path: Path, values: dict[str, str]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(values))
    tmp.replace(path)


def test_a_rotated_password_is_accepted_without_a_restart(tmp_path: Path) -> None:
    creds = tmp_path / "callbacks.json"
    _write_json(creds, {"callbackUsername": USER, "callbackPassword": OLD_PASSWORD})
    clock = FakeClock()
    bc.configure(resolver=Resolver([f"file:{creds}"], clock=clock, inline=True))
    auth = bc.get_callback_auth()
    assert auth.verify({"Authorization": basic(password=OLD_PASSWORD)}, b"").previous is False

    # 1. the new value is put, the old one kept as the previous value
    _write_json(
        creds,
        {
            "callbackUsername": USER,
            "callbackPassword": PASSWORD,
            "callbackPreviousUsername": USER,
            "callbackPreviousPassword": OLD_PASSWORD,
        },
    )
    clock.advance(6)  # past the file's change check (5 s)
    both = [
        auth.verify({"Authorization": basic(password=p)}, b"").previous
        for p in (PASSWORD, OLD_PASSWORD)
    ]
    # 2. Bandwidth is switched over; 3. the previous value is removed
    _write_json(creds, {"callbackUsername": USER, "callbackPassword": PASSWORD})
    clock.advance(6)

    assert both == [False, True]
    assert auth.verify({"Authorization": basic()}, b"").previous is False
    with pytest.raises(CallbackAuthError):
        auth.verify({"Authorization": basic(password=OLD_PASSWORD)}, b"")


def test_per_application_credentials_fall_back_to_the_shared_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BANDWIDTH_SALES_EU_CALLBACK_USERNAME", "sales")
    monkeypatch.setenv("BANDWIDTH_SALES_EU_CALLBACK_PASSWORD", "sales-pw-1234")
    monkeypatch.setenv("BW_WEBHOOK_SECRET", "shared-webhook-key")
    resolver = Resolver(["env"])

    sales = resolver.get_callback_auth(app="sales-eu")
    other = resolver.get_callback_auth(app="billing")

    assert sales.verify({"Authorization": basic("sales", "sales-pw-1234")}, b"").app == "saleseu"
    assert (
        sales.verify({_SIG: subscription_signature(b"{}", "shared-webhook-key")}, b"{}").scheme
        == "subscriptions"
    )
    with pytest.raises(CallbackAuthError):
        other.verify({"Authorization": basic("sales", "sales-pw-1234")}, b"")


def test_an_application_without_names_of_its_own_is_still_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BW_CALLBACK_USERNAME", USER)
    monkeypatch.setenv("BW_CALLBACK_PASSWORD", PASSWORD)
    billing = Resolver(["env"]).get_callback_auth(app="billing")

    verified = [billing.verify({"Authorization": basic()}, b"") for _ in range(2)]
    asynchronous = asyncio.run(billing.averify({"Authorization": basic()}, b""))

    assert [v.app for v in verified] == ["billing", "billing"]  # cold, then at hand
    assert asynchronous.app == "billing"


def test_no_credentials_for_an_application_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BW_ACCOUNT_ID", "920012")
    billing = Resolver(["env"]).get_callback_auth(app="billing")

    with pytest.raises(CredentialNotFoundError) as caught:
        billing.verify({"Authorization": basic()}, b"")

    assert "application billing" in str(caught.value)
    assert "shared credentials" not in str(caught.value)


_SIG = "X-Bandwidth-Signature-SHA-256"


@pytest.mark.parametrize("app", ["", "-", "caf\xe9"])
def test_an_unusable_application_name_is_a_value_error(app: str) -> None:
    with pytest.raises(ValueError):
        bc.get_callback_auth(app=app)


# -- values as stored ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"tfvWebhookSecret": "too-short"}, "tfv_webhook_secret"),
        ({"tfvWebhookSecret": "x" * 65}, "tfv_webhook_secret"),
        ({"tfvWebhookSecret": "sixteen chars ok\u00e9"}, "tfv_webhook_secret"),
        ({"callbackUsername": "a:b", "callbackPassword": PASSWORD}, "callback_username"),
        ({"callbackUsername": "a", "callbackPassword": PASSWORD + "\u200b"}, "callback_password"),
        ({"webhookSecret": "key\x07bell"}, "webhook_secret"),
    ],
)
def test_an_unusable_value_is_an_error_naming_the_key(values: dict[str, str], field: str) -> None:
    MemoryProvider.stores["cb"] = values

    with pytest.raises(InvalidCredentialsError) as caught:
        Resolver(["mem:cb"]).get_callback_auth().verify({}, b"{}")

    assert caught.value.field == field
    assert find_leaks(caught.value, [v for v in values.values() if len(v) >= 8]) == []


def test_values_are_compared_as_stored() -> None:
    # Surrounding whitespace aside (as for every credential), nothing is rewritten:
    # no interpolation, no unquoting.
    MemoryProvider.stores["cb"] = {"callbackUsername": "u", "callbackPassword": "$HOME'x'"}
    auth = Resolver(["mem:cb"]).get_callback_auth()

    assert auth.verify({"Authorization": basic("u", "$HOME'x'")}, b"").scheme == "basic"


# -- the plain-dict shortcuts answer exactly as the full check, whatever is configured ----

_ALONE = {
    "basic": (
        "BW_CALLBACK_USERNAME",
        "BW_CALLBACK_PASSWORD",
        "BW_CALLBACK_PREVIOUS_USERNAME",
        "BW_CALLBACK_PREVIOUS_PASSWORD",
    ),
    "subscriptions": ("BW_WEBHOOK_SECRET", "BW_WEBHOOK_PREVIOUS_SECRET"),
    "tfv": ("BW_TFV_WEBHOOK_SECRET", "BW_TFV_WEBHOOK_PREVIOUS_SECRET"),
}
_SUB = "X-Bandwidth-Signature-SHA-256"
_SIGNED = subscription_signature(SUBSCRIPTION_BODY)
# Shapes a plain dict can take beyond the shared tables: two spellings of a signature
# header, another key of the same length, a bytes value or key, a body that is not bytes.
_SHAPES = [
    ("two signature spellings", {_SUB: _SIGNED, _SUB.lower(): _SIGNED}, SUBSCRIPTION_BODY),
    ("bytes signature key too", {_SUB: _SIGNED, _SUB.encode(): _SIGNED}, SUBSCRIPTION_BODY),
    (
        "another 29-letter key",
        {_SUB: _SIGNED, "X-Some-Other-Header-Of-29-Chr": "1"},
        SUBSCRIPTION_BODY,
    ),
    ("signature as bytes", {_SUB: _SIGNED.encode()}, SUBSCRIPTION_BODY),
    ("bytearray body", {_SUB: _SIGNED}, bytearray(SUBSCRIPTION_BODY)),
    ("memoryview body", {_SUB: _SIGNED}, memoryview(SUBSCRIPTION_BODY)),
    ("str body", {_SUB: _SIGNED}, SUBSCRIPTION_BODY.decode()),
    ("body over max_body", {_SUB: _SIGNED}, SUBSCRIPTION_BODY + b" " * 100),
    ("padding inside", {_SUB: _SIGNED[:40] + "=AAA"}, SUBSCRIPTION_BODY),
    (
        "uppercase hex",
        {"x-bandwidth-signature-hmac-sha256": tfv_signature(TFV_BODY).upper()},
        TFV_BODY,
    ),
    (
        "bytes Authorization key too",
        {"Authorization": basic(), b"authorization": basic()},
        VOICE_BODY,
    ),
    ("Authorization as bytes", {"Authorization": basic().encode()}, VOICE_BODY),
    ("Authorization with a comma", {"Authorization": basic() + ", " + basic()}, VOICE_BODY),
    ("Basic over max_body", {"Authorization": basic()}, VOICE_BODY + b" " * 100),
    ("signature and a 13-letter key", {"Cache-Control": "no", _SUB: _SIGNED}, SUBSCRIPTION_BODY),
    ("signature and Authorization", {"authorization": basic(), _SUB: _SIGNED}, SUBSCRIPTION_BODY),
    (
        "signature and a wrong Authorization",
        {_SUB: _SIGNED, "AUTHORIZATION": basic(password="nope-nope-nope")},
        SUBSCRIPTION_BODY,
    ),
    (
        "both signatures",
        {_SUB: _SIGNED, "x-bandwidth-signature-hmac-sha256": tfv_signature(SUBSCRIPTION_BODY)},
        SUBSCRIPTION_BODY,
    ),
]
_CASES = [
    *[
        (sent.name + (" previous" if previous else ""), dict(sent.headers), sent.body)
        for sent, _, previous in ACCEPTED
    ],
    *[(case.name, _as_dict(case.headers), case.body) for case in REFUSED],
    *_SHAPES,
]


def _outcome(auth: bc.CallbackAuth, headers: Mapping[Any, Any], body: Any, limit: int) -> object:
    try:
        return auth.verify(headers, body, max_body=limit)
    except CallbackAuthError as exc:
        return (exc.status, exc.reason, exc.scheme, exc.www_authenticate, str(exc))
    except TypeError as exc:
        return ("TypeError", str(exc))


_CONFIGURED = [
    "basic",
    "subscriptions",
    "tfv",
    "basic+subscriptions",
    "basic+tfv",
    "subscriptions+tfv",
    "basic+subscriptions+tfv",
]


@pytest.mark.parametrize("configured", _CONFIGURED)
@pytest.mark.parametrize(("name", "headers", "body"), _CASES, ids=[c[0] for c in _CASES])
def test_a_plain_dict_is_answered_as_any_mapping(
    monkeypatch: pytest.MonkeyPatch, configured: str, name: str, headers: dict[Any, Any], body: Any
) -> None:
    for scheme in configured.split("+"):
        for variable in _ALONE[scheme]:
            monkeypatch.setenv(variable, ENV[variable])
    auth = Resolver(["env"]).get_callback_auth()
    limit = len(SUBSCRIPTION_BODY) + 50 if "over max_body" in name else 1 << 20
    full = _outcome(auth, types.MappingProxyType(headers), body, limit)  # never the shortcut

    answers = [_outcome(auth, headers, body, limit) for _ in range(3)]

    assert answers == [full] * 3


@pytest.mark.parametrize("size", [0, 1, 16, 63, 64, 65, 128, 200])
def test_the_hmac_is_hmac_sha256(size: int) -> None:
    import hashlib
    import hmac

    from bandwidth_credentials._callback_creds import Expected

    key = bytes(range(256))[:size] if size else b""
    expected = Expected(key=key)

    macs = [expected.mac(body) for body in (b"", b"x", SUBSCRIPTION_BODY, bytearray(b"ab"))]

    assert macs == [
        hmac.new(key, bytes(body), hashlib.sha256).digest()
        for body in (b"", b"x", SUBSCRIPTION_BODY, b"ab")
    ]


@pytest.mark.parametrize(
    ("body", "refused"),
    [
        # An array of 4-byte items over max_body bytes, under max_body items.
        (memoryview(array.array("I", SUBSCRIPTION_BODY[:64])), 413),
        (memoryview(SUBSCRIPTION_BODY * 2)[::2], "raw request body"),  # not contiguous
    ],
    ids=["items-not-bytes", "not-contiguous"],
)
def test_a_memoryview_body_is_measured_in_bytes_and_read_whole(
    auth: bc.CallbackAuth, body: memoryview, refused: int | str
) -> None:
    headers = {"X-Bandwidth-Signature-SHA-256": subscription_signature(body.tobytes())}

    if isinstance(refused, int):
        with pytest.raises(CallbackAuthError) as caught:
            auth.verify(headers, body, max_body=len(body))  # type: ignore[arg-type]
        assert caught.value.status == refused
    else:
        with pytest.raises(TypeError, match=refused):
            auth.verify(headers, body)  # type: ignore[arg-type]
    assert auth.verify(headers, memoryview(body.tobytes())).scheme == "subscriptions"
