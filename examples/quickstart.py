"""Resolve credentials for every Bandwidth API and show what a client would send.

Run from the repository root, with the virtualenv of "The two commands" in README.md:

    export BANDWIDTH_CREDENTIALS_SOURCES=dotenv:examples/example.env
    .venv/bin/python examples/quickstart.py

The bundled example holds OAuth 2.0 client credentials, so every API gets a bearer token.
No request is made (not even to the token endpoint: a token is fetched on the first
``headers()``); the Authorization scheme is shown with its value masked.
"""

from __future__ import annotations

from bandwidth_credentials import SERVICE_NAMES, CredentialsError, get_auth


def main() -> int:
    status = 0
    width = max(map(len, SERVICE_NAMES))
    for service in SERVICE_NAMES:
        try:
            auth = get_auth(service)
        except CredentialsError as exc:
            print(f"{service:<{width}}  not ready: {exc}")
            status = 1
            continue
        scheme = auth.scheme.capitalize()
        endpoint = auth.url("messages") if service == "messaging" else auth.base_url
        print(f"{service:<{width}}  {endpoint}  Authorization: {scheme} ****")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
