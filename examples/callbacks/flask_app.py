"""Bandwidth's callbacks in Flask, verified with the credentials from your sources.

    pip install '.[flask]'
    export BW_CALLBACK_USERNAME=bw-callbacks BW_CALLBACK_PASSWORD='a long random password'
    export BW_ORDERS_WEBHOOK_SECRET='the Subscriptions 2.0 key of the "orders" subscription'
    flask --app examples/callbacks/flask_app.py run --port 8080

Voice and messaging applications send the Basic pair set on the application in the
Bandwidth App (``BW_CALLBACK_USERNAME``/``BW_CALLBACK_PASSWORD``); the Subscriptions 2.0
webhooks of the application "orders" are signed with ``BW_ORDERS_WEBHOOK_SECRET``.
"""

from __future__ import annotations

import logging

from flask import Flask, g, request

from bandwidth_credentials.callbacks.flask import verify_callback

app = Flask(__name__)
app.logger.setLevel(logging.INFO)  # Flask shows INFO only in debug mode otherwise


@app.post("/callbacks/voice")
@verify_callback
def voice_callback() -> tuple[str, int, dict[str, str]]:
    event = request.get_json(force=True)  # the body, read once and verified
    app.logger.info("voice %s for call %s", event.get("eventType"), event.get("callId"))
    bxml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        "<Response><SpeakSentence>Hello</SpeakSentence></Response>"
    )
    return bxml, 200, {"Content-Type": "application/xml"}


@app.post("/callbacks/orders")
@verify_callback(app="orders", max_body=64 * 1024)
def order_webhook() -> tuple[str, int]:
    event = request.get_json(force=True)
    app.logger.info(
        "order %s is %s (%s)",
        event.get("orderId"),
        event.get("status"),
        g.bandwidth_callback.scheme,
    )
    return "", 204
