"""``bwcreds exec``: resolve credentials, then replace this process with a command.

For containers whose application is not Python: ``bwcreds exec -- ./server`` resolves
the configured sources and ``exec``s ``./server`` with canonical ``BW_*`` variables in
its environment, so signals reach the command directly and its exit code is the
container's. When credentials are not ready the command is never started.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter

from ._callback_creds import callback_environment
from ._checks import Provenance, ServiceCredentials
from ._errors import ConfigurationError, CredentialsError
from ._resolver import Resolver
from ._schema import (
    KINDS,
    MESSAGING_TOKEN,
    SERVICE_NAMES,
    canonical_service,
    env_scope,
)
from ._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, TextIO

__all__ = ["add_exec_command", "credential_environment", "run_exec"]

# The same exit codes as the other bwcreds commands, plus the shell's conventions for a
# command that cannot be run (126) or found (127).
EXIT_NOT_READY, EXIT_CONFIG, EXIT_CANNOT_RUN, EXIT_NOT_FOUND = 1, 2, 126, 127

# The messaging token pair travels as the Basic user name and password.
_HELD_AS = {"api_token": "username", "api_secret": "password"}


def _plain(value: object) -> str | None:
    if value is None:
        return None
    get = getattr(value, "get_secret_value", None)
    return str(get()) if callable(get) else str(value)


def _service_variables(
    credentials: ServiceCredentials, provenance: Mapping[str, Provenance]
) -> dict[str, str]:
    """One service's credentials as variable names without the ``BW_`` prefix."""
    found: dict[str, str] = {"ACCOUNT_ID": credentials.account_id}
    for field, name in KINDS[credentials.kind].env:
        attribute = _HELD_AS.get(field, field) if credentials.kind == MESSAGING_TOKEN else field
        value = _plain(getattr(credentials, attribute))
        if value is not None:
            found[name] = value
    # Only explicit settings: defaults follow from the account id and environment.
    for field, value in credentials.endpoints.items():
        if field in provenance:
            found[field.upper()] = value
    return found


def credential_environment(
    services: Mapping[str, tuple[ServiceCredentials, Mapping[str, Provenance]] | Exception],
) -> dict[str, str]:
    """The ``BW_*`` variables that give a child process the resolved credentials.

    Each variable gets the value most services share (the first one on a tie). A
    service whose value differs (a per-service override) also gets its own scoped
    variable, ``BW_VOICE_PASSWORD``, which the normalizer prefers for that service, so
    a child using this library resolves exactly what this process did.
    """
    per_service: dict[str, dict[str, str]] = {}
    for name, outcome in services.items():
        if not isinstance(outcome, Exception):
            per_service[name] = _service_variables(*outcome)
    counts: dict[str, Counter[str]] = {}
    for variables in per_service.values():
        for variable, value in variables.items():
            counts.setdefault(variable, Counter())[value] += 1
    shared = {
        # The most common value, the first seen on a tie (as most_common(1), without heapq).
        variable: max(counter, key=counter.__getitem__)
        for variable, counter in counts.items()
        if variable != "BASE_URL"  # a base URL is per service by nature
    }
    scoped = {
        f"BW_{_scope(name)}_{variable}": value
        for name, variables in per_service.items()
        for variable, value in variables.items()
        if shared.get(variable) != value
    }
    return {**{f"BW_{name}": value for name, value in shared.items()}, **scoped}


def _scope(service: str) -> str:
    return env_scope(service)


def _for_account(
    resolver: Resolver, services: Mapping[str, Any], required: list[str], account_id: str
) -> tuple[dict[str, Any], list[str]]:
    """Every resolved service's credentials for ``account_id`` (``--account-id``), the
    required ones checked as ``get_auth(service, account_id=...)`` checks them (against
    the access token's accounts); also the problems found."""
    from ._checks import problem_of
    from ._discovery import with_account

    problem = problem_of("account_id", account_id)
    if problem is not None:
        raise ConfigurationError(f"--account-id {problem}")
    resolution = resolver.resolve()
    chosen: dict[str, Any] = {}
    problems: list[str] = []
    for name, outcome in services.items():
        if isinstance(outcome, Exception):
            outcome = resolution.pending.get(name, outcome)
        if isinstance(outcome, Exception):
            chosen[name] = outcome
            continue
        credentials, provenance = outcome
        chosen[name] = (with_account(credentials, account_id), provenance)
        if name in required:
            try:
                resolver.get_auth(name, account_id)
            except ConfigurationError:
                raise
            except CredentialsError as exc:
                problems.append(f"{name}: {exc}")
    return chosen, problems


def run_exec(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run ``bwcreds exec``; returns only when the command was not started."""
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        err.write(
            "bwcreds exec: no command given; usage: bwcreds exec [OPTIONS] -- CMD [ARGS...]\n"
        )
        return EXIT_CONFIG
    required = [canonical_service(name) for name in args.service or ()] or list(SERVICE_NAMES)
    resolver = Resolver(args.sources) if args.sources else Resolver()
    problems: list[str] = []
    services: Mapping[str, Any] = {}
    callbacks: Mapping[Any, Any] = {}
    try:
        resolution = resolver.resolve()
        services, callbacks = resolution.services, resolution.callbacks
    except ConfigurationError:
        raise
    except CredentialsError as exc:
        # Reported per service, exactly as `bwcreds check` reports a failing source.
        problems = [f"{name}: {exc}" for name in required]
    if args.account_id is not None and not problems:
        services, problems = _for_account(resolver, services, required, args.account_id)
    for name in required if not problems else ():
        outcome = services[name]
        if isinstance(outcome, Exception):
            problems.append(f"{name}: {outcome}")
    if problems:
        err.write(f"bwcreds exec: credentials are not ready; {command[0]} was not started\n")
        for line in problems:
            err.write(line + "\n")
        return EXIT_NOT_READY
    basic = [
        name
        for name, outcome in services.items()
        if not isinstance(outcome, Exception) and KINDS[outcome[0].kind].scheme == "basic"
    ]
    if basic:
        from ._factory import basic_notice  # loaded by the resolver already

        err.write(f"bwcreds exec: passing HTTP Basic credentials ({', '.join(basic)}): ")
        err.write(basic_notice() + "\n")
    environment = dict(os.environ)
    environment.update(credential_environment(services))
    environment.update(callback_environment(callbacks))  # callback credentials are ours too
    resolver.close()
    out.flush()
    err.flush()
    try:
        os.execvpe(command[0], command, environment)  # noqa: S606 - running CMD is the point
    except FileNotFoundError:
        err.write(f"bwcreds exec: command not found: {command[0]}\n")
        return EXIT_NOT_FOUND
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        err.write(f"bwcreds exec: cannot run {command[0]}: {reason}\n")
        return EXIT_CANNOT_RUN


def add_exec_command(commands: Any, sources_help: str) -> None:
    """Add the ``exec`` subcommand to the ``bwcreds`` argument parser."""
    parser = commands.add_parser(
        "exec",
        help="run a command with the resolved credentials in BW_* variables",
        description=(
            "Resolve credentials, then replace this process with CMD, adding BW_ACCOUNT_ID, "
            "BW_USERNAME, BW_PASSWORD, BW_API_TOKEN, BW_API_SECRET (and the OAuth names when "
            "present) to its environment. CMD is not started when a required service is "
            "not ready."
        ),
        usage="bwcreds exec [--sources URIS] [--service NAME]... [--account-id ID] -- CMD "
        "[ARGS...]",
    )
    parser.add_argument("--sources", help=sources_help)
    parser.add_argument(
        "--service",
        action="append",
        metavar="NAME",
        help="a service that must be ready (repeatable; default: every service, as check)",
    )
    parser.add_argument(
        "--account-id",
        metavar="ID",
        help="give CMD this account (BW_ACCOUNT_ID) with the configured credentials, "
        "checked against the access token's accounts",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="CMD", help="the command")
    parser.set_defaults(run=run_exec)
