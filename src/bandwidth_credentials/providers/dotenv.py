"""``dotenv:PATH``: credentials from a ``.env`` file, parsed by python-dotenv."""

from __future__ import annotations

import os

from .._errors import SourceAccessDeniedError, SourceFormatError, SourceNotFoundError
from .._provider import Fetched, Provider, Source
from .env import prefixes_option, recognize, select_prefixed


class DotenvProvider(Provider):
    """Reads a ``.env`` file with python-dotenv's ``dotenv_values``.

    URI: ``dotenv:PATH`` (``dotenv`` alone means ``.env`` in the working directory),
    options ``prefix`` (as for ``env``) and ``interpolate=false`` to turn off
    ``${VAR}`` expansion. The file is read as an environment would be: only
    ``BW_*``/``BANDWIDTH_*`` names count. ``os.environ`` is never modified.
    """

    scheme = "dotenv"
    options = frozenset({"prefix", "interpolate"})
    list_options = frozenset({"prefix"})

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        self.path = os.path.expanduser(source.target or ".env")
        self._prefixes = prefixes_option(source)
        self._interpolate = source.flag("interpolate", True)

    def fetch(self) -> Fetched:
        uri = self.source.uri
        if not os.path.exists(self.path):
            raise SourceNotFoundError(f"source {uri}: file {self.path} does not exist", source=uri)
        if os.path.isdir(self.path):
            raise SourceFormatError(
                f"source {uri}: {self.path} is a directory, not a .env file", source=uri
            )
        try:
            stat = os.stat(self.path)
            # Imported here so `import bandwidth_credentials` stays cheap.
            from dotenv import dotenv_values

            raw = dotenv_values(self.path, interpolate=self._interpolate, encoding="utf-8")
        except PermissionError:
            raise SourceAccessDeniedError(
                f"source {uri}: permission denied reading {self.path}", source=uri
            ) from None
        except UnicodeDecodeError:
            raise SourceFormatError(
                f"source {uri}: {self.path} is not UTF-8 text", source=uri
            ) from None
        except OSError as exc:
            raise SourceNotFoundError(
                f"source {uri}: cannot read {self.path}: {exc.strerror or type(exc).__name__}",
                source=uri,
            ) from None
        pairs = ((k, v) for k, v in raw.items() if v is not None)
        values, names, skipped = recognize(
            select_prefixed(pairs, self._prefixes), self._prefixes, self.schema
        )
        version = f"{stat.st_mtime_ns}:{stat.st_size}"
        return Fetched(values, version, key_names=names, skipped=skipped)
