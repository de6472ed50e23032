"""``bwcreds``: check and explain credential resolution, or run a program with them.

Exit codes (``check``, ``explain`` and ``exec``): 0 every requested service is ready, 1 some
are not (missing or invalid credentials, a failing source), 2 the configuration itself is
wrong (bad source URI, unknown scheme or service, conflicting keys in one source).
"""

from __future__ import annotations

import argparse
import io
import sys
import warnings

from ._checks import check_account_argument
from ._cli_callbacks import add_callback_command, callback_entries, write_callback_section
from ._cli_output import printable, table, write_list
from ._cli_parser import Parser
from ._decommission import DECOMMISSIONED, decommissioned
from ._errors import (
    ConfigurationError,
    CredentialsError,
    SourceAccessDeniedError,
    SourceAuthenticationError,
    SourceError,
    SourceFormatError,
    SourceNotFoundError,
    SourceUnavailableError,
    UnknownServiceError,
)
from ._exec import add_exec_command
from ._factory import BasicDeprecationWarning, basic_notice
from ._normalizer import Resolution
from ._resolver import Resolver
from ._schema import KINDS, SERVICE_NAMES, SERVICES, canonical_service
from ._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, TextIO

EXIT_OK, EXIT_NOT_READY, EXIT_CONFIG = 0, 1, 2


_printable = printable


class Terminal:
    """A text stream that escapes, as :func:`_printable`, everything written to it but
    the line breaks the commands write: a JWT claim, a key name, a redirect's
    ``Location`` or an error's text from a store reaches the terminal as visible
    escapes, never as control sequences."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream  # None when the process was started with the stream closed

    def write(self, text: str) -> int:
        if self.stream is None:
            raise OSError(9, "Bad file descriptor")  # as writing to a closed descriptor
        self.stream.write("\n".join(_printable(line) for line in text.split("\n")))
        return len(text)

    def flush(self) -> None:
        if self.stream is not None:
            self.stream.flush()


def failure_hint(failure: CredentialsError) -> str | None:
    """What to do about a failing source, when the kind of failure says (else ``None``).

    Only a missing file or secret may be meant to be absent on some machines (mark it
    optional); the ``env`` source always exists, so its failures come from a ``*_FILE``
    variable, and the hint names what to fix about that file; a refusal needs access,
    not optionality.
    """
    if not isinstance(failure, SourceError):
        return None
    uri = failure.source
    scheme = uri.split("?", 1)[0].split(":", 1)[0]
    if scheme == "env":
        return _env_file_hint(failure)
    if isinstance(failure, SourceNotFoundError) and "optional=" not in uri:
        return (
            f"if {uri} may be absent on some machines, mark it optional: add optional=true "
            "to its options"
        )
    if isinstance(failure, SourceAccessDeniedError):
        return f"this process may not read {uri}: grant it access (see the message above)"
    if isinstance(failure, SourceAuthenticationError):
        return f"the login to {uri} failed: renew or fix this process's credentials for it"
    if isinstance(failure, SourceUnavailableError):
        return f"{uri} did not answer: it may be down or unreachable from here; retry later"
    return None


def _env_file_hint(failure: SourceError) -> str:
    """What to do about the file a ``*_FILE`` variable names, by the kind of failure."""
    if isinstance(failure, SourceNotFoundError):
        return "a *_FILE variable names a file that does not exist: fix the path or unset it"
    if isinstance(failure, SourceAccessDeniedError):
        return (
            "a *_FILE variable names a file this process may not read: grant it read "
            "access (or fix the path)"
        )
    if isinstance(failure, SourceFormatError):
        return (
            "a *_FILE variable names a file that cannot be used as it is (see the message "
            "above): fix the file or the path"
        )
    if isinstance(failure, SourceUnavailableError):
        return "a *_FILE variable names a file that could not be read now: retry, or fix it"
    return "a *_FILE variable names a file that cannot be read: fix the path or unset it"


def _resolver(sources: str | None, *, offline: bool = False) -> Resolver:
    return Resolver(sources or None, offline=offline)


def _services(names: Sequence[str]) -> list[str]:
    """Canonical names asked for, each once, in the order asked (default: every service)."""
    return list(dict.fromkeys(canonical_service(name) for name in names)) or list(SERVICE_NAMES)


def _where(provenance: dict[str, Any]) -> str:
    """'env (BW_ACCOUNT_ID, BW_USERNAME); vault:... (password)': grouped by source."""
    by_source: dict[str, list[str]] = {}
    for prov in provenance.values():
        by_source.setdefault(prov.source, []).append(_printable(prov.key))
    return "; ".join(f"{source} ({', '.join(keys)})" for source, keys in by_source.items())


def _notes(
    resolution: Resolution | None, services: Sequence[str], basic: bool, offline: bool = True
) -> list[str]:
    """Notes about the services asked for (and about none in particular), each once."""
    wanted = set(services) | {""}
    notes = [text for scope, text in (resolution.notes if resolution else ()) if scope in wanted]
    if basic:
        notes.append(basic_notice())
    waiting = [name for name in services if _waiting(resolution, name, offline) is not None]
    if waiting:
        notes.append(account_note(waiting))
    return list(dict.fromkeys(notes))


def _waiting(resolution: Resolution | None, name: str, offline: bool) -> Any:
    """``(credentials, provenance)`` of an OAuth service whose account id only the access
    token can name, when resolved offline (no token asked for); else ``None``."""
    if not offline or resolution is None:
        return None
    return resolution.pending.get(name)


def account_note(services: Sequence[str]) -> str:
    """What offline ``check``/``explain`` say for OAuth services without an account id."""
    return (
        f"{', '.join(services)}: no account id is configured; it will be taken from the access "
        "token when the token lists exactly one account (bwcreds check --online shows its "
        "accounts); to choose one, set BW_ACCOUNT_ID (or account_id in the credentials' source)"
    )


#: How the FROM column and ``explain`` name an account id the access token will supply.
FROM_TOKEN = "account from the access token"


def _chosen_entry(outcome: Any, account_id: str) -> dict[str, Any]:
    """``check``'s entry for a service's credentials with ``--account-id`` (offline:
    nothing is checked against the access token here)."""
    from ._discovery import with_account

    credentials, provenance = outcome
    credentials = with_account(credentials, account_id)
    provenance = {field: p for field, p in provenance.items() if field != "account_id"}
    entry: dict[str, Any] = {
        "ready": True,
        "scheme": KINDS[credentials.kind].scheme,
        "kind": credentials.kind,
        "environment": credentials.environment,
        "base_url": credentials.base_url,
        "account_id": account_id,
        "account_from": "--account-id",
        "sources": {field: [p.source, p.key] for field, p in provenance.items()},
        "where": f"{_where(provenance)}; account {account_id} from --account-id",
    }
    reason = decommissioned(credentials.kind, credentials.base_url)
    if reason is not None:
        entry.update(ready=False, reason=DECOMMISSIONED, error=reason)
    return entry


def _entry(
    name: str, resolver: Resolver, resolution: Resolution, account_id: str | None = None
) -> dict[str, Any]:
    """``check``'s entry for a service that resolved: ready unless Basic credentials are
    bound for Bandwidth's hosts after the decommissioning (:mod:`._decommission`), or
    waiting for the access token to name the account (nothing fetched offline)."""
    pending = resolution.pending.get(name)
    if account_id is not None:
        outcome = resolution.services[name]
        return _chosen_entry(pending if isinstance(outcome, Exception) else outcome, account_id)
    if pending is not None:
        credentials, provenance = pending
        return {
            "ready": True,
            "scheme": KINDS[credentials.kind].scheme,
            "kind": credentials.kind,
            "environment": credentials.environment,
            "base_url": None,
            "account_id": None,
            "account_from": "access token",
            "sources": {field: [p.source, p.key] for field, p in provenance.items()},
            "where": f"{_where(dict(provenance))}; {FROM_TOKEN}",
        }
    auth = resolver.get_auth(name)
    entry: dict[str, Any] = {
        "ready": True,
        "scheme": auth.scheme,
        "kind": auth.kind,
        "environment": auth.environment,
        "base_url": auth.base_url,
        "account_id": auth.account_id,
        "sources": {field: [p.source, p.key] for field, p in auth.provenance.items()},
        "where": _where(dict(auth.provenance)),
    }
    reason = decommissioned(auth.kind, auth.base_url)
    if reason is not None:
        entry.update(ready=False, reason=DECOMMISSIONED, error=reason)
    return entry


def _resolve(resolver: Resolver) -> tuple[Resolution | None, CredentialsError | None]:
    try:
        return resolver.resolve(), None
    except ConfigurationError:
        raise
    except CredentialsError as exc:
        return None, exc


CALLBACKS = "callbacks"  # `bwcreds check callbacks`: the credentials Bandwidth presents
NO_CALLBACKS = (
    "no callback credentials configured: BW_CALLBACK_USERNAME and BW_CALLBACK_PASSWORD "
    "(Basic), BW_WEBHOOK_SECRET (Subscriptions signatures) or BW_TFV_WEBHOOK_SECRET "
    "(Toll-Free Verification webhooks); BW_<APP>_... for one application"
)


def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    args.account_id = check_account_argument(args.account_id)
    asked = [name for name in args.services if name.strip().lower() != CALLBACKS]
    # Callback credentials count when every service is checked or `callbacks` is named
    # (then some must be configured); `check callbacks` alone checks only them, for a
    # receiver that calls no API.
    named_callbacks = len(asked) < len(args.services)
    with_callbacks = named_callbacks or not args.services
    services = _services(asked) if asked or not args.services else []
    if args.online and named_callbacks:
        err.write(
            "bwcreds: callback credentials are checked offline only (Bandwidth has no call "
            "that checks them): run bwcreds check callbacks without --online\n"
        )
        return EXIT_CONFIG
    resolver = _resolver(args.sources, offline=not args.online)
    if args.online:
        from ._cli_online import check_online

        return check_online(args, services, resolver, out)
    resolution, failure = _resolve(resolver)
    from ._expiry import service_expiry, warning_days

    window = warning_days(args.expiry_warning_days)
    expiry_notes: list[str] = []
    results: list[dict[str, Any]] = []
    for name in services:
        entry: dict[str, Any] = {"service": name, "title": SERVICES[name].title}
        outcome = resolution.services[name] if resolution is not None else failure
        if _waiting(resolution, name, offline=True) is not None or (
            resolution is not None and not isinstance(outcome, Exception)
        ):
            assert resolution is not None
            entry.update(_entry(name, resolver, resolution, args.account_id))
        else:
            entry.update(ready=False, error=str(outcome), error_type=type(outcome).__name__)
        expiry = service_expiry(resolution, name, window) if entry.get("ready") else None
        if expiry is not None:
            entry["client_secret_expires_at"] = expiry[1].expires_at
            if expiry[1].state != "ok":
                expiry_notes.append(expiry[1].note(expiry[0]))
            if expiry[1].state == "expired":
                entry.update(ready=False, error=expiry[1].note(expiry[0]))
                entry["error_type"] = "ExpiredSecret"
        results.append(entry)
    callbacks = callback_entries(resolution, _printable)
    counted = [*results, *callbacks] if with_callbacks else results
    missing_callbacks = named_callbacks and not callbacks
    ready = all(entry["ready"] for entry in counted) and not missing_callbacks
    none_found = missing_callbacks and failure is None  # else the failure says why
    basic = any(entry.get("scheme") == "basic" for entry in results)
    scopes = [*services, *(["callbacks"] if callbacks else [])]
    notes = _notes(resolution, scopes, basic, offline=args.account_id is None)
    if args.account_id is not None and any(e.get("scheme") == "bearer" for e in results):
        notes.append(
            f"account {args.account_id} (--account-id) is checked against the access token's "
            "accounts by bwcreds check --online; nothing was sent now"
        )
    notes += list(dict.fromkeys(expiry_notes))
    from ._verify import environment_note  # the online check's module: not for exec

    environment = environment_note(
        auth
        for auth in (resolver.get_auth_nowait(e["service"]) for e in results if e.get("base_url"))
        if auth is not None
    )
    notes += [environment] if environment else []
    if none_found and args.json:
        notes.insert(0, f"{CALLBACKS}: {NO_CALLBACKS}")
    skipped = list(resolver.skipped()) if resolution is not None else []
    if args.json:
        document = {
            "ready": ready,
            "sources": [s.uri for s in resolver.sources],
            "skipped": skipped,
            "services": results,
            "notes": notes,
        }
        if callbacks or named_callbacks:
            document["callbacks"] = callbacks
        import json

        json.dump(document, out, indent=2)
        out.write("\n")
        return EXIT_OK if ready else EXIT_NOT_READY
    rows = [["SERVICE", "READY", "SCHEME", "CREDENTIALS", "FROM"]]
    for entry in results:
        ready_cell = "yes" if entry["ready"] else "NO"
        if "where" in entry:
            rows.append(
                [entry["service"], ready_cell, entry["scheme"], entry["kind"], entry["where"]]
            )
        else:
            rows.append([entry["service"], ready_cell, "-", "-", "-"])
    if results:
        table(rows, out)
    problems = [entry for entry in results if not entry["ready"]]
    if failure is not None:
        # One failing source fails every service alike: say it once, with what to do,
        # under the names asked for (`check voice` says `voice:`).
        names = ", ".join([*services, *([CALLBACKS] if named_callbacks else [])])
        out.write(f"{chr(10) if results else ''}{names if args.services else 'every service'}: ")
        out.write(f"{_printable(str(failure))}\n")
        hint = failure_hint(failure)
        if hint:
            out.write(f"  ({hint})\n")
    elif problems:
        out.write("\n")
        for entry in problems:
            out.write(f"{entry['service']}: {_printable(str(entry['error']))}\n")
    if results:
        write_callback_section(out, callbacks, table, explain=False)
    else:  # `check callbacks`: the section is the whole output, with no blank line above
        section = io.StringIO()
        write_callback_section(section, callbacks, table, explain=False)
        out.write(section.getvalue().lstrip("\n"))
    if none_found:
        out.write(f"{chr(10) if results else ''}{CALLBACKS}: {NO_CALLBACKS}\n")
    write_list(out, "optional sources skipped", skipped)
    write_list(out, "notes", notes)
    return EXIT_OK if ready else EXIT_NOT_READY


def _explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    args.account_id = check_account_argument(args.account_id)
    resolver = _resolver(args.sources, offline=not args.online)
    resolution, failure = _resolve(resolver)
    if resolution is None:
        err.write(f"bwcreds: {_printable(str(failure))}\n")
        return EXIT_NOT_READY
    per_service: list[dict[str, Any]] = []
    chosen = args.account_id
    for name, outcome in resolution.services.items():
        waiting = _waiting(resolution, name, offline=not args.online or chosen is not None)
        if isinstance(outcome, Exception) and waiting is None:
            per_service.append({"service": name, "ready": False, "error": str(outcome)})
            continue
        credentials, provenance = outcome if waiting is None else waiting  # type: ignore[misc]
        if chosen is not None:
            provenance = {f: p for f, p in provenance.items() if f != "account_id"}
        fields = [
            {"field": field, "source": p.source, "key": _printable(p.key), "version": p.version}
            for field, p in provenance.items()
        ]
        entry: dict[str, Any] = {"service": name, "ready": True, "kind": credentials.kind}
        if chosen is not None:
            entry["account_from"] = "--account-id"
            fields.insert(0, {"field": "account_id", "source": "--account-id", "key": chosen,
                              "version": None})  # fmt: skip
            problem = _account_problem(resolver, name, chosen, online=args.online)
            if problem is not None:
                entry.update(ready=False, error=problem)
        elif waiting is not None:
            entry["account_from"] = "access token"
            fields.insert(0, {"field": "account_id", "source": FROM_TOKEN, "key": "accounts",
                              "version": None})  # fmt: skip
        # Basic after the date: whichever account, configured or chosen (the host decides).
        reason = decommissioned(credentials.kind, credentials.base_url)
        if reason is not None and entry["ready"]:
            entry.update(ready=False, reason=DECOMMISSIONED, error=reason)
        per_service.append({**entry, "fields": fields})
    keys = [
        {
            "source": report.source,
            "key": _printable(report.key),
            "field": report.field or "-",
            "service": report.scope or "all",
            "status": report.status,
            "value": _value_column(report.status, report.secret),
        }
        for report in resolution.keys
    ]
    skipped = list(resolver.skipped())
    callbacks = callback_entries(resolution, _printable)
    ready = all(entry["ready"] for entry in [*per_service, *callbacks])
    basic = any(
        not isinstance(o, Exception) and o[0].kind in ("api_user", "messaging_token")
        for o in resolution.services.values()
    )
    scopes = [*SERVICE_NAMES, *(["callbacks"] if callbacks else [])]
    notes = _notes(resolution, scopes, basic, offline=not args.online)
    # Why each service is not ready, as `check` says it (the table only says "not ready").
    notes += [f"{e['service']}: {e['error']}" for e in per_service if not e["ready"]]
    code = EXIT_OK if ready else EXIT_NOT_READY
    tokens: list[str] = []
    if args.online:
        from ._cli_online import token_lines

        # Every service's token, ready or not: its accounts say why an account is refused.
        tokens = token_lines(resolver, [e["service"] for e in per_service], chosen)
    if args.json:
        document = {
            "ready": ready,
            "sources": list(resolution.sources),
            "skipped": skipped,
            "services": per_service,
            "keys": keys,
            "notes": notes,
        }
        if args.online:
            document["access_token"] = tokens
        if callbacks:
            document["callbacks"] = callbacks
        import json

        json.dump(document, out, indent=2)
        out.write("\n")
        return code
    out.write("sources (highest precedence first): ")
    out.write(", ".join(s.uri for s in resolver.sources) + "\n\n")
    rows = [["SERVICE", "FIELD", "SOURCE", "KEY", "VERSION"]]
    for entry in per_service:
        if "fields" not in entry:
            rows.append([entry["service"], "-", "not ready", "-", "-"])
            continue
        for field in entry["fields"]:
            row = [entry["service"], field["field"], field["source"], field["key"]]
            rows.append([*row, field["version"] or "-"])
    table(rows, out)
    write_callback_section(out, callbacks, table, explain=True)
    if keys:
        out.write("\nkeys found:\n")
        rows = [["SOURCE", "KEY", "FIELD", "FOR", "VALUE", "STATUS"]]
        for key in keys:
            rows.append(
                [
                    key["source"],
                    key["key"],
                    key["field"],
                    key["service"],
                    key["value"],
                    key["status"],
                ]
            )
        table(rows, out)
    write_list(out, "access token", tokens)
    write_list(out, "optional sources skipped", skipped)
    write_list(out, "notes", notes)
    return code


def _account_problem(resolver: Resolver, name: str, account_id: str, online: bool) -> str | None:
    """Why ``account_id`` (already read by :func:`check_account_argument`) cannot be
    used for ``name`` (asked of the access token only ``online``), or ``None``."""
    if not online:
        return None
    try:
        resolver.get_auth(name, account_id)
    except ConfigurationError:
        raise
    except CredentialsError as exc:
        return str(exc)
    return None


def _value_column(status: str, secret: bool) -> str:
    """``masked``/``present`` for a value that was read, ``-`` for one never read."""
    if status.startswith("skipped"):
        return "-"
    return "masked" if secret else "present"


def _providers(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._registry import provider_report

    rows = [["SCHEME", "PROVIDER"]]
    for scheme, where in provider_report().items():
        rows.append([scheme, where])
    table(rows, out)
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = Parser(
        prog="bwcreds",
        description="Check where Bandwidth API credentials come from and whether they are ready.",
    )
    parser.add_argument("--version", action="version", version=f"bwcreds {__version__}")
    # prog given: otherwise argparse builds a help formatter here (importing shutil).
    commands = parser.add_subparsers(dest="command", required=True, prog=parser.prog)
    sources_help = (
        "comma-separated source URIs, highest precedence first "
        "(default: $BANDWIDTH_CREDENTIALS_SOURCES, else env,dotenv:.env?optional=true)"
    )
    account_help = (
        "use this account with the configured credentials (a client credential's token may "
        "list several); checked against the access token's accounts with --online"
    )
    check = commands.add_parser("check", help="is each service ready, and from where?")
    check.add_argument(
        "services",
        nargs="*",
        metavar="SERVICE",
        help="default: all services (and the callback credentials); callbacks: the callback "
        "credentials",
    )
    check.add_argument("--sources", help=sources_help)
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument(
        "--online",
        action="store_true",
        help="also ask Bandwidth: fetch an OAuth token (accounts, roles, Build flag); legacy "
        "Basic credentials are sent only to a host of your own (one GET of the account "
        "resource), never to Bandwidth's, which no longer accepts them",
    )
    check.add_argument("--account-id", metavar="ID", help=account_help)
    check.add_argument(
        "--expiry-warning-days",
        metavar="DAYS",
        help="warn this many days before a stored client_secret_expires_at "
        "(default: $BANDWIDTH_CREDENTIALS_EXPIRY_WARNING_DAYS, else 14)",
    )
    check.set_defaults(run=_check)
    explain = commands.add_parser("explain", help="which source and key supplied each field")
    explain.add_argument("--sources", help=sources_help)
    explain.add_argument("--json", action="store_true", help="machine-readable output")
    explain.add_argument(
        "--online",
        action="store_true",
        help="also fetch the OAuth access token: the account it names, its accounts, roles "
        "and Build flag",
    )
    explain.add_argument("--account-id", metavar="ID", help=account_help)
    explain.set_defaults(run=_explain)
    providers = commands.add_parser("providers", help="list the installed source schemes")
    providers.set_defaults(run=_providers)
    add_exec_command(commands, sources_help)
    add_callback_command(commands, sources_help)
    from ._cli_token import add_token_command

    add_token_command(commands, sources_help)
    from ._cli_rotate import add_rotate_command

    add_rotate_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bwcreds`` console script."""
    args = _parser().parse_args(argv)
    out, err = Terminal(sys.stdout), Terminal(sys.stderr)
    failure = ""
    try:
        with warnings.catch_warnings():
            # The Basic notice is printed with the other notes instead.
            warnings.simplefilter("ignore", BasicDeprecationWarning)
            code: int = args.run(args, out, err)
            out.flush()  # a closed pipe shows here, not at interpreter exit
    except BrokenPipeError:
        # The reader went away (`bwcreds check | head -3`): what it read is all it wanted.
        # No traceback; stdout goes to /dev/null so the flush at exit cannot fail again.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_NOT_READY
    except (ConfigurationError, UnknownServiceError) as exc:
        failure, code = f"configuration error: {exc}", EXIT_CONFIG
    except CredentialsError as exc:
        failure, code = str(exc), EXIT_NOT_READY
    if failure:
        err.write(f"bwcreds: {_printable(failure)}\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
