"""``dotenv:PATH``: credentials from a ``.env`` file, parsed by python-dotenv."""

from __future__ import annotations

import io
import os

from .._errors import ConfigurationError, SourceNotFoundError
from .._provider import DEFAULT_MAX_SIZE, Fetched, Provider, Source, max_size_option
from .env import prefixes_option, recognize, select_prefixed

DEFAULT_PATH = ".env"


def _nearest_parent_dotenv(start: str) -> str | None:
    """The nearest ``.env`` above ``start``, found by ``stat`` alone (it is never opened)."""
    directory = os.path.dirname(start)
    while True:
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent
        candidate = os.path.join(directory, DEFAULT_PATH)
        if os.path.isfile(candidate):
            return candidate


class DotenvProvider(Provider):
    """Reads a ``.env`` file and parses it with python-dotenv.

    URI: ``dotenv:PATH`` (``dotenv`` alone, or ``dotenv:.env``, means ``.env`` in the
    working directory), options

    - ``prefix`` (as for ``env``): only ``BW_*``/``BANDWIDTH_*`` names count by default;
    - ``interpolate=true`` expands ``${VAR}`` from the file and the process environment
      (python-dotenv's rules). By default values are taken literally, as stored:
      ``BW_PASSWORD='Xy${Qz}9!w'`` is the password ``Xy${Qz}9!w``;
    - ``max_size=BYTES``, the largest file read (default 65536, at most 16 MiB): a
      ``.env`` holding credentials is a few hundred bytes, so anything near the limit
      is a wrong path, and it is refused from its size without being read.

    Names match case-insensitively in ASCII only. A Bandwidth name set twice in the file
    to different values is a :class:`ConfigurationError` naming both lines (python-dotenv
    alone would keep the last one silently).

    The file is opened without blocking and must be a regular file (a FIFO, device or
    directory is a :class:`SourceFormatError`); a leading UTF-8 BOM is removed. When the
    default ``.env`` is missing but a parent directory has one, the not-found message
    names it (``found ../.env; point the source at it with dotenv:../.env``) without
    reading it. ``os.environ`` is never modified.

    >>> from bandwidth_credentials import Resolver
    >>> Resolver(["dotenv:config/bandwidth.env"]).get_auth("voice")  # doctest: +SKIP

    Raises :class:`SourceNotFoundError`, :class:`SourceAccessDeniedError`,
    :class:`SourceFormatError` (not a regular file, too large, not UTF-8) or
    :class:`SourceUnavailableError` (other I/O errors), each naming the path.
    """

    scheme = "dotenv"
    read_only_reason = (
        "a .env file is edited by hand; keep the secret in a file: source to rotate it"
    )
    options = frozenset({"prefix", "interpolate", "max_size"})
    list_options = frozenset({"prefix"})

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        target = source.target.strip()
        self._default_path = target in ("", DEFAULT_PATH)
        self.path = os.path.expanduser(target or DEFAULT_PATH)
        self._prefixes = prefixes_option(source)
        self._interpolate = source.flag("interpolate", False)
        self.max_size = max_size_option(source, DEFAULT_MAX_SIZE)

    def fetch(self) -> Fetched:
        uri = self.source.uri
        if not os.path.lexists(self.path):
            # The common case of the default chain's optional .env: answered without
            # loading the file reader.
            reason = f"{self.path} does not exist"
            if self._default_path:
                reason += self._parent_hint()
            raise SourceNotFoundError(f"source {uri}: {reason}", source=uri)
        from .._files import SecretFileError, read_file

        failure: SecretFileError | None = None
        try:
            read = read_file(self.path, self.max_size)
        except SecretFileError as exc:
            failure = exc
        if failure is not None:
            reason = failure.reason
            if failure.kind is SourceNotFoundError and self._default_path:
                reason += self._parent_hint()
            raise failure.kind(f"source {uri}: {reason}", source=uri)
        self._no_redefinition(read.text)
        # Imported here so `import bandwidth_credentials` stays cheap.
        from dotenv import dotenv_values

        raw = dotenv_values(stream=io.StringIO(read.text), interpolate=self._interpolate)
        pairs = ((k, v) for k, v in raw.items() if v is not None)
        info = read.info
        values, names, skipped = recognize(
            select_prefixed(pairs, self._prefixes), self._prefixes, self.schema
        )
        version = f"{info.st_mtime_ns}:{info.st_size}"
        return Fetched(values, version, key_names=names, skipped=skipped)

    def _no_redefinition(self, text: str) -> None:
        """Raise :class:`ConfigurationError` when a Bandwidth name is set twice to different
        values (python-dotenv would silently keep the last), naming both lines."""
        from dotenv.parser import parse_stream

        first: dict[str, tuple[int, str | None]] = {}
        clash: tuple[str, int, int] | None = None
        for binding in parse_stream(io.StringIO(text)):
            key = binding.key
            if key is None or self.schema.env_name(key, self._prefixes) is None:
                continue
            line = binding.original.line
            seen = first.setdefault(key, (line, binding.value))
            if seen[1] != binding.value:
                clash = (key, seen[0], line)
                break
        if clash is not None:
            uri = self.source.uri
            key, earlier, later = clash
            raise ConfigurationError(
                f"source {uri}: {key} is set twice, on lines {earlier} and {later}, to "
                "different values; remove one",
                source=uri,
            )

    def _parent_hint(self) -> str:
        found = _nearest_parent_dotenv(os.path.abspath(self.path))
        if found is None:
            return ""
        shown = os.path.relpath(found)
        return f"; found {shown}; point the source at it with dotenv:{shown}"
