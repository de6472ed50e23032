"""``bwcreds``' callback parts: the callback section of ``check`` and ``explain`` (shown
only when some source holds callback credentials, so other outputs stay as they were),
and ``bwcreds callback sign``, which prints the signature header a sender would attach
to a body (to test your own endpoint with curl)."""

from __future__ import annotations

import argparse
import sys

from ._callback_creds import CallbackCredentials, app_label, configured
from ._cli_output import printable
from ._errors import CredentialsError
from ._normalizer import Resolution
from ._schema import CALLBACK_KINDS, app_scope
from ._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, TextIO

__all__ = ["add_callback_command", "callback_entries", "write_callback_section"]


def _app_name(scope: str | None) -> str:
    return scope if scope else "(shared)"


def _schemes(credentials: CallbackCredentials) -> str:
    """``basic (+previous), subscriptions``: the configured schemes, rotations marked."""
    parts = []
    for scheme, accepted in credentials.schemes.items():
        parts.append(scheme + (" (+previous)" if len(accepted) > 1 else ""))
    return ", ".join(parts)


def callback_entries(
    resolution: Resolution | None, printable: Callable[[str], str]
) -> list[dict[str, Any]]:
    """One entry per application with callback credentials configured (ready or not):
    ``app``, ``ready``, and ``schemes``/``fields``/``where`` or ``error``. Empty when no
    source holds any callback credentials."""
    if resolution is None:
        return []
    entries: list[dict[str, Any]] = []
    for scope, outcome in resolution.callbacks.items():
        if not configured(outcome):
            continue
        if isinstance(outcome, CallbackCredentials):
            fields: list[dict[str, str]] = [
                {
                    "field": field,
                    "source": prov.source,
                    "key": printable(prov.key),
                    "version": prov.version or "",
                }
                for field, prov in outcome.provenance.items()
            ]
            by_source: dict[str, list[str]] = {}
            for field in fields:
                by_source.setdefault(field["source"], []).append(field["key"])
            entries.append(
                {
                    "app": scope,
                    "ready": True,
                    "schemes": {s: len(a) > 1 for s, a in outcome.schemes.items()},
                    "summary": _schemes(outcome),
                    "fields": fields,
                    "where": "; ".join(f"{s} ({', '.join(k)})" for s, k in by_source.items()),
                }
            )
        else:
            entries.append({"app": scope, "ready": False, "error": str(outcome)})
    return entries


def write_callback_section(
    out: TextIO,
    entries: Sequence[dict[str, Any]],
    table: Callable[[Sequence[Sequence[str]], TextIO], None],
    *,
    explain: bool,
) -> None:
    """The callback section of ``check`` (readiness, schemes, sources) or ``explain``
    (every field's source, key and version); nothing without callback credentials."""
    if not entries:
        return
    out.write("\ncallbacks (credentials Bandwidth presents to you):\n")
    if explain:
        rows = [["APP", "FIELD", "SOURCE", "KEY", "VERSION"]]
        for entry in entries:
            if not entry["ready"]:
                rows.append([_app_name(entry["app"]), "-", "not ready", "-", "-"])
                continue
            for field in entry["fields"]:
                row = [_app_name(entry["app"]), field["field"], field["source"], field["key"]]
                rows.append([*row, field["version"] or "-"])
    else:
        rows = [["APP", "READY", "SCHEMES", "FROM"]]
        for entry in entries:
            if entry["ready"]:
                rows.append([_app_name(entry["app"]), "yes", entry["summary"], entry["where"]])
            else:
                rows.append([_app_name(entry["app"]), "NO", "-", "-"])
    table(rows, out)
    problems = [entry for entry in entries if not entry["ready"]]
    if problems:
        out.write("\n")
        for entry in problems:
            out.write(f"callbacks to {_app_name(entry['app'])}: {printable(str(entry['error']))}\n")


def _sign(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``bwcreds callback sign``: the signature header for the body on stdin."""
    from ._resolver import Resolver

    resolver = Resolver(args.sources) if args.sources else Resolver()
    try:
        scope = app_scope(args.app)
    except ValueError as exc:
        err.write(f"bwcreds: {exc}\n")
        return 2
    if sys.stdin.isatty():
        err.write(
            f"bwcreds: callback sign reads the request body on stdin: "
            f"bwcreds callback sign --scheme {args.scheme} < body.json\n"
        )
        return 2
    credentials = resolver._callback_credentials(scope)
    accepted = credentials.schemes.get(args.scheme)
    kind = CALLBACK_KINDS[args.scheme]
    if not accepted:
        others = sorted(
            other
            for other, found in resolver.resolve().callbacks.items()
            if other != scope and other is not None and not isinstance(found, Exception)
            if found.schemes.get(args.scheme)
        )
        hint = (
            f"; {', '.join(others)} {'has' if len(others) == 1 else 'have'} one of "
            f"{'its' if len(others) == 1 else 'their'} own: add --app {others[0]}"
            if others
            else ""
        )
        field = kind.fields[0].upper()
        names = f"BW_{field}" if scope is None else f"BW_{scope.upper()}_{field} or BW_{field}"
        missing = CredentialsError(
            f"no {kind.title} for {app_label(scope)} ({names}); nothing to sign with{hint}"
        )
        raise missing
    body = sys.stdin.buffer.read()
    if not body:
        empty = CredentialsError(
            "the body on stdin is empty: Bandwidth signs a request body, and verification "
            "refuses an empty one"
        )
        raise empty
    import hmac

    digest = hmac.digest(accepted[0].key, body, "sha256")
    if args.scheme == "tfv":
        value = digest.hex()
    else:
        import base64

        value = base64.b64encode(digest).decode("ascii")
    out.write(f"{kind.header}: {value}\n")
    return 0


def add_callback_command(commands: Any, sources_help: str) -> None:
    """Add ``bwcreds callback sign`` to the argument parser."""
    callback = commands.add_parser("callback", help="tools for Bandwidth's callbacks (webhooks)")
    actions = callback.add_subparsers(dest="action", required=True, prog="bwcreds callback")
    sign = actions.add_parser(
        "sign",
        help="print the signature header Bandwidth would attach to the body on stdin",
        description=(
            "Read a request body on stdin and print the header a sender signing it with "
            "the configured key would attach (Header-Name: value), to test your own "
            "callback endpoint, for example with curl -H."
        ),
    )
    sign.add_argument(
        "--scheme",
        required=True,
        choices=["subscriptions", "tfv"],
        help="subscriptions: X-Bandwidth-Signature-SHA-256 (base64) with BW_WEBHOOK_SECRET; "
        "tfv: x-bandwidth-signature-hmac-sha256 (hex) with BW_TFV_WEBHOOK_SECRET",
    )
    sign.add_argument("--app", help="the Bandwidth application (BW_<APP>_WEBHOOK_SECRET, ...)")
    sign.add_argument("--sources", help=sources_help)
    sign.set_defaults(run=_sign)
