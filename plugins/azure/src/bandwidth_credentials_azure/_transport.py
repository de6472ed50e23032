"""The Azure SDK's HTTP transport, bounded: what ``azure-kv`` hands the official client.

azure-core accepts a transport (``transport=``, an ``HttpTransport``) and a retry policy;
the policy is ours, and it is the plugin kit's. The transport is azure-core's own
``RequestsTransport`` over a session from
:func:`bandwidth_credentials.plugin.bounded_session`, whose adapter sends each exchange
with the kit's bounded client: one deadline from connect to the last byte of the answer
(``requests`` bounds each socket read, so an answer trickled one byte at a time held a
caller for as long as the server liked), answers capped at :data:`MAX_ANSWER` (the rest
unread), and no redirect followed (a 3xx is an
:class:`~bandwidth_credentials.plugin.ExchangeFailed`). The vault client and the
credential's token requests (azure-identity passes ``transport=`` to every credential it
builds) each get one. azure-core's retries are off (``retry_total=0``): its retry policy
sleeps whatever ``Retry-After`` says; the provider retries itself, briefly, and hands a
``Retry-After`` to the library's backoff.

Every exchange also draws on the fetch's total
:class:`~bandwidth_credentials.plugin.Deadline`, entered with ``with`` around one fetch:
however many attempts, token requests and backoffs a fetch makes, its HTTP ends by then.
Proxies (``HTTPS_PROXY``, ``NO_PROXY``) and the CA bundle (``REQUESTS_CA_BUNDLE``) are
honoured as ``requests`` reads them. ``requests`` and azure-core are imported inside
the functions, on the first fetch.
"""

from __future__ import annotations

from typing import Any

from bandwidth_credentials import plugin as kit

#: The largest answer read from Key Vault or a token endpoint, in bytes (1 MiB, the
#: kit's cap; a secret's value is at most 25 KiB); a larger one is refused unread.
MAX_ANSWER = kit.DEFAULT_MAX_SIZE
#: The tag of the exchanges the credential makes (access-token requests).
TOKEN = "token"


def azure_transport(timeout: float, log: kit.ExchangeLog, token: bool = False) -> Any:
    """azure-core's ``RequestsTransport`` over a bounded session (``timeout`` seconds per
    exchange); ``log`` keeps the last failed exchange; ``token``: the credential's (its
    requests are access-token requests).

    The transport does not own the session (credentials built by
    ``DefaultAzureCredential`` share it and close their pipelines on their own
    schedule); the session holds no pooled connection to leak, every exchange having
    its own."""
    from azure.core.pipeline.transport import RequestsTransport

    session = kit.bounded_session(timeout, max_size=MAX_ANSWER, tag=TOKEN if token else "", log=log)
    return RequestsTransport(session=session, session_owner=False)
