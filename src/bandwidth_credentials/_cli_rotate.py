"""``bwcreds rotate``: rotate the client secret kept in one source (see :mod:`._rotate`).

Exit codes: 0 rotated (or the dry run found nothing wrong), 1 Bandwidth or the store
refused (the output says which step and how to finish or undo), 2 bad configuration (a
bad URI or duration, a source that cannot be written, no client credentials there).
Nothing printed holds a secret: client id, expiration instants, store versions, steps.
"""

from __future__ import annotations

from ._cli_output import printable
from ._typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from typing import Any, TextIO

__all__ = ["add_rotate_command"]

EXIT_OK, EXIT_REFUSED, EXIT_CONFIG = 0, 1, 2


def add_rotate_command(commands: Any) -> None:
    """Register ``rotate`` on ``bwcreds``' subcommand parser (argparse's subparsers)."""
    rotate = commands.add_parser(
        "rotate",
        help="create a new client secret at Bandwidth and write it to the store",
        description="Create a new client secret for the client id kept in --source, store "
        "it there, prove it with a token, make it current and read it back. Exit 0 rotated "
        "(or dry run clean), 1 Bandwidth or the store refused, 2 bad configuration.",
    )
    rotate.add_argument("--source", required=True, metavar="URI", help="the store to rotate")
    rotate.add_argument(
        "--expires-in",
        default="90d",
        metavar="DURATION",
        help="the new secret's lifetime: whole days or hours, such as 90d or 12h (default 90d)",
    )
    rotate.add_argument(
        "--admin-source",
        metavar="URI",
        help="client credentials with Bandwidth's Credential access role, used to create the "
        "secret (default: the rotated client's own)",
    )
    rotate.add_argument(
        "--dry-run", action="store_true", help="read and check everything; write and create nothing"
    )
    rotate.add_argument("--json", action="store_true", help="machine-readable output")
    rotate.set_defaults(run=run_rotate)


def run_rotate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run ``bwcreds rotate`` with parsed ``args``; returns the exit code."""
    from ._errors import ConfigurationError, CredentialsError
    from ._rotate import RotationError, parse_duration, rotate

    def progress(step: str, detail: str) -> None:
        if not args.json:
            out.write(f"{step:<8} {printable(detail)}\n")
            out.flush()

    failure: CredentialsError | None = None
    result: dict[str, Any] | None = None
    try:
        result = rotate(
            args.source,
            expires_in=parse_duration(args.expires_in),
            admin_source=args.admin_source,
            dry_run=args.dry_run,
            on_step=progress,
        )
    except CredentialsError as exc:
        failure = exc
    if result is not None:
        return _report(result, out, args.json)
    assert failure is not None
    code = EXIT_CONFIG if isinstance(failure, ConfigurationError) else EXIT_REFUSED
    step = failure.step if isinstance(failure, RotationError) else None
    state = failure.state if isinstance(failure, RotationError) else None
    if args.json:
        import json

        document = {
            "rotated": False,
            "source": _shown(args.source),
            "failed_step": step,
            "error": str(failure),
            "error_type": type(failure).__name__,
            "state": state,
        }
        json.dump(document, out, indent=2)
        out.write("\n")
    err.write(f"bwcreds rotate: {'configuration error: ' if code == EXIT_CONFIG else ''}")
    err.write(f"{printable(str(failure))}\n")
    if state:
        err.write(f"  now: {printable(state)}\n")
    return code


def _shown(uri: str) -> str | None:
    """The source URI as the library shows it (option values hidden), or None if invalid."""
    from ._errors import ConfigurationError
    from ._provider import parse_source

    try:
        return parse_source(uri).uri
    except ConfigurationError:
        return None


def _report(result: dict[str, Any], out: TextIO, as_json: bool) -> int:
    if as_json:
        import json

        json.dump(result, out, indent=2)
        out.write("\n")
        return EXIT_OK
    verb = "dry run: nothing written" if result["dry_run"] else "rotated"
    if not result["dry_run"] and result["resumed"]:
        verb = "rotated (finished the pending rotation)"
    out.write(f"\n{verb}\n")
    rows = [
        ("client id", result["client_id"]),
        ("source", result["source"]),
        ("new secret expires", result["new_secret_expires_at"] or "-"),
        ("old secret expires", result["old_secret_expires_at"] or "unknown (not in the store)"),
        ("store version", result["store_version"] or "-"),
    ]
    for label, value in rows:
        out.write(f"  {label + ':':<20}{printable(str(value))}\n")
    if not result["dry_run"]:
        out.write(
            "  the old secret stays active at Bandwidth until it expires; retire it earlier in "
            "the Bandwidth App (Account > API Credentials) once nothing uses it\n"
        )
    return EXIT_OK
