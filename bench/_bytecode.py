"""Compile the measured packages to bytecode before any fresh-process timing.

``pip install`` of a wheel writes ``__pycache__`` for every module, so that is the state
users start from. An editable checkout run with ``PYTHONDONTWRITEBYTECODE=1`` (or from a
read-only tree) has none, and every fresh process would then compile this project's
sources while the standard library and the other side of each comparison load ready
bytecode: a 20-30 ms handicap that measures the checkout, not the library.
"""

from __future__ import annotations

import compileall
import importlib.util
from pathlib import Path


def compile_packages(*names: str) -> None:
    """Write bytecode for each named top-level package, as ``pip install`` does."""
    for name in names:
        spec = importlib.util.find_spec(name)  # finds the package without importing it
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit(f"{name} is not installed")
        for location in spec.submodule_search_locations:
            if not compileall.compile_dir(Path(location), quiet=1):
                raise SystemExit(f"could not compile {location}")
