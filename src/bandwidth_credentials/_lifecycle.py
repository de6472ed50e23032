"""Process lifecycles: fork, AWS Lambda and Lambda SnapStart.

- **Fork** (gunicorn ``--preload``, multiprocessing): a child inherits locks that another
  thread of the parent held and flags of refreshes whose threads do not exist in the child.
  ``os.register_at_fork(after_in_child=...)`` resets every live resolver (new locks, no
  flight, providers drop their clients) and every OAuth token manager's in-flight state.
- **Lambda** (``AWS_LAMBDA_FUNCTION_NAME`` is set): the sandbox is frozen between
  invocations, so a background refresh thread would not run; due refreshes run inline.
- **SnapStart**: a restored snapshot brings back cached tokens and deadlines as old as the
  snapshot. When ``snapshot_restore_py`` (AWS's runtime hooks for Python) is importable, an
  after-restore hook invalidates every token, makes every source due and reseeds the
  ``random`` module (a forked child's is reseeded by Python itself).
"""

from __future__ import annotations

import os
import sys
import weakref

from ._typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["in_lambda", "on_fork", "register_resolver", "restored"]


class _Resettable(Protocol):
    def _after_fork(self) -> None: ...

    def _after_restore(self) -> None: ...


_resolvers: weakref.WeakSet[_Resettable] = weakref.WeakSet()
_fork_hooks: list[Callable[[], None]] = []
_registered = False


def in_lambda() -> bool:
    """Whether this process is an AWS Lambda function (the runtime sets this variable)."""
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def on_fork(hook: Callable[[], None]) -> None:
    """Run ``hook`` in every forked child (module-level locks, caches)."""
    _fork_hooks.append(hook)


def _after_fork_in_child() -> None:
    for hook in _fork_hooks:
        hook()
    oauth = sys.modules.get("bandwidth_credentials._oauth")
    if oauth is not None:
        oauth.reset_after_fork()
    for resolver in list(_resolvers):
        resolver._after_fork()


def restored() -> None:
    """After a SnapStart restore: every cached token is dropped, every source is due, and
    the ``random`` module (if loaded) is reseeded from ``os.urandom``: dependencies draw
    their retry jitter from it (botocore, google-api-core), and its state in the snapshot
    is every restored environment's."""
    shared = sys.modules.get("random")
    if shared is not None:
        shared.seed()
    oauth = sys.modules.get("bandwidth_credentials._oauth")
    if oauth is not None:
        oauth.invalidate_all()
    for resolver in list(_resolvers):
        resolver._after_restore()


def _register_snapstart() -> None:
    try:
        from snapshot_restore_py import register_after_restore  # type: ignore[import-not-found]
    except ImportError:
        return
    register_after_restore(restored)


def register_resolver(resolver: _Resettable) -> None:
    """Track ``resolver`` for the fork and restore hooks (weakly: it may be discarded)."""
    global _registered
    if not _registered:
        _registered = True
        if in_lambda():
            _register_snapstart()
    _resolvers.add(resolver)


# At import, not with the first resolver: the module-level locks (the default resolver's,
# the registry's, the token managers') may be held by another thread while that first
# resolver is being built, and a child forked then would inherit them held.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
