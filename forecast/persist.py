"""Saving and loading results: exact, JSON-based, never overwriting unasked.

Arrays of draws are stored as base64 of little-endian float64 (exact, and smaller than
decimal text); tables column by column the same way (dates as int64 nanoseconds, text as
lists). Every write goes to a temporary sibling first and is renamed into place, so a crash
leaves either the old file or the new one, never half of one. A write that fails (a full
disk, a file too large, no permission) raises :class:`~forecast.errors.WriteError` naming
the path, with nothing written and the earlier state intact (issue 38).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import errno
import json
import os
import shutil
import tempfile
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecast.errors import ForecastError, WriteError

__all__ = [
    "array_from_json",
    "array_to_json",
    "frame_from_json",
    "frame_to_json",
    "install_directory",
    "json_default",
    "json_float",
    "json_records",
    "read_json_file",
    "resolve_target",
    "write_directory_atomic",
    "write_error",
    "write_file_atomic",
    "write_text_atomic",
]


def array_to_json(values) -> dict[str, Any]:
    """``{"dtype", "shape", "base64"}`` of a numeric or boolean array, exact."""
    arr = np.asarray(values)
    if arr.dtype == bool:
        dtype = "<?"
    elif np.issubdtype(arr.dtype, np.integer):
        dtype = "<i8"
    else:
        dtype = "<f8"
    raw = np.ascontiguousarray(arr, dtype=dtype).tobytes()
    # zlib is lossless; NaNs (not exhausted) and shared leading bytes repeat, so a
    # 100,000-draw scenario result takes 3.2 MB instead of 3.7 MB.
    return {
        "dtype": dtype,
        "shape": list(arr.shape),
        "encoding": "zlib",
        "base64": base64.b64encode(zlib.compress(raw, 6)).decode("ascii"),
    }


def array_from_json(payload: dict[str, Any]) -> np.ndarray:
    """Inverse of :func:`array_to_json`."""
    try:
        if payload["dtype"] not in ("<?", "<i8", "<f8"):
            raise ValueError(f"dtype {payload['dtype']!r}")
        raw = base64.b64decode(payload["base64"], validate=True)
        if payload.get("encoding") == "zlib":
            raw = zlib.decompress(raw)
        elif payload.get("encoding") is not None:
            raise ValueError(f"encoding {payload['encoding']!r}")
        arr = np.frombuffer(raw, dtype=np.dtype(payload["dtype"])).copy()
        return arr.reshape(payload["shape"])
    except (KeyError, TypeError, ValueError, zlib.error) as exc:
        raise ForecastError(f"not a stored array ({exc})") from None


def frame_to_json(frame: pd.DataFrame) -> dict[str, Any]:
    """A DataFrame column by column, exact: numbers and booleans as :func:`array_to_json`,
    dates as int64 nanoseconds, anything else as a list (missing values as None).
    Column order, names and ``attrs`` (plain values only) are kept; the index is not."""
    columns = []
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            kind, data = "datetime", array_to_json(col.to_numpy("datetime64[ns]").view("i8"))
        elif pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            kind, data = "array", array_to_json(col.to_numpy())
        else:
            kind = "list"
            data = [
                None if (v is None or (isinstance(v, float) and np.isnan(v))) else v
                for v in col.astype(object).tolist()
            ]
        columns.append({"name": name, "kind": kind, "data": data})
    attrs = {k: v for k, v in frame.attrs.items() if isinstance(v, str | int | float | bool)}
    return {"columns": columns, "attrs": attrs, "rows": len(frame)}


def frame_from_json(payload: dict[str, Any]) -> pd.DataFrame:
    """Inverse of :func:`frame_to_json` (a plain range index)."""
    try:
        data = {}
        for col in payload["columns"]:
            if col["kind"] == "datetime":
                data[col["name"]] = array_from_json(col["data"]).view("datetime64[ns]")
            elif col["kind"] == "array":
                data[col["name"]] = array_from_json(col["data"])
            else:
                data[col["name"]] = pd.Series(col["data"], dtype=object)
        frame = pd.DataFrame(data, index=pd.RangeIndex(payload["rows"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ForecastError(f"not a stored table ({exc})") from None
    frame.attrs.update(payload.get("attrs", {}))
    return frame


def json_float(x) -> float | None:
    """A number for JSON: a float, or None for None, NaN and infinity (after the horizon)."""
    if x is None:
        return None
    x = float(x)
    return x if np.isfinite(x) else None


def json_records(frame: pd.DataFrame) -> list[dict]:
    """A table's rows as dicts, its floats through :func:`json_float`."""
    return [
        {k: (json_float(v) if isinstance(v, float | np.floating) else v) for k, v in rec.items()}
        for rec in frame.to_dict(orient="records")
    ]


def json_default(obj):
    """``json.dumps`` default for numpy scalars and arrays (NaN and inf become None) and
    dates (ISO text)."""
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        value = float(obj)
        return value if np.isfinite(value) else None
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, pd.Timestamp | datetime.date):
        return obj.isoformat()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _check_target(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise ForecastError(f"{path} exists; pass overwrite=True to replace it")


def resolve_target(path: str | os.PathLike) -> Path:
    """The path a write replaces, resolved once: ``~`` expanded, made absolute, and every
    symbolic link (a chain of them, or one among the parents) and ``..`` resolved the way
    the operating system resolves them. Writing through a link therefore replaces what
    the link points to and leaves the link a link; the temporary sibling and the moved-
    aside old copy live next to the real target, so nothing is left beside the link."""
    return Path(os.path.realpath(Path(path).expanduser()))


def _shown(given: Path, target: Path) -> str:
    """``given`` for messages, with the real target when a link or ``..`` led elsewhere."""
    return str(given) if given.absolute() == target else f"{given} (-> {target})"


def _make_parents(directory: Path) -> list[Path]:
    """Create ``directory`` and its missing parents; returns the ones created (deepest
    last), so a failed write can remove them again."""
    missing = [p for p in (directory, *directory.parents) if not p.exists()]
    directory.mkdir(parents=True, exist_ok=True)
    return missing[::-1]


def _remove_created(created: list[Path]) -> None:
    """Remove the (empty) directories :func:`_make_parents` created, deepest first."""
    for directory in reversed(created):
        try:
            directory.rmdir()
        except OSError:
            return


def write_error(shown: str, exc: OSError, inside: Path | None = None, existed: bool = False):
    """The :class:`~forecast.errors.WriteError` of a failed write to ``shown``: the
    reason (``File too large``, ``No space left on device``, ...), the file that failed
    when it was one inside the temporary ``inside`` directory, and what is left. A
    WriteError of a file written inside ``inside`` (a fit of a saved demand set) is
    reported as this write's."""
    failed = exc.filename
    if isinstance(exc, WriteError) and isinstance(exc.__cause__, OSError):
        failed, exc = getattr(exc, "path", None), exc.__cause__
    reason = exc.strerror or str(exc) or type(exc).__name__
    detail = [errno.errorcode[exc.errno]] if exc.errno in errno.errorcode else []
    if failed and inside is not None:
        with contextlib.suppress(ValueError):
            detail.append(f"writing {Path(failed).relative_to(inside)}")
    if detail:
        reason += f" ({', '.join(detail)})"
    left = ", the earlier one is unchanged" if existed else ""
    err = WriteError(f"could not write {shown}: {reason}; nothing was written{left}")
    err.errno = exc.errno
    return err


def _located(err: WriteError, target: Path) -> WriteError:
    err.path = target  # the file or directory that could not be written
    return err


def write_file_atomic(path: str | os.PathLike, write, *, overwrite: bool = False) -> Path:
    """``write(tmp)`` writes a temporary sibling of ``path`` (same suffix), which is then
    renamed into place: a reader never sees half a file. ``path`` is resolved once
    (:func:`resolve_target`). An existing file is replaced only with ``overwrite=True``.
    A failed write (a full disk, a file too large, no permission, a read-only file
    system) raises :class:`~forecast.errors.WriteError` naming ``path``, with the
    temporary file and any directory made for it removed and an existing file unchanged.
    Returns ``path`` as given (``~`` expanded)."""
    given = Path(path).expanduser()
    target = resolve_target(given)
    _check_target(target, overwrite)
    existed = target.exists()
    shown = _shown(given, target)
    created: list[Path] = []
    tmp: Path | None = None
    try:
        created = _make_parents(target.parent)
        fd, name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=target.suffix, dir=target.parent
        )
        os.close(fd)
        tmp = Path(name)
        write(tmp)
        os.replace(tmp, target)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        _remove_created(created)
        if isinstance(exc, OSError):
            cause = exc.__cause__ if isinstance(exc, WriteError) else exc
            raise _located(write_error(shown, exc, existed=existed), target) from cause
        raise
    return given


def write_text_atomic(path: str | os.PathLike, text: str, *, overwrite: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary sibling renamed into place
    (:func:`write_file_atomic`: resolved once, never half a file, WriteError naming the
    path when the disk is full)."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)

    return write_file_atomic(path, write, overwrite=overwrite)


def write_directory_atomic(
    path: str | os.PathLike,
    fill,
    *,
    marker: str | None = None,
    overwrite: bool = False,
    check=None,
    mode: int | None = None,
) -> Path:
    """Build a directory with ``fill(tmp_dir)`` and rename it to ``path``.

    ``path`` is resolved once (:func:`resolve_target`): through a symbolic link the
    directory it points to is replaced and the link stays. ``check(path)`` decides
    whether the resolved ``path`` may be written (raising if not); it runs before
    anything is built and again just before the rename (the target may have appeared
    meanwhile). The default check replaces an existing ``path`` only with
    ``overwrite=True`` and only if it holds ``marker`` (a directory this package wrote
    before), never any other directory. ``mode``: permissions of the new directory
    (``mkdtemp`` makes it private). On any failure the temporary directory (and any
    parent directory made for it) is removed and an existing ``path`` is left as it was;
    a failed write (OSError: a full disk, ...) raises :class:`~forecast.errors.WriteError`
    naming ``path``. Returns ``path`` as given (``~`` expanded).
    """
    given = Path(path).expanduser()
    target = resolve_target(given)
    if check is None:

        def check(target: Path) -> None:
            _check_target(target, overwrite)
            if target.exists() and not (target.is_dir() and (target / marker).is_file()):
                raise ForecastError(
                    f"{target} exists and was not written by forecast (no {marker}); "
                    "not replacing it"
                )

    check(target)
    existed = target.exists()
    shown = _shown(given, target)
    created: list[Path] = []
    tmp: Path | None = None
    try:
        created = _make_parents(target.parent)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        if mode is not None:
            os.chmod(tmp, mode)
        fill(tmp)
        check(target)
        install_directory(tmp, target)
    except BaseException as exc:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        _remove_created(created)
        if isinstance(exc, OSError):
            cause = exc.__cause__ if isinstance(exc, WriteError) else exc
            raise _located(write_error(shown, exc, tmp, existed), target) from cause
        raise
    return given


def install_directory(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` to ``target``; an existing ``target`` is moved aside first and
    deleted only after the new directory is in place (restored if the rename fails).
    A symbolic link ``target`` is resolved (:func:`resolve_target`): the directory it
    points to is replaced, the link stays, and nothing is left beside either. An old copy
    that cannot be deleted is named in a warning."""
    if target.is_symlink():
        target = resolve_target(target)
    if not target.exists():
        os.rename(tmp, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    old.rmdir()
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
    if old.exists() or old.is_symlink():
        warnings.warn(
            f"the new {target} is in place, but the earlier copy moved aside to {old} "
            "could not be deleted completely; delete it by hand",
            stacklevel=2,
        )


def read_json_file(path: str | os.PathLike, expected_format: str) -> dict[str, Any]:
    """Read a JSON file written by forecast and check its ``format`` field."""
    path = Path(path).expanduser()
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ForecastError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ForecastError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != expected_format:
        raise ForecastError(f"{path}: not a {expected_format} file")
    return payload
