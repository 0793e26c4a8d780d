"""Read a touch, outcome or path table from any supported source into Arrow.

Sources: a parquet file, a folder of parquet files (read as one dataset, files in sorted
path order, hive partition folders allowed), a CSV file (``,`` or ``;`` delimited), a
pandas DataFrame or a pyarrow Table. Each record keeps its origin (file and row) so that
every error and every rejected row can be traced back to the input.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from attribution.errors import InputError, Problem

Source: TypeAlias = "str | Path | pd.DataFrame | pa.Table"
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


@dataclass(frozen=True)
class SourceTable:
    """An input table and where its rows came from.

    ``file_starts[i]`` is the first row of file ``files[i]``; rows of in-memory inputs are
    reported by position (0-based, as ``iloc``), rows of files as 1-based data rows.
    """

    table: pa.Table
    label: str
    files: tuple[str, ...]
    file_starts: np.ndarray
    in_memory: bool
    #: Every column of the source, also those not read (for messages about missing ones).
    available: tuple[str, ...]

    def columns_present(self) -> str:
        """The source's column names, quoted, for an error message."""
        return ", ".join(repr(name) for name in self.available) or "no columns"

    def locate(self, row: int) -> str:
        """Human-readable origin of one row, e.g. ``touches.parquet row 12``."""
        if self.in_memory:
            return f"position {row}"
        i = int(np.searchsorted(self.file_starts, row, side="right") - 1)
        name = self.files[i]
        within = row - int(self.file_starts[i]) + 1
        return f"{name} row {within}" if len(self.files) > 1 else f"row {within}"

    def file_of(self, rows: np.ndarray) -> np.ndarray:
        """The source file name of each row (for the rejects file)."""
        if self.in_memory:
            return np.full(len(rows), self.label, dtype=object)
        index = np.searchsorted(self.file_starts, rows, side="right") - 1
        return np.asarray(self.files, dtype=object)[index]

    def row_in_file(self, rows: np.ndarray) -> np.ndarray:
        """1-based data row within its file (0-based position for in-memory inputs)."""
        if self.in_memory:
            return rows.astype(np.int64)
        index = np.searchsorted(self.file_starts, rows, side="right") - 1
        return (rows - self.file_starts[index] + 1).astype(np.int64)


def read_source(
    source: Source,
    *,
    what: str,
    columns: Sequence[str] | None = None,
    dictionary_columns: Sequence[str] = (),
) -> SourceTable:
    """Read ``source`` into a :class:`SourceTable`.

    ``what`` names the table in messages ("touches", "outcomes", "paths"). ``columns``,
    when given, limits reading to those columns that exist (missing ones are checked by
    the caller, which knows which are required). ``dictionary_columns`` are read from
    parquet as dictionary arrays, which avoids materialising repeated strings.
    """
    if isinstance(source, pd.DataFrame):
        return _from_memory(_dataframe_to_arrow(source, what), f"{what} DataFrame", columns)
    if isinstance(source, pa.Table):
        return _from_memory(source, f"{what} Table", columns)
    path = Path(source)
    if not path.exists():
        raise InputError(Problem(f"{what} input not found", source=str(path)))
    if path.is_dir():
        return _read_folder(path, what, columns, dictionary_columns)
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        table, available = _read_parquet_file(path, columns, dictionary_columns)
    elif suffix in CSV_SUFFIXES:
        table, available = _read_csv(path, columns)
    else:
        raise InputError(
            Problem(
                f"unsupported {what} file type '{suffix}'; use .parquet, .csv or a folder "
                "of parquet files",
                source=str(path),
            )
        )
    return SourceTable(table, str(path), (str(path),), np.array([0], np.int64), False, available)


def _from_memory(table: pa.Table, label: str, columns: Sequence[str] | None) -> SourceTable:
    available = tuple(table.column_names)
    if columns is not None:
        table = table.select([c for c in columns if c in table.column_names])
    return SourceTable(table, label, (label,), np.array([0], np.int64), True, available)


def _dataframe_to_arrow(frame: pd.DataFrame, what: str) -> pa.Table:
    frame = frame.reset_index(drop=True)
    duplicated = frame.columns[frame.columns.duplicated()]
    if len(duplicated):
        raise InputError(
            Problem(
                "duplicate column names in the DataFrame",
                source=f"{what} DataFrame",
                column=str(duplicated[0]),
            )
        )
    frame.columns = [str(c) for c in frame.columns]
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        for name in frame.columns:
            try:
                pa.array(frame[name], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
                raise InputError(
                    Problem(
                        f"column mixes incompatible types ({error})",
                        source=f"{what} DataFrame",
                        column=name,
                    )
                ) from None
        raise


def _read_parquet_file(
    path: Path, columns: Sequence[str] | None, dictionary_columns: Sequence[str]
) -> tuple[pa.Table, tuple[str, ...]]:
    """The columns asked for that exist, and the names of all columns of the file."""
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise InputError(
            Problem(f"not a readable parquet file ({error})", source=str(path))
        ) from None
    names = schema.names if columns is None else [c for c in columns if c in schema.names]
    dictionary = [c for c in dictionary_columns if c in names and _is_string(schema.field(c).type)]
    table = pq.read_table(path, columns=names, read_dictionary=dictionary or None)
    return table, tuple(schema.names)


def _is_string(arrow_type: pa.DataType) -> bool:
    return bool(pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type))


def _read_folder(
    path: Path,
    what: str,
    columns: Sequence[str] | None,
    dictionary_columns: Sequence[str],
) -> SourceTable:
    dataset = pads.dataset(path, format="parquet", partitioning="hive", exclude_invalid_files=False)
    files = sorted(dataset.files)
    if not files:
        raise InputError(Problem(f"folder holds no parquet files for the {what}", source=str(path)))
    tables: list[pa.Table] = []
    available: tuple[str, ...] = ()
    for name in files:
        file_path = Path(name)
        table, in_file = _read_parquet_file(file_path, columns, dictionary_columns)
        partition = _hive_partition_values(file_path, path)
        available = available or tuple(dict.fromkeys([*in_file, *partition]))
        for key, value in partition.items():
            if key not in table.column_names and (columns is None or key in columns):
                table = table.append_column(key, pa.array([value] * table.num_rows, pa.string()))
        tables.append(table)
    _check_same_columns(tables, files, what)
    try:
        combined = pa.concat_tables(
            [_undictionary(t) if len(tables) > 1 else t for t in tables],
            promote_options="permissive",
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise InputError(
            Problem(
                f"files of the folder have incompatible column types ({error})", source=str(path)
            )
        ) from None
    starts = np.cumsum([0] + [t.num_rows for t in tables[:-1]]).astype(np.int64)
    return SourceTable(combined, str(path), tuple(files), starts, False, available)


def _undictionary(table: pa.Table) -> pa.Table:
    """Dictionary columns of several files can only be concatenated once unified."""
    return (
        table.unify_dictionaries()
        if any(pa.types.is_dictionary(f.type) for f in table.schema)
        else table
    )


def _hive_partition_values(file_path: Path, root: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for part in file_path.relative_to(root).parts[:-1]:
        if "=" in part:
            key, value = part.split("=", 1)
            values[key] = value
    return values


def _check_same_columns(tables: list[pa.Table], files: list[str], what: str) -> None:
    expected = set(tables[0].column_names)
    for table, name in zip(tables[1:], files[1:], strict=True):
        if set(table.column_names) != expected:
            missing = sorted(expected - set(table.column_names))
            extra = sorted(set(table.column_names) - expected)
            detail = "; ".join(
                part
                for part in (
                    f"missing {', '.join(missing)}" if missing else "",
                    f"extra {', '.join(extra)}" if extra else "",
                )
                if part
            )
            raise InputError(
                Problem(
                    f"{what} file has different columns from {files[0]} ({detail})",
                    source=name,
                )
            )


def sniff_delimiter(path: Path) -> str:
    """The delimiter of the header line: tab, ``;`` or (default) ``,``."""
    header = _header_line(path)
    counts = {delimiter: header.count(delimiter) for delimiter in ("\t", ";", ",")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _header_line(path: Path) -> str:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return handle.readline()
    except UnicodeDecodeError as error:
        raise InputError(Problem(f"CSV is not UTF-8 text ({error})", source=str(path))) from None


def _read_csv(path: Path, columns: Sequence[str] | None) -> tuple[pa.Table, tuple[str, ...]]:
    """The columns asked for that exist (as text), and the names of all columns."""
    delimiter = sniff_delimiter(path)
    header = next(csv.reader([_header_line(path)], delimiter=delimiter), [])
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise InputError(
            Problem(f"CSV has duplicate column names: {', '.join(repeated)}", source=str(path))
        )
    include = None if columns is None else [c for c in columns if c in header]
    try:
        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                include_columns=include,
                strings_can_be_null=True,
                # Identifiers and labels stay text; numbers and times are parsed by the
                # encoder, which reports the rows it cannot parse.
                column_types={name: pa.string() for name in header},
            ),
        )
    except pa.ArrowInvalid as error:
        raise InputError(Problem(f"CSV cannot be parsed ({error})", source=str(path))) from None
    return table, tuple(header)
