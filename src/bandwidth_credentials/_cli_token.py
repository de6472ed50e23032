"""``bwcreds token``: a bearer access token for the configured OAuth client credentials.

What ``gcloud auth print-access-token`` and ``az account get-access-token`` are for their
clouds, for shell scripts and programs not written in Python::

    curl -H "Authorization: Bearer $(bwcreds token)" \\
        https://voice.bandwidth.com/api/v2/accounts/920012/calls

The token comes from the same process-wide token manager ``get_auth()`` uses (Bandwidth's
token endpoint, ``POST /api/v1/oauth2/token`` with the client credentials). It is written
to stdout and nowhere else: never to a log record, stderr or an error message. ``--json``
adds ``expires_at`` (UTC ISO 8601: the token's ``exp`` claim, else when the endpoint's
``expires_in`` runs out counted from the request; ``null`` with a ``note`` saying so when
neither says), ``accounts`` (its ``accounts`` claim), ``environment``, ``token_url`` and
``client_id``; never the client secret. A token that has already expired is not printed
(a token endpoint answering ``expires_in: 0``): exit 1, as ``get_auth()`` would not send it.

Exit codes as ``check``: 0 a token was printed; 1 none could be had (no OAuth client
credentials, only Basic ones, the token endpoint refused or failed, ``--account-id`` not
among the accounts the token lists; a token that lists none is not checked) or stdout
could not take it (closed, full, a broken pipe);
2 the configuration itself is wrong (``--account-id`` not an account id, by the rule
``BW_ACCOUNT_ID`` follows).
"""

from __future__ import annotations

import sys

from ._cli_output import printable
from ._resolver import Resolver
from ._schema import KINDS, OAUTH, SERVICE_NAMES, canonical_service
from ._typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from typing import Any, TextIO

    from ._checks import ServiceCredentials
    from ._normalizer import Resolution

__all__ = ["add_token_command", "run_token"]

EXIT_OK, EXIT_NOT_READY = 0, 1


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    import datetime

    moment = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _clients(resolution: Resolution, names: list[str]) -> dict[tuple[str, str], list[str]]:
    """The distinct OAuth clients (token URL, client id) of ``names``, with their services."""
    found: dict[tuple[str, str], list[str]] = {}
    for name in names:
        outcome = resolution.pending.get(name) or resolution.services[name]
        if isinstance(outcome, Exception) or outcome[0].kind != OAUTH:
            continue
        credentials = outcome[0]
        found.setdefault((str(credentials.token_url), str(credentials.client_id)), []).append(name)
    return found


def _credentials(resolution: Resolution, name: str) -> ServiceCredentials:
    outcome = resolution.pending.get(name) or resolution.services[name]
    assert not isinstance(outcome, Exception)
    return outcome[0]


def _no_client(resolution: Resolution, names: list[str]) -> str:
    """Why there is no token to print: a value that is wrong (as ``check`` says it,
    naming the source and key), Basic or a static token instead, or nothing."""
    from ._errors import CredentialNotFoundError

    kinds: dict[str, list[str]] = {}
    first_error: Exception | None = None
    for name in names:
        outcome = resolution.services[name]
        if isinstance(outcome, Exception):
            if not isinstance(outcome, CredentialNotFoundError):
                # Credentials were found but a value is unusable (an invalid BW_ACCOUNT_ID):
                # that is the reason, not a missing client.
                return str(outcome)
            first_error = first_error or outcome
        else:
            kinds.setdefault(outcome[0].kind, []).append(name)
    basic = [n for kind, found in kinds.items() if KINDS[kind].scheme == "basic" for n in found]
    if basic:
        from ._factory import basic_notice

        return (
            f"no OAuth client credentials: {', '.join(basic)} use HTTP Basic credentials, "
            f"which have no access token; {basic_notice()}"
        )
    if kinds:
        return (
            f"no OAuth client credentials: {', '.join(n for f in kinds.values() for n in f)} "
            "use a static access token (BW_ACCESS_TOKEN), which is already the token to send"
        )
    return f"no OAuth client credentials: {first_error}"


def _emit(text: str, out: TextIO, err: TextIO) -> int:
    """Write ``text`` (the token) to ``out`` and flush it; a stdout that cannot take it
    (a full disk, a closed pipe) is one line on ``err`` naming the OS error, never the
    token, and exit 1."""
    failure: OSError | None = None
    try:
        out.write(text)
        out.flush()
    except OSError as exc:
        failure = exc
    if failure is None:
        return EXIT_OK
    if sys.stdout is not None and getattr(out, "stream", out) is sys.stdout:
        # What is still buffered would be flushed (and fail, with a traceback) at exit.
        import contextlib
        import os

        with contextlib.suppress(OSError, ValueError):  # no file descriptor: nothing kept
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, sys.stdout.fileno())
            os.close(null)
    why = failure.strerror or type(failure).__name__
    err.write(f"bwcreds token: could not write the token to stdout: {why}\n")
    return EXIT_NOT_READY


def run_token(args: argparse.Namespace, out: TextIO | None, err: TextIO) -> int:
    """Run ``bwcreds token``: the token on stdout (or a JSON document), else why not."""
    if out is None or getattr(out, "stream", out) is None:
        # Started with stdout closed: nowhere to put a token.
        err.write("bwcreds token: could not write the token to stdout: stdout is closed\n")
        return EXIT_NOT_READY
    from ._checks import check_account_argument

    args.account_id = check_account_argument(args.account_id)
    names = [canonical_service(args.service)] if args.service else list(SERVICE_NAMES)
    # No account discovery while resolving: the token does not depend on the account.
    resolution = Resolver(args.sources or None, offline=True).resolve()
    clients = _clients(resolution, names)
    if not clients:
        err.write(f"bwcreds token: {printable(_no_client(resolution, names))}\n")
        return EXIT_NOT_READY
    if len(clients) > 1:
        listed = "; ".join(
            f"client {client_id} for {', '.join(services)}"
            for (_, client_id), services in clients.items()
        )
        err.write(
            f"bwcreds token: the services use different OAuth clients ({listed}); "
            "name one service: bwcreds token --service NAME\n"
        )
        return EXIT_NOT_READY
    [services] = clients.values()
    credentials = _credentials(resolution, services[0])
    from ._http import display_url
    from ._oauth import token_source
    from ._token_request import DEFAULT_LIFETIME

    manager = token_source(credentials)  # the process-wide one get_auth() uses too
    current = manager.snapshot()  # TokenError: reported by main, exit 1
    token, claims = current.value, current.claims  # the token stays masked until written
    accounts = list(claims.accounts) if claims is not None else []
    chosen = args.account_id
    if claims is not None and chosen is not None and claims.excludes(chosen):
        from ._discovery import listed_accounts

        err.write(
            f"bwcreds token: account {chosen} is not among the access token's "
            f"accounts ({listed_accounts(claims)}) for client {credentials.client_id}\n"
        )
        return EXIT_NOT_READY
    if not args.json:
        return _emit(token.get_secret_value() + "\n", out, err)
    # What the token and the endpoint said, never what the cache assumes.
    expires_at = claims.expires_at if claims is not None else None
    if expires_at is None:
        expires_at = current.expires_at  # expires_in, or None when the answer had none
    document: dict[str, Any] = {
        "access_token": token.get_secret_value(),
        "token_type": "Bearer",
        "expires_at": _iso(expires_at),
        "accounts": accounts,
        "environment": credentials.environment,
        "token_url": display_url(str(credentials.token_url)),
        "client_id": credentials.client_id,
    }
    if expires_at is None:
        document["note"] = (
            "the token has no exp claim and the token endpoint gave no expires_in: "
            f"when it expires is not known (it is used for at most {DEFAULT_LIFETIME:g} s here)"
        )
    import json

    return _emit(json.dumps(document, indent=2) + "\n", out, err)


def add_token_command(commands: Any, sources_help: str) -> None:
    """Add the ``token`` subcommand to the ``bwcreds`` argument parser."""
    parser = commands.add_parser(
        "token",
        help="print a bearer access token for the OAuth client credentials",
        description=(
            "Print an access token for the configured OAuth client credentials to stdout, "
            'for curl -H "Authorization: Bearer $(bwcreds token)" and tools not written in '
            "Python. The token is written nowhere else."
        ),
    )
    parser.add_argument("--sources", help=sources_help)
    parser.add_argument(
        "--service",
        metavar="NAME",
        help="the service whose client credentials to use (needed only when services use "
        "different clients)",
    )
    parser.add_argument(
        "--account-id",
        metavar="ID",
        help="fail when the token lists accounts and not this one (a token that lists none "
        "is not checked)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="a JSON document: access_token, token_type, expires_at (UTC, ISO 8601; null and a "
        "note when the token does not say), accounts, environment, token_url, client_id",
    )
    parser.set_defaults(run=run_token)
