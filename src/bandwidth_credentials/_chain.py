"""The source chain: per-source state, due and change checks, and every call into a provider.

It is the only caller of providers. Every call (``fetch``, ``current_version``,
``close``, ``after_fork``) goes through one wrapper, :func:`._errors.guarded`, that turns a
foreign exception into a :class:`SourceError` keeping only the exception's type name, raised
outside the ``except`` block so nothing of the foreign exception (which may quote a secret)
stays reachable.

Freshness per source:

- ``ttl`` (seconds; remote stores default to their provider's ``default_ttl``, ``env`` and
  ``dotenv`` never expire): the deadline carries about ±10% jitter, so a fleet started
  together does not refresh in lockstep;
- ``check_interval`` (providers that can tell cheaply whether they changed): when the
  provider's ``current_version()`` moves, or can no longer be answered, the source is due;
- ``max_stale`` (seconds, default 3600): how long the last good values may still be served
  once the source has gone stale (its TTL passed, or a refresh of it failed).
"""

from __future__ import annotations

from ._errors import SourceError, guarded
from ._log import logger
from ._provider import Fetched, Provider, Source
from ._refresh import jittered
from ._registry import provider_class
from ._typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from ._provider import KeySchema

__all__ = ["DEFAULT_MAX_STALE", "Failed", "SourceChain"]

DEFAULT_MAX_STALE = 3600.0


class Failed(NamedTuple):
    """A source that failed in this refresh, and whether it was optional (skipped)."""

    error: SourceError
    optional: bool


class _State:
    """What the chain knows about one source between refreshes."""

    __slots__ = (
        "check_at",
        "expires_at",
        "fetched",
        "max_stale",
        "provider",
        "skipped",
        "stale_since",
        "ttl",
    )

    def __init__(self, provider: Provider) -> None:
        source = provider.source
        self.provider = provider
        self.ttl = source.number("ttl", provider.default_ttl)
        self.max_stale = source.number("max_stale", DEFAULT_MAX_STALE)
        self.fetched: Fetched | None = None
        self.skipped: str | None = None  # why an optional source was left out (its reason)
        self.expires_at: float | None = None
        self.check_at: float | None = None
        self.stale_since: float | None = None  # when the values went stale (failed refresh)


def _reason(error: SourceError, uri: str) -> str:
    """An error's message without its leading ``source URI:``."""
    return str(error).removeprefix(f"source {uri}: ")


def _translator(provider: Provider, action: str) -> Callable[[Exception], Exception]:
    source = provider.source

    def translate(exc: Exception) -> Exception:
        return SourceError(
            f"source {source.uri}: the {source.scheme} provider failed {action} "
            f"({type(exc).__name__})",
            source=source.uri,
        )

    return translate


class SourceChain:
    """The configured sources, highest precedence first, and their state."""

    def __init__(
        self, sources: Sequence[Source], schema: KeySchema, clock: Callable[[], float]
    ) -> None:
        states = []
        for source in sources:
            provider = provider_class(source.scheme)(source)
            provider.schema = schema
            states.append(_State(provider))
        self.sources = tuple(sources)
        self._states = tuple(states)
        self._clock = clock

    def worst_case(self) -> float:
        """Seconds one refresh may spend in the providers: each source's
        :attr:`Provider.worst_case` twice (a change check and a fetch), added up. A value
        that is not a finite, non-negative number counts as none (the bound stays finite)."""
        total = 0.0
        for state in self._states:
            bound = state.provider.worst_case
            if isinstance(bound, (int, float)) and 0 <= bound < float("inf"):
                total += 2 * float(bound)
        return total

    # -- provider calls, all through one wrapper -------------------------------------------

    def _fetch(self, state: _State) -> Fetched:
        provider = state.provider
        fetched = guarded(provider.fetch, _translator(provider, "to fetch"))
        if not isinstance(fetched, Fetched):
            raise SourceError(
                f"source {provider.source.uri}: the {provider.source.scheme} provider returned "
                f"a {type(fetched).__name__}, not Fetched",
                source=provider.source.uri,
            )
        return fetched

    def read(self, index: int) -> Fetched:
        """Fetch source ``index`` now, outside the refresh bookkeeping (``bwcreds rotate``
        reads and writes one source), through the same wrapper as every fetch."""
        return self._fetch(self._states[index])

    def store_problem(self, index: int) -> str | None:
        """Why source ``index`` cannot be written (``Provider.store_problem``), or None."""
        provider = self._states[index].provider
        problem: str | None = guarded(provider.store_problem, _translator(provider, "to check"))
        return problem

    def store(self, index: int, values: Mapping[str, object], expected: str | None) -> str | None:
        """Write source ``index`` (``Provider.store``) through the one error wrapper."""
        provider = self._states[index].provider
        version: str | None = guarded(
            lambda: provider.store(values, expected), _translator(provider, "to write")
        )
        return version

    def _moved(self, state: _State) -> bool:
        """Whether a change check says the source moved (or cannot be checked any more)."""
        provider = state.provider
        try:
            current = guarded(provider.current_version, _translator(provider, "its change check"))
        except SourceError:
            return True  # fetch again: that fetch reports what is wrong
        fetched = state.fetched
        return current is not None and (fetched is None or current != fetched.version)

    def close(self) -> None:
        """Release every provider's clients (errors are logged by type only)."""
        for state in self._states:
            self._quietly(state.provider, state.provider.close, "close")

    def after_fork(self) -> None:
        """In a forked child: let every provider drop what it inherited."""
        for state in self._states:
            self._quietly(state.provider, state.provider.after_fork, "after_fork")

    @staticmethod
    def _quietly(provider: Provider, action: Callable[[], None], name: str) -> None:
        try:
            guarded(action, _translator(provider, name))
        except SourceError as exc:
            logger.info("%s", exc)

    # -- freshness --------------------------------------------------------------------------

    def due(self, now: float, force: bool) -> list[int]:
        """Indices of the sources to fetch now (every one when ``force``)."""
        found = []
        for index, state in enumerate(self._states):
            if force or self._is_due(state, now):
                found.append(index)
        return found

    def _is_due(self, state: _State, now: float) -> bool:
        if state.fetched is None and state.skipped is None:
            return True  # never fetched
        if state.expires_at is not None and now >= state.expires_at:
            return True
        interval = state.provider.check_interval
        if interval is not None and state.check_at is not None and now >= state.check_at:
            state.check_at = now + interval
            return self._moved(state)
        return False

    def fetch(self, indices: Sequence[int]) -> dict[int, Fetched | Failed]:
        """Fetch the given sources once each (outside any lock): a result or a failure."""
        results: dict[int, Fetched | Failed] = {}
        for index in indices:
            state = self._states[index]
            try:
                results[index] = self._fetch(state)
            except SourceError as exc:
                results[index] = Failed(exc, state.provider.source.optional)
        return results

    def current(self, results: dict[int, Fetched | Failed]) -> list[tuple[Source, Fetched]]:
        """What every source holds if ``results`` were committed (skipped ones left out)."""
        pairs = []
        for index, state in enumerate(self._states):
            result = results.get(index, state.fetched)
            if isinstance(result, Fetched):
                pairs.append((state.provider.source, result))
        return pairs

    def commit(self, results: dict[int, Fetched | Failed], now: float) -> None:
        """Record a successful refresh: new values, new deadlines, skipped optional sources."""
        for index, result in results.items():
            state = self._states[index]
            interval = state.provider.check_interval
            state.check_at = None if interval is None else now + interval
            state.expires_at = None if state.ttl is None else now + jittered(state.ttl)
            state.stale_since = None
            if isinstance(result, Failed):
                state.fetched = None
                uri = state.provider.source.uri
                state.skipped = _reason(result.error, uri)
            else:
                state.fetched = result
                state.skipped = None

    def mark_failed(self, indices: Sequence[int], now: float) -> None:
        """Record that a refresh of these sources failed: their values are stale from now
        (or from their TTL deadline, if that came first), and they stay due."""
        for index in indices:
            state = self._states[index]
            if state.stale_since is None:
                expired = state.expires_at
                state.stale_since = expired if expired is not None and expired <= now else now
            interval = state.provider.check_interval
            if interval is not None:
                state.check_at = now  # checked (and refetched) again at the next attempt

    def invalidate(self) -> None:
        """Make every source due (its values were refused, or a snapshot was restored)."""
        for state in self._states:
            if state.fetched is not None or state.skipped is not None:
                state.expires_at = float("-inf")

    # -- deadlines for the snapshot -------------------------------------------------------

    def due_at(self) -> float:
        """The earliest time any source must be looked at again (``inf``: never)."""
        times = [t for s in self._states for t in (s.expires_at, s.check_at) if t is not None]
        return min(times, default=float("inf"))

    def stale_limit(self) -> float:
        """The time after which the current values may no longer be served (``inf``: never)."""
        limits = []
        for state in self._states:
            since = state.stale_since if state.stale_since is not None else state.expires_at
            if since is not None and state.max_stale is not None:
                limits.append(since + state.max_stale)
        return min(limits, default=float("inf"))

    def outcomes(self, results: dict[int, Fetched | Failed]) -> tuple[tuple[str, str], ...]:
        """What each source gave if ``results`` were committed: ``read`` or why skipped."""
        said = []
        for index, state in enumerate(self._states):
            uri = state.provider.source.uri
            result = results.get(index, state.fetched)
            if isinstance(result, Failed):
                said.append((uri, f"skipped: {_reason(result.error, uri)}"))
            elif result is None and state.skipped is not None:
                said.append((uri, f"skipped: {state.skipped}"))
            else:
                said.append((uri, "read"))
        return tuple(said)

    def skipped(self) -> tuple[str, ...]:
        """Optional sources left out of the current values: ``URI: why`` for each."""
        return tuple(
            f"{s.provider.source.uri}: {s.skipped}" for s in self._states if s.skipped is not None
        )
