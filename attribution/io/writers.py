"""Write result tables: the format follows the file extension.

``.parquet``, ``.csv`` and ``.json`` (records). In CSV, text cells that start with
``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) are prefixed with ``'`` so that
spreadsheets show them as text instead of running them as formulas.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMATS = (".parquet", ".csv", ".json")


def output_format(path: str | Path) -> str:
    """The format of an output path, from its extension; unknown ones are an error."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"cannot tell the output format of {str(path)!r}: use a .parquet, .csv or .json file"
        )
    return suffix


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with spreadsheet-formula text cells neutralised."""
    escaped = frame.copy()
    for name in escaped.columns:
        column = escaped[name]
        if pd.api.types.is_string_dtype(column) or column.dtype == object:
            escaped[name] = column.map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_PREFIXES) else v
            )
    return escaped


def beside(path: str | Path, name: str, suffix: str | None = None) -> Path:
    """``<stem>.<name><suffix>`` in the folder of ``path`` (``suffix`` defaults to its own)."""
    path = Path(path)
    return path.with_name(f"{path.stem}.{name}{path.suffix if suffix is None else suffix}")


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` in the format of ``path``'s extension."""
    suffix = output_format(path)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix == ".csv":
        escape_formulas(frame).to_csv(path, index=False)
    else:
        frame.to_json(path, orient="records", indent=1, date_format="iso", double_precision=15)
