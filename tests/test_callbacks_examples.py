"""The callback examples (examples/callbacks) accept Bandwidth's requests and refuse others,
and the README's curl recipe (``bwcreds callback sign``) produces a header they accept."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

import bandwidth_credentials as bc

from .callback_kit import PASSWORD, TFV_SECRET, USER, basic, subscription_signature, tfv_signature
from .test_examples import BWCREDS, ROOT, clean_env

ORDERS_KEY = "orders-subscription-key-7f3a"


def _load(name: str) -> ModuleType:
    path = ROOT / "examples" / "callbacks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"callback_example_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BW_CALLBACK_USERNAME", USER)
    monkeypatch.setenv("BW_CALLBACK_PASSWORD", PASSWORD)
    monkeypatch.setenv("BW_ORDERS_WEBHOOK_SECRET", ORDERS_KEY)
    monkeypatch.setenv("BW_TFV_WEBHOOK_SECRET", TFV_SECRET)
    bc.configure(["env"])


def test_the_flask_example() -> None:
    client = _load("flask_app").app.test_client()
    voice = b'{"eventType":"initiate","callId":"c-1"}'
    order = b'{"orderId":"o-1","status":"COMPLETE"}'

    answered = client.post("/callbacks/voice", data=voice, headers={"Authorization": basic()})
    refused = client.post(
        "/callbacks/voice", data=voice, headers={"Authorization": basic(password="x")}
    )
    signed = {"X-Bandwidth-Signature-SHA-256": subscription_signature(order, ORDERS_KEY)}
    order_answer = client.post("/callbacks/orders", data=order, headers=signed)

    assert answered.status_code == 200
    assert b"<SpeakSentence>" in answered.data
    assert refused.status_code == 401
    assert order_answer.status_code == 204


def test_the_flask_example_logs_what_it_received(caplog: pytest.LogCaptureFixture) -> None:
    # Flask's app.logger shows INFO only in debug mode unless the example sets its level;
    # run as its docstring says, the example must show the events it verified.
    client = _load("flask_app").app.test_client()
    order = b'{"orderId":"o-1","status":"COMPLETE"}'
    signed = {"X-Bandwidth-Signature-SHA-256": subscription_signature(order, ORDERS_KEY)}

    answer = client.post("/callbacks/orders", data=order, headers=signed)

    assert answer.status_code == 204
    assert "order o-1 is COMPLETE (subscriptions)" in caplog.text


def test_the_fastapi_example() -> None:
    from fastapi.testclient import TestClient

    client = TestClient(_load("fastapi_app").api)
    messages = b'[{"type":"message-delivered","message":{"id":"m-1"}}]'
    tfv = b'{"phoneNumber":"+18005551234","status":"VERIFIED"}'

    answered = client.post(
        "/callbacks/messaging", content=messages, headers={"Authorization": basic()}
    )
    refused = client.post("/callbacks/messaging", content=messages)
    tfv_answer = client.post(
        "/callbacks/tfv",
        content=tfv,
        headers={"x-bandwidth-signature-hmac-sha256": tfv_signature(tfv)},
    )
    forged = client.post(
        "/callbacks/tfv",
        content=tfv,
        headers={"x-bandwidth-signature-hmac-sha256": tfv_signature(tfv + b" ")},
    )

    assert answered.status_code == 204
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Basic realm="Bandwidth callbacks"'
    assert tfv_answer.status_code == 204
    assert forged.status_code == 403


# The README's recipe, as a reader copies it, for the Flask example's /callbacks/orders.
RECIPE = (
    'curl -H "$(bwcreds callback sign --scheme subscriptions --app orders < order.json)" '
    "-H 'Content-Type: application/json' --data-binary @order.json "
    "http://127.0.0.1:8080/callbacks/orders"
)


def test_the_readme_quotes_the_recipe_run_here() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")

    assert RECIPE in readme


def test_the_readme_signing_recipe(tmp_path: Path) -> None:
    body = tmp_path / "order.json"
    body.write_bytes(json.dumps({"orderId": "o-1", "status": "COMPLETE"}).encode())

    # bwcreds callback sign --scheme subscriptions --app orders < order.json
    with body.open("rb") as stdin:
        result = subprocess.run(
            [BWCREDS, "callback", "sign", "--scheme", "subscriptions", "--app", "orders"],
            stdin=stdin,
            capture_output=True,
            text=True,
            env=clean_env(BW_ORDERS_WEBHOOK_SECRET=ORDERS_KEY),
            check=False,
        )
    name, _, value = result.stdout.strip().partition(": ")
    client = _load("flask_app").app.test_client()
    answer = client.post("/callbacks/orders", data=body.read_bytes(), headers={name: value})

    assert result.returncode == 0, result.stderr
    assert answer.status_code == 204
