"""Bandwidth's callbacks in FastAPI, verified with the credentials from your sources.

    pip install '.[fastapi]' uvicorn
    export BW_CALLBACK_USERNAME=bw-callbacks BW_CALLBACK_PASSWORD='a long random password'
    export BW_TFV_WEBHOOK_SECRET='the sharedSecretKey of the TFV webhook subscription'
    uvicorn --app-dir examples/callbacks fastapi_app:api --port 8080

Voice and messaging applications send the Basic pair set on the application in the
Bandwidth App; the Toll-Free Verification webhook subscription signs its webhooks with
the ``sharedSecretKey`` given when it was created (``BW_TFV_WEBHOOK_SECRET``).
"""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request, Response

from bandwidth_credentials import CallbackVerification
from bandwidth_credentials.callbacks.fastapi import verify_callback

api = FastAPI()


@api.post("/callbacks/messaging")
async def messaging_callback(
    request: Request,
    verified: CallbackVerification = Depends(verify_callback),  # noqa: B008 - FastAPI's idiom
) -> Response:
    for event in await request.json():  # the body, read once and verified
        print(f"message {event['message']['id']}: {event['type']} ({verified.scheme})")
    return Response(status_code=204)


@api.post("/callbacks/tfv")
async def tfv_webhook(
    request: Request,
    verified: CallbackVerification = Depends(verify_callback(max_body=64 * 1024)),  # noqa: B008
) -> Response:
    event = await request.json()
    print(f"toll-free {event['phoneNumber']} is {event['status']} ({verified.scheme})")
    return Response(status_code=204)
