"""Reading and writing the files of a model directory: every problem on reading is a ModelError naming the file."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ModelError


def write_lines(path: Path, items: Sequence[str]) -> None:
    """One entry per line, so that line i is row i: an empty list is an empty file, and a line break
    inside an entry (possible only for tokens given through the Python API) becomes a space."""
    path.write_text("".join(s.replace("\r", " ").replace("\n", " ") + "\n" for s in items), encoding="utf-8")


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Deterministic .npz (fixed zip timestamps), so the same arrays give byte-identical files."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as fh:
                np.lib.format.write_array(fh, np.ascontiguousarray(arrays[name]), allow_pickle=False)


def _missing(path: Path) -> ModelError:
    return ModelError(f"{path}: missing; the model directory is incomplete — retrain or copy the whole directory")


def load_arrays(path: Path, required: Sequence[str] = ()) -> dict[str, np.ndarray]:
    """The arrays of an .npz file (never pickles), which must include ``required``."""
    if not path.exists():
        raise _missing(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except Exception as exc:  # zipfile.BadZipFile, ValueError, EOFError, ...
        raise ModelError(
            f"{path}: cannot be read ({type(exc).__name__}: {exc}); the file is truncated or corrupt — "
            "retrain the model or copy it again"
        ) from None
    missing = [n for n in required if n not in arrays]
    if missing:
        raise ModelError(f"{path}: arrays {', '.join(missing)} are missing; retrain the model")
    return arrays


def read_text(path: Path) -> str:
    if not path.exists():
        raise _missing(path)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ModelError(
            f"{path}: not valid UTF-8 (byte offset {exc.start}); the file is corrupt — "
            "retrain the model or copy it again"
        ) from None
    except OSError as exc:  # e.g. a directory in place of the file
        raise ModelError(
            f"{path}: cannot be read ({exc.strerror or exc}); retrain the model or copy it again"
        ) from None


def read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise _missing(path)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ModelError(
            f"{path}: cannot be read ({exc.strerror or exc}); retrain the model or copy it again"
        ) from None


def read_lines(path: Path) -> list[str]:
    """The entries :func:`write_lines` wrote."""
    text = read_text(path)
    return text[:-1].split("\n") if text.endswith("\n") else text.split("\n") if text else []
