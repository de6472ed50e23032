"""``bwcreds``: check and explain credential resolution, or run a program with them.

Exit codes (``check``, ``explain`` and ``exec``): 0 every requested service is ready, 1 some
are not (missing or invalid credentials, a failing source), 2 the configuration itself is
wrong (bad source URI, unknown scheme or service, conflicting keys in one source).
"""

from __future__ import annotations

import argparse
import sys
import warnings

from ._cli_output import table, write_list
from ._cli_parser import Parser
from ._errors import ConfigurationError, CredentialsError, SourceError, UnknownServiceError
from ._exec import add_exec_command
from ._factory import BasicDeprecationWarning, basic_notice
from ._normalizer import Resolution
from ._resolver import Resolver
from ._schema import SERVICE_NAMES, SERVICES, canonical_service
from ._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, TextIO

EXIT_OK, EXIT_NOT_READY, EXIT_CONFIG = 0, 1, 2


def _printable(text: str) -> str:
    """A key name with control characters escaped (a key is data, not terminal input)."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _resolver(sources: str | None) -> Resolver:
    return Resolver(sources) if sources else Resolver()


def _services(names: Sequence[str]) -> list[str]:
    """Canonical names asked for, each once, in the order asked (default: every service)."""
    return list(dict.fromkeys(canonical_service(name) for name in names)) or list(SERVICE_NAMES)


def _where(provenance: dict[str, Any]) -> str:
    """'env (BW_ACCOUNT_ID, BW_USERNAME); vault:... (password)': grouped by source."""
    by_source: dict[str, list[str]] = {}
    for prov in provenance.values():
        by_source.setdefault(prov.source, []).append(_printable(prov.key))
    return "; ".join(f"{source} ({', '.join(keys)})" for source, keys in by_source.items())


def _notes(resolution: Resolution | None, services: Sequence[str], basic: bool) -> list[str]:
    """Notes about the services asked for (and about none in particular), each once."""
    wanted = set(services) | {""}
    notes = [text for scope, text in (resolution.notes if resolution else ()) if scope in wanted]
    if basic:
        notes.append(basic_notice())
    return list(dict.fromkeys(notes))


def _resolve(resolver: Resolver) -> tuple[Resolution | None, CredentialsError | None]:
    try:
        return resolver.resolve(), None
    except ConfigurationError:
        raise
    except CredentialsError as exc:
        return None, exc


def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    services = _services(args.services)
    resolver = _resolver(args.sources)
    if args.online:
        from ._cli_online import check_online

        return check_online(args, services, resolver, out)
    resolution, failure = _resolve(resolver)
    results: list[dict[str, Any]] = []
    for name in services:
        entry: dict[str, Any] = {"service": name, "title": SERVICES[name].title}
        outcome = resolution.services[name] if resolution is not None else failure
        if isinstance(outcome, Exception) or outcome is None:
            entry.update(ready=False, error=str(outcome), error_type=type(outcome).__name__)
        else:
            auth = resolver.get_auth(name)
            entry.update(
                ready=True,
                scheme=auth.scheme,
                kind=auth.kind,
                environment=auth.environment,
                base_url=auth.base_url,
                sources={field: [p.source, p.key] for field, p in auth.provenance.items()},
                where=_where(dict(auth.provenance)),
            )
        results.append(entry)
    ready = all(entry["ready"] for entry in results)
    basic = any(entry.get("scheme") == "basic" for entry in results)
    notes = _notes(resolution, services, basic)
    from ._verify import environment_note  # the online check's module: not for exec

    environment = environment_note(resolver.get_auth(e["service"]) for e in results if e["ready"])
    notes += [environment] if environment else []
    skipped = list(resolver.skipped()) if resolution is not None else []
    if args.json:
        document = {
            "ready": ready,
            "sources": [s.uri for s in resolver.sources],
            "skipped": skipped,
            "services": results,
            "notes": notes,
        }
        import json

        json.dump(document, out, indent=2)
        out.write("\n")
        return EXIT_OK if ready else EXIT_NOT_READY
    rows = [["SERVICE", "READY", "SCHEME", "CREDENTIALS", "FROM"]]
    for entry in results:
        if entry["ready"]:
            rows.append([entry["service"], "yes", entry["scheme"], entry["kind"], entry["where"]])
        else:
            rows.append([entry["service"], "NO", "-", "-", "-"])
    table(rows, out)
    problems = [entry for entry in results if not entry["ready"]]
    if failure is not None:
        # One failing source fails every service alike: say it once, with what to do.
        out.write(f"\nevery service: {failure}\n")
        if isinstance(failure, SourceError) and "optional=" not in failure.source:
            out.write(
                f"  (if {failure.source} may be absent on some machines, mark it optional: "
                "add optional=true to its options)\n"
            )
    elif problems:
        out.write("\n")
        for entry in problems:
            out.write(f"{entry['service']}: {entry['error']}\n")
    write_list(out, "optional sources skipped", skipped)
    write_list(out, "notes", notes)
    return EXIT_OK if ready else EXIT_NOT_READY


def _explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    resolver = _resolver(args.sources)
    resolution, failure = _resolve(resolver)
    if resolution is None:
        err.write(f"bwcreds: {failure}\n")
        return EXIT_NOT_READY
    per_service: list[dict[str, Any]] = []
    for name, outcome in resolution.services.items():
        if isinstance(outcome, Exception):
            per_service.append({"service": name, "ready": False, "error": str(outcome)})
            continue
        credentials, provenance = outcome
        fields = [
            {"field": field, "source": p.source, "key": _printable(p.key), "version": p.version}
            for field, p in provenance.items()
        ]
        per_service.append(
            {"service": name, "ready": True, "kind": credentials.kind, "fields": fields}
        )
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
    ready = all(entry["ready"] for entry in per_service)
    basic = any(
        not isinstance(o, Exception) and o[0].kind in ("api_user", "messaging_token")
        for o in resolution.services.values()
    )
    notes = _notes(resolution, list(SERVICE_NAMES), basic)
    code = EXIT_OK if ready else EXIT_NOT_READY
    if args.json:
        document = {
            "ready": ready,
            "sources": list(resolution.sources),
            "skipped": skipped,
            "services": per_service,
            "keys": keys,
            "notes": notes,
        }
        import json

        json.dump(document, out, indent=2)
        out.write("\n")
        return code
    out.write("sources (highest precedence first): ")
    out.write(", ".join(s.uri for s in resolver.sources) + "\n\n")
    rows = [["SERVICE", "FIELD", "SOURCE", "KEY", "VERSION"]]
    for entry in per_service:
        if not entry["ready"]:
            rows.append([entry["service"], "-", "not ready", "-", "-"])
            continue
        for field in entry["fields"]:
            row = [entry["service"], field["field"], field["source"], field["key"]]
            rows.append([*row, field["version"] or "-"])
    table(rows, out)
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
    write_list(out, "optional sources skipped", skipped)
    write_list(out, "notes", notes)
    return code


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
    check = commands.add_parser("check", help="is each service ready, and from where?")
    check.add_argument("services", nargs="*", metavar="SERVICE", help="default: all services")
    check.add_argument("--sources", help=sources_help)
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument(
        "--online",
        action="store_true",
        help="also ask Bandwidth: fetch an OAuth token (accounts, roles, Build flag) or make "
        "one GET of the account resource with Basic credentials",
    )
    check.set_defaults(run=_check)
    explain = commands.add_parser("explain", help="which source and key supplied each field")
    explain.add_argument("--sources", help=sources_help)
    explain.add_argument("--json", action="store_true", help="machine-readable output")
    explain.set_defaults(run=_explain)
    providers = commands.add_parser("providers", help="list the installed source schemes")
    providers.set_defaults(run=_providers)
    add_exec_command(commands, sources_help)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bwcreds`` console script."""
    args = _parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            # The Basic notice is printed with the other notes instead.
            warnings.simplefilter("ignore", BasicDeprecationWarning)
            code: int = args.run(args, sys.stdout, sys.stderr)
    except (ConfigurationError, UnknownServiceError) as exc:
        sys.stderr.write(f"bwcreds: configuration error: {exc}\n")
        return EXIT_CONFIG
    except CredentialsError as exc:
        sys.stderr.write(f"bwcreds: {exc}\n")
        return EXIT_NOT_READY
    return code


if __name__ == "__main__":
    sys.exit(main())
