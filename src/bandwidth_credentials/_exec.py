"""``bwcreds exec``: resolve credentials, then replace this process with a command.

For containers whose application is not Python: ``bwcreds exec -- ./server`` resolves
the configured sources and ``exec``s ``./server`` with canonical ``BW_*`` variables in
its environment, so signals reach the command directly and its exit code is the
container's. When credentials are not ready the command is never started.

The command resolves exactly what ``bwcreds`` resolved: every inherited variable the
library would read is removed first (see :func:`child_environment`), then the resolved
credentials and their endpoints are added with ``BANDWIDTH_CREDENTIALS_SOURCES=env``.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter

from ._callback_creds import app_label, callback_environment, configured
from ._checks import Provenance, ServiceCredentials
from ._cli_output import printable
from ._errors import ConfigurationError, CredentialNotFoundError, CredentialsError
from ._resolver import Resolver
from ._schema import (
    HOST_FIELDS,
    KINDS,
    MESSAGING_TOKEN,
    OAUTH,
    PREFIXES,
    SERVICE_NAMES,
    SERVICES,
    canonical_service,
    env_scope,
)
from ._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any, TextIO

__all__ = ["add_exec_command", "child_environment", "credential_environment", "run_exec"]

#: The library's own setting naming the sources; the command gets ``env``.
SOURCES_VARIABLE = "BANDWIDTH_CREDENTIALS_SOURCES"

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


def _host_uses(credentials: ServiceCredentials) -> dict[str, str | None]:
    """The host overrides (``api_url``, ...) one service's endpoints are derived from,
    each with the value the service read (``None``: not set, the environment's host).

    The base URL follows its host's override unless a base URL was given; an OAuth token
    URL follows ``api_url`` unless a token URL was given."""
    explicit = credentials.endpoints
    uses: dict[str, str | None] = {}
    service_host = SERVICES[credentials.service].host
    if "base_url" not in explicit:
        for field, host_name in HOST_FIELDS.items():
            if host_name == service_host:
                uses[field] = explicit.get(field)
    if credentials.kind == OAUTH and "token_url" not in explicit:
        uses["api_url"] = explicit.get("api_url")
    return uses


def _shared_hosts(resolved: Iterable[ServiceCredentials]) -> dict[str, str]:
    """The host overrides every service that derives an endpoint from them read alike:
    those go to the command as themselves (``BW_VOICE_URL``), so it derives every URL
    (another account's too) as this process does. An override some of those services
    read and others did not has no per-service name: it is not passed, and the services
    that read it get their final URLs instead (see :func:`_service_variables`)."""
    values: dict[str, set[str | None]] = {}
    for credentials in resolved:
        for field, value in _host_uses(credentials).items():
            values.setdefault(field, set()).add(value)
    return {
        field: value
        for field, seen in values.items()
        if len(seen) == 1 and (value := next(iter(seen))) is not None
    }


def _service_variables(
    credentials: ServiceCredentials,
    provenance: Mapping[str, Provenance],
    shared_hosts: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """One service's credentials and endpoints as variable names without the prefix.

    Endpoints go in the form they were read: an explicit base URL or token URL as
    given, the environment as named; host overrides travel as themselves (in
    ``shared_hosts``, see :func:`_shared_hosts`), so the command derives the base URL of
    any account from them as this process does. Only when an override cannot be passed
    (services disagree on it) does the service get its final ``BASE_URL`` and, for
    OAuth, ``TOKEN_URL``, the endpoints this process would have used."""
    found: dict[str, str] = {"ACCOUNT_ID": credentials.account_id}
    for field, name in KINDS[credentials.kind].env:
        attribute = _HELD_AS.get(field, field) if credentials.kind == MESSAGING_TOKEN else field
        value = _plain(getattr(credentials, attribute))
        if value is not None:
            found[name] = value
    if credentials.kind == OAUTH and credentials.client_secret_expires_at is not None:
        # So the command warns before the secret expires, as this process would.
        found["CLIENT_SECRET_EXPIRES_AT"] = credentials.client_secret_expires_at
    # Only explicit settings: defaults follow from the account id and environment.
    explicit = set(credentials.endpoints) & set(provenance)
    if "environment" in explicit:
        found["ENVIRONMENT"] = credentials.environment
    if "base_url" in explicit:
        found["BASE_URL"] = credentials.endpoints["base_url"]
    if "token_url" in explicit:
        found["TOKEN_URL"] = credentials.endpoints["token_url"]
    passed = shared_hosts or {}
    for field, value in _host_uses(credentials).items():
        if value is None or passed.get(field) == value:
            continue
        if field == "api_url" and credentials.kind == OAUTH and "token_url" not in explicit:
            assert credentials.token_url is not None  # OAuth always has one
            found["TOKEN_URL"] = credentials.token_url
        if HOST_FIELDS[field] == SERVICES[credentials.service].host:
            found["BASE_URL"] = credentials.base_url
    return found


def credential_environment(
    services: Mapping[str, tuple[ServiceCredentials, Mapping[str, Provenance]] | Exception],
) -> dict[str, str]:
    """The ``BW_*`` variables that give a child process the resolved credentials.

    A variable every service has or would ignore (``BW_ACCOUNT_ID``, the pair all services
    share; the API user's pair, which Messaging ignores next to its own token) is passed
    unscoped, with the value most services have (the first one on a tie); a service whose
    value differs also gets its own scoped variable (``BW_VOICE_PASSWORD``), which the
    normalizer prefers for that service, with the rest of its pair, since a pair is read
    whole from one scope. Any other variable (one service's OAuth pair, an
    explicit environment) is passed scoped only, so it cannot reach a service that did
    not have it. Host overrides go unscoped, as themselves, when every service deriving
    an endpoint from one read it alike (see :func:`_shared_hosts`). A child using this
    library (with ``BANDWIDTH_CREDENTIALS_SOURCES=env``) resolves exactly what this
    process did, for the configured account and for any other (``account_id=``).
    """
    resolved = {
        name: outcome for name, outcome in services.items() if not isinstance(outcome, Exception)
    }
    hosts = _shared_hosts(credentials for credentials, _ in resolved.values())
    per_service: dict[str, dict[str, str]] = {}
    kinds: dict[str, str] = {}
    for name, (credentials, provenance) in resolved.items():
        per_service[name] = _service_variables(credentials, provenance, hosts)
        kinds[name] = credentials.kind
    counts: dict[str, Counter[str]] = {}
    for variables in per_service.values():
        for variable, value in variables.items():
            counts.setdefault(variable, Counter())[value] += 1
    shared = {
        # The most common value, the first seen on a tie (as most_common(1), without heapq).
        variable: max(counter, key=counter.__getitem__)
        for variable, counter in counts.items()
        if variable != "BASE_URL"  # a base URL is per service by nature
        and all(
            name in per_service
            and (variable in per_service[name] or _ignored(name, kinds[name], variable))
            for name in SERVICE_NAMES
        )
    }
    scoped: dict[str, str] = {}
    for name, variables in per_service.items():
        differ = {
            variable for variable, value in variables.items() if shared.get(variable) != value
        }
        group = {env_name for _, env_name in KINDS[kinds[name]].env}
        if differ & group:
            # A pair is read whole from one scope: a scoped user name beside the shared
            # password would leave the pair to the shared names.
            differ |= group & set(variables)
        scoped.update({f"BW_{_scope(name)}_{v}": variables[v] for v in sorted(differ)})
    return {
        **{f"BW_{field.upper()}": value for field, value in hosts.items()},
        **{f"BW_{name}": value for name, value in shared.items()},
        **scoped,
    }


def child_environment(
    environ: Mapping[str, str],
    services: Mapping[str, tuple[ServiceCredentials, Mapping[str, Provenance]] | Exception],
    prefixes: Iterable[str] = (),
) -> dict[str, str]:
    """The environment for ``exec``'s command: ``environ`` without any variable this
    library would read (documented names under ``BW_``, ``BANDWIDTH_`` and ``prefixes``,
    their ``_FILE`` forms, ``BANDWIDTH_CREDENTIALS_SOURCES``), plus the resolved
    credentials (:func:`credential_environment`) and ``BANDWIDTH_CREDENTIALS_SOURCES=env``.

    So the command's own resolution is this process's: an inherited ``BW_TOKEN_URL`` that
    this process ignored (the credentials came from elsewhere) is not there to steer the
    command, and an inherited ``BW_VOICE_USERNAME`` cannot beat what was resolved.
    Variables other tools own are kept (Bitwarden's ``BW_SESSION``, and its
    ``BW_PASSWORD`` when Bitwarden's variables show it is Bitwarden's; the resolved
    password then travels as ``BANDWIDTH_PASSWORD``).
    """
    from ._keys import SCHEMA, bitwarden_present

    # Each prefix on its own: a name one prefix reads as nothing (BW_VOICE_URL under a
    # custom BW_VOICE_) may be a field under another (the command's BW_).
    every = [(prefix,) for prefix in dict.fromkeys((*PREFIXES, *prefixes))]
    bitwarden = bitwarden_present(environ)
    child: dict[str, str] = {}
    for name, value in environ.items():
        upper = name.upper()
        base = name[: -len("_FILE")] if upper.endswith("_FILE") else name
        ours = next(
            (
                found
                for one in every
                if (found := SCHEMA.env_name(name, one) or SCHEMA.env_name(base, one))
            ),
            None,
        )
        if ours == "BW_PASSWORD" and bitwarden and upper == "BW_PASSWORD":
            ours = None  # Bitwarden's master password: the library does not read it either
        if ours is None and upper != SOURCES_VARIABLE:
            child[name] = value
    added = credential_environment(services)
    if bitwarden and "BW_PASSWORD" in added:
        added["BANDWIDTH_PASSWORD"] = added.pop("BW_PASSWORD")
    child.update(added)
    child[SOURCES_VARIABLE] = "env"
    return child


def _ignored(service: str, kind: str, variable: str) -> bool:
    """Whether ``service``, having resolved ``kind``, ignores ``variable`` (a name without
    the prefix): a field of a kind it ranks lower or does not take (Voice and a Messaging
    token), or the token URL of a non-OAuth kind."""
    if variable == "TOKEN_URL":
        return kind != OAUTH
    ranked = SERVICES[service].kinds
    heeded = ranked[: ranked.index(kind) + 1]
    owners = [other for other in KINDS if any(variable == n for _, n in KINDS[other].env)]
    return bool(owners) and all(owner not in heeded for owner in owners)


def _scope(service: str) -> str:
    return env_scope(service)


def _env_prefixes(resolver: Resolver) -> list[str]:
    """Custom prefixes (``env?prefix=APP_BW_``) of the resolver's env and dotenv sources."""
    found: list[str] = []
    for source in resolver.sources:
        if source.scheme in ("env", "dotenv"):
            found += [p.strip().upper() for p in source.values("prefix") if p.strip()]
    return found


def _for_account(
    resolver: Resolver, services: Mapping[str, Any], required: list[str], account_id: str
) -> tuple[dict[str, Any], list[str]]:
    """Every resolved service's credentials for ``account_id`` (``--account-id``), the
    required ones checked as ``get_auth(service, account_id=...)`` checks them (against
    the access token's accounts); also the problems found."""
    from ._discovery import with_account

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


def _with_callbacks(
    services: Mapping[str, Any], callbacks: Mapping[Any, Any], required: list[str]
) -> tuple[list[str], list[str]]:
    """With no ``--service``, as ``bwcreds check`` counts them: the services that must be
    ready, and the problems of the callback credentials. Configured callback credentials
    must be usable; when they are all there is (no API credentials configured at all,
    as for a server that only receives callbacks), no service is required."""
    problems = [
        f"{app_label(scope)}: {outcome}"
        for scope, outcome in callbacks.items()
        if isinstance(outcome, Exception) and configured(outcome)
    ]
    receives_only = any(
        not isinstance(outcome, Exception) for outcome in callbacks.values()
    ) and all(isinstance(outcome, CredentialNotFoundError) for outcome in services.values())
    return ([] if receives_only else required), problems


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
    from ._checks import check_account_argument

    # Before resolving, which may ask for a token: a malformed id is refused first.
    args.account_id = check_account_argument(args.account_id)
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
    if not args.service and not problems:
        required, problems = _with_callbacks(services, callbacks, required)
    if args.account_id is not None and not problems:
        services, problems = _for_account(resolver, services, required, args.account_id)
    for name in required if not problems else ():
        outcome = services[name]
        if isinstance(outcome, Exception):
            problems.append(f"{name}: {outcome}")
    # The command name is outside text too: one line, escaped, wherever it is shown.
    name = printable(command[0])
    if problems:
        err.write(f"bwcreds exec: credentials are not ready; {name} was not started\n")
        for line in problems:
            err.write(printable(line) + "\n")
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
    environment = child_environment(os.environ, services, _env_prefixes(resolver))
    environment.update(callback_environment(callbacks))  # callback credentials are ours too
    resolver.close()
    out.flush()
    err.flush()
    try:
        os.execvpe(command[0], command, environment)  # noqa: S606 - running CMD is the point
    except FileNotFoundError:
        err.write(f"bwcreds exec: command not found: {name}\n")
        return EXIT_NOT_FOUND
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        err.write(f"bwcreds exec: cannot run {name}: {printable(reason)}\n")
        return EXIT_CANNOT_RUN


def add_exec_command(commands: Any, sources_help: str) -> None:
    """Add the ``exec`` subcommand to the ``bwcreds`` argument parser."""
    parser = commands.add_parser(
        "exec",
        help="run a command with the resolved credentials in BW_* variables",
        description=(
            "Resolve credentials, then replace this process with CMD, adding BW_ACCOUNT_ID, "
            "BW_CLIENT_ID, BW_CLIENT_SECRET (and BW_TOKEN_URL, BW_ACCESS_TOKEN, "
            "BW_ENVIRONMENT when set; the legacy BW_USERNAME, BW_PASSWORD, BW_API_TOKEN, "
            "BW_API_SECRET, with a notice on stderr, when those are what was found) to its "
            "environment, and the callback credentials resolved (current and previous). "
            "CMD is not started when a required service has no usable credentials, or "
            "(without --service) configured callback credentials are unusable; with "
            "callback credentials and no API credentials configured at all, it is."
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
