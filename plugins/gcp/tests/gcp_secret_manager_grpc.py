"""The gRPC side of the loopback Secret Manager (see ``gcp_secret_manager_server``).

``AccessSecretVersion`` and ``AddSecretVersion`` of
``google.cloud.secretmanager.v1.SecretManagerService``
(https://cloud.google.com/secret-manager/docs/reference/rpc/google.cloud.secretmanager.v1#secretmanagerservice),
served from a :class:`SecretStore` with the client's own protobuf types; a failure is
the store's canonical status code with its message (and a ``google.rpc.RetryInfo``
detail when the store has a ``retry_delay``), as the service answers. Only the
``authorization`` metadata is read. No other RPC is implemented.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from typing import Any

import grpc
from gcp_secret_manager_server import ApiError, SecretStore
from google.cloud.secretmanager_v1 import (
    AccessSecretVersionRequest,
    AccessSecretVersionResponse,
    AddSecretVersionRequest,
    SecretVersion,
)
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

SERVICE = "google.cloud.secretmanager.v1.SecretManagerService"


def _grpc_access(store: SecretStore) -> Any:
    def access(request: AccessSecretVersionRequest, context: grpc.ServicerContext) -> Any:
        metadata = dict(context.invocation_metadata())
        if store.delay:
            threading.Event().wait(store.delay)
        try:
            name, data, crc = store.access(request.name, metadata.get("authorization"))
        except ApiError as exc:
            if exc.retry_delay is None:
                context.abort(grpc.StatusCode[exc.status], exc.message)
            detail = any_pb2.Any()
            detail.Pack(error_details_pb2.RetryInfo(retry_delay={"seconds": exc.retry_delay}))
            code = grpc.StatusCode[exc.status].value[0]
            status = status_pb2.Status(code=code, message=exc.message, details=[detail])
            context.abort_with_status(rpc_status.to_status(status))
        return AccessSecretVersionResponse(name=name, payload={"data": data, "data_crc32c": crc})

    return access


def _grpc_add(store: SecretStore) -> Any:
    def add(request: AddSecretVersionRequest, context: grpc.ServicerContext) -> Any:
        metadata = dict(context.invocation_metadata())
        payload = request.payload
        crc = payload.data_crc32c if "data_crc32c" in payload else None
        try:
            name = store.add_version(
                request.parent, bytes(payload.data), crc, metadata.get("authorization")
            )
        except ApiError as exc:
            context.abort(grpc.StatusCode[exc.status], exc.message)
        return SecretVersion(name=name, state=SecretVersion.State.ENABLED)

    return add


@contextmanager
def grpc_server(store: SecretStore, tls: tuple[bytes, bytes] | None) -> Iterator[int]:
    """Serve gRPC on 127.0.0.1, over TLS with ``(key_pem, cert_chain_pem)`` or in plaintext
    (behind a proxy that terminates TLS); yields the port."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    handler = grpc.unary_unary_rpc_method_handler(
        _grpc_access(store),
        request_deserializer=AccessSecretVersionRequest.deserialize,
        response_serializer=AccessSecretVersionResponse.serialize,
    )
    add = grpc.unary_unary_rpc_method_handler(
        _grpc_add(store),
        request_deserializer=AddSecretVersionRequest.deserialize,
        response_serializer=SecretVersion.serialize,
    )
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                SERVICE, {"AccessSecretVersion": handler, "AddSecretVersion": add}
            ),
        )
    )
    if tls is None:
        port = server.add_insecure_port("127.0.0.1:0")
    else:
        port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials([tls]))
    server.start()
    try:
        yield port
    finally:
        server.stop(grace=None).wait(5)
