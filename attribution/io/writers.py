"""Write result tables: the format follows the file extension; every write is atomic.

``.parquet``, ``.csv`` and ``.json`` (records; floats round-trip exactly). A file is
written to a temporary file in the same folder and renamed over the target only once
complete, so a run that fails half-way leaves no half-written file and the previous file
intact. The file gets the permissions a plain ``open(path, "w")`` would give it: a
replaced file keeps its mode, a new one gets ``0o666`` less the umask (the temporary
file, private while written, is given that mode before the rename).

In CSV, text cells that a spreadsheet would run as a formula (starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) are prefixed with ``'``; a cell that is
just a number (``-1``, ``+2.5``) is left as it is, since a spreadsheet reads it as that
number.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from attribution.errors import ParameterError

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMATS = (".parquet", ".csv", ".json")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def output_format(path: str | Path, formats: tuple[str, ...] = FORMATS) -> str:
    """The format of an output path, from its extension; unknown ones are an error."""
    suffix = Path(path).suffix.lower()
    if suffix not in formats:
        listed = ", ".join(formats[:-1]) + f" or {formats[-1]}" if len(formats) > 1 else formats[0]
        raise ParameterError(f"cannot tell the output format of {str(path)!r}: use a {listed} file")
    return suffix


def _escape(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        if _PLAIN_NUMBER.fullmatch(value):
            return value
        return "'" + value
    return value


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with spreadsheet-formula text cells neutralised."""
    escaped = frame.copy()
    for name in escaped.columns:
        column = escaped[name]
        if pd.api.types.is_string_dtype(column) or column.dtype == object:
            escaped[name] = column.map(_escape)
    return escaped


def beside(path: str | Path, name: str, suffix: str | None = None) -> Path:
    """``<stem>.<name><suffix>`` in the folder of ``path`` (``suffix`` defaults to its own)."""
    path = Path(path)
    return path.with_name(f"{path.stem}.{name}{path.suffix if suffix is None else suffix}")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path in ``path``'s folder to write to; renamed to ``path`` when the
    block ends without an error, removed otherwise."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, _mode_of(target))
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()


def _mode_of(target: Path) -> int:
    """The permission bits ``open(target, "w")`` leaves: the existing file's, else
    ``0o666`` less the process umask."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomically(path: str | Path, write: Callable[[Path], None]) -> None:
    """Call ``write(temporary_path)``, then move the file to ``path``."""
    with atomic_path(path) as temporary:
        write(temporary)


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` in the format of ``path``'s extension, atomically."""
    suffix = output_format(path)
    if suffix == ".parquet":
        write_atomically(path, lambda p: frame.to_parquet(p, index=False))
    elif suffix == ".csv":
        write_atomically(path, lambda p: escape_formulas(frame).to_csv(p, index=False))
    else:
        text = json_records(frame)

        def write_json(temporary: Path) -> None:
            temporary.write_text(text, encoding="utf-8")

        write_atomically(path, write_json)


def json_records(frame: pd.DataFrame) -> str:
    """The frame as JSON records, floats written so they read back exactly (Python's
    shortest round-trip repr, not pandas' at most 15 significant digits), NaN and
    infinities as null, times in ISO 8601."""
    records = json.loads(frame.to_json(orient="records", date_format="iso"))
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_float_dtype(column.dtype):
            values = column.to_numpy(dtype=np.float64)
            for record, value in zip(records, values, strict=True):
                record[str(name)] = float(value) if math.isfinite(value) else None
    return json.dumps(records, indent=1, allow_nan=False, ensure_ascii=False)
