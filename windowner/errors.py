"""User-facing errors: each says what is wrong and, where it can, what to do next."""

from __future__ import annotations


class WindownerError(Exception):
    """Base class for errors caused by input or configuration; the CLI prints them and exits 2."""


class DataError(WindownerError, ValueError):
    """Bad input data; ``path`` and ``line`` locate it (``line`` is 1-based, or None)."""

    def __init__(self, path, line: int | None, message: str):
        self.path, self.line, self.message = str(path), line, message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class LabelWarning(UserWarning):
    """Entity types that are dropped or never seen: data labels outside ``labels`` (turned into O), ``labels``
    that never occur, gold types a model does not predict. The CLI prints each as one ``warning:`` line."""


class ModelError(WindownerError, OSError):
    """A model directory that is missing, incomplete, corrupt or of an unknown format."""
