"""What an access token says (:class:`TokenClaims`) and what the online check found
(:class:`Verification`), as values. Importing them costs nothing: the token decoder
(:mod:`._jwt`, with JSON and base64) and the online check (:mod:`._verify`, with the HTTP
client) load only when used."""

from __future__ import annotations

from ._typing import NamedTuple

__all__ = ["CallbackVerification", "TokenClaims", "Verification"]


class TokenClaims(NamedTuple):
    """The claims this library reads from an access token (none of them secret).

    ``accounts`` and ``roles`` as tuples of strings (numeric ids become strings),
    ``express`` true for a Build account, ``expires_at`` the ``exp`` claim in epoch
    seconds (``None`` when absent).

    >>> get_auth("voice").token_claims()                            # doctest: +SKIP
    TokenClaims(accounts=('920012',), roles=('Voice',), express=False, expires_at=...)
    """

    accounts: tuple[str, ...]
    roles: tuple[str, ...]
    express: bool
    expires_at: float | None

    def excludes(self, account_id: str) -> bool:
        """Whether ``accounts`` rules ``account_id`` out: it lists accounts, not that one.
        A token listing none is not checked (the account is taken as given; the API
        decides): the one rule of ``get_auth(account_id=...)``, the configured account's
        check and ``bwcreds token --account-id``.

        >>> TokenClaims(("920012",), (), False, None).excludes("920013")
        True
        >>> TokenClaims((), (), False, None).excludes("920013")
        False
        """
        return bool(self.accounts) and account_id not in self.accounts


class Verification(NamedTuple):
    """The online check of one service.

    ``outcome`` is ``verified`` (Bandwidth accepted the credentials), ``refused`` (the
    token endpoint or the account resource said 400/401/403), ``unverified`` (no
    answer either way: unreachable, 5xx, a redirect, a credential kind that cannot be
    checked), ``unavailable`` (accepted, but the account cannot use this API: Build
    account, account not in the token), ``claims`` (a static token: only its claims
    were read) or ``unresolved`` (no usable credentials; ``detail`` is the error).
    ``status`` is the HTTP status of the check request, ``claims`` what the access token
    says (``None`` for Basic or a token that is not a JWT), ``reason`` a machine-readable
    reason where one applies (``"basic_decommissioned"``: Basic credentials bound for
    Bandwidth's hosts after 2026-12-02, as offline ``bwcreds check --json`` says).

    >>> [(v.service, v.outcome) for v in verify(["voice"])]          # doctest: +SKIP
    [('voice', 'verified')]
    """

    service: str
    ready: bool
    outcome: str
    detail: str
    scheme: str | None = None
    kind: str | None = None
    account_id: str | None = None
    environment: str | None = None
    status: int | None = None
    claims: TokenClaims | None = None
    reason: str | None = None


class CallbackVerification(NamedTuple):
    """A callback request that proved it came from Bandwidth.

    ``scheme`` is the strongest scheme that matched (``"subscriptions"`` or ``"tfv"``,
    whose HMAC covers the body, before ``"basic"``), ``schemes`` every scheme that was
    presented and matched, ``previous`` whether any of them matched only a previous value
    (a rotation still under way), ``app`` the application scope (``None``: shared).

    >>> get_callback_auth().verify(request.headers, request.get_data())  # doctest: +SKIP
    CallbackVerification(scheme='basic', schemes=('basic',), previous=False, app=None)
    """

    scheme: str
    schemes: tuple[str, ...]
    previous: bool
    app: str | None
