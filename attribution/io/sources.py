"""Read a touch, outcome or path table from any supported source into Arrow.

Sources: a parquet file; a CSV file (``,``, ``;`` or tab delimited, UTF-8, optionally
gzip-compressed as ``.csv.gz``); a folder of parquet or of CSV files, read as one dataset
(files in sorted path order, hive partition folders ``key=value`` allowed); a pandas
DataFrame; a pyarrow Table or RecordBatchReader; or any object with the Arrow PyCapsule
stream interface (``__arrow_c_stream__``: polars DataFrames, DuckDB relations, ...), read
without importing its library.

**Folders.** Each file is read once, by its real path: a symlink loop, or two links to
one file, cannot double the data. Files that are not read (``_SUCCESS``, ``.crc``
checksums, names starting with ``_`` or ``.``, anything that is not a parquet file or a
``.csv``/``.tsv`` file, gzipped or not: a ``notes.txt`` is not read) are listed in
:attr:`SourceTable.skipped`, which the reconciliation reports.

**CSV cells.** Every column is read as text; only an empty cell is null, so ``NA`` (North
America), ``N/A``, ``NULL``, ``None`` are ordinary labels. The parsers of numbers, flags and
times (:mod:`attribution.io.parse`) read their own null tokens.

Each record keeps its origin (file and row; for CSV also the file line) so that every
error and every rejected row can be traced back to the input. A partition of a larger
input (:class:`PartitionSource`, what the distributed engine loads) carries the origin of
each of its rows (:class:`Origins`), so its messages and rejects name the same file and
row as a load of the whole input would.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import IO, Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from attribution.errors import InputError, Problem

Source: TypeAlias = Any
"""A path (str or Path), a pandas DataFrame, a pyarrow Table or RecordBatchReader, or an
object exposing ``__arrow_c_stream__``."""

CSV_SUFFIXES = (".csv", ".txt", ".tsv", ".csv.gz", ".txt.gz", ".tsv.gz")
#: In a folder, only these are CSV data: a ``notes.txt`` or ``README.txt`` beside the
#: data is not read (and named as not read), never a reason to refuse the folder.
FOLDER_CSV_SUFFIXES = (".csv", ".tsv", ".csv.gz", ".tsv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
NOT_DATA = "not a parquet or CSV file (.parquet, .pq, .parq, .csv, .tsv, .csv.gz, .tsv.gz)"


@dataclass(frozen=True)
class Origins:
    """Where each row of a partition of a larger input came from: ``file[i]`` indexes
    ``files`` (every file of the whole input, in its reading order) and ``row[i]`` is the
    row as reported (1-based within a file; a 0-based position for in-memory inputs)."""

    files: tuple[str, ...]
    file: np.ndarray
    row: np.ndarray
    in_memory: bool = False

    def locate(self, row: int) -> str:
        word = "position" if self.in_memory else "row"
        text = f"{word} {int(self.row[row])}"
        return f"{self.files[int(self.file[row])]} {text}" if len(self.files) > 1 else text


@dataclass(frozen=True)
class PartitionSource:
    """A partition of a larger input, read elsewhere: its rows, the input's label and
    columns (as a load of the whole input would report them), and each row's origin."""

    table: pa.Table
    label: str
    origins: Origins
    available: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...] = ()

    def source_table(self, columns: Sequence[str] | None) -> SourceTable:
        _refuse_repeated_names(self.table.column_names, self.label)
        table = _plain_strings(self.table)
        if columns is not None:
            table = table.select([c for c in columns if c in table.column_names])
        return SourceTable(
            table,
            self.label,
            self.origins.files,
            np.array([0], np.int64),
            self.origins.in_memory,
            self.available,
            skipped=self.skipped,
            origins=self.origins,
        )


@dataclass(frozen=True)
class SourceTable:
    """An input table and where its rows came from.

    ``file_starts[i]`` is the first row of file ``files[i]``; rows of in-memory inputs are
    reported by position (0-based, as ``iloc``), rows of files as 1-based data rows, with
    the file line for CSV files.
    """

    table: pa.Table
    label: str
    files: tuple[str, ...]
    file_starts: np.ndarray
    in_memory: bool
    #: Every column of the source, also those not read (for messages about missing ones).
    available: tuple[str, ...]
    #: Files of a folder that were not read, each with the reason.
    skipped: tuple[tuple[str, str], ...] = ()
    #: Per file: is it CSV (rows also get a file line in messages)?
    csv_files: tuple[bool, ...] = ()
    #: The origin of every row, for a partition of a larger input (else None).
    origins: Origins | None = None
    _lines: dict[int, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    def columns_present(self) -> str:
        """The source's column names, quoted, for an error message."""
        return ", ".join(repr(name) for name in self.available) or "no columns"

    def _file_index(self, row: int) -> int:
        return int(np.searchsorted(self.file_starts, row, side="right") - 1)

    def locate(self, row: int) -> str:
        """Human-readable origin of one row, e.g. ``row 12`` or ``a.csv row 4, line 5``."""
        if self.origins is not None:
            return self.origins.locate(row)
        if self.in_memory:
            return f"position {row}"
        i = self._file_index(row)
        within = row - int(self.file_starts[i]) + 1
        text = f"row {within}"
        if self.csv_files and self.csv_files[i]:
            line = self.line_of(i, within)
            if line is not None:
                text += f", line {line}"
        return f"{self.files[i]} {text}" if len(self.files) > 1 else text

    def line_of(self, file_index: int, data_row: int) -> int | None:
        """The 1-based line of a CSV file where 1-based data row ``data_row`` starts
        (quoted cells may span lines, so this scans the file; messages only)."""
        if file_index not in self._lines:
            self._lines[file_index] = _row_lines(Path(self.files[file_index]))
        lines = self._lines[file_index]
        return int(lines[data_row - 1]) if 0 < data_row <= len(lines) else None

    def file_of(self, rows: np.ndarray) -> np.ndarray:
        """The source file name of each row (for the rejects file)."""
        if self.origins is not None:
            return np.asarray(self.origins.files, dtype=object)[self.origins.file[rows]]
        if self.in_memory:
            return np.full(len(rows), self.label, dtype=object)
        index = np.searchsorted(self.file_starts, rows, side="right") - 1
        return np.asarray(self.files, dtype=object)[index]

    def row_in_file(self, rows: np.ndarray) -> np.ndarray:
        """1-based data row within its file (0-based position for in-memory inputs)."""
        if self.origins is not None:
            return self.origins.row[rows].astype(np.int64)
        if self.in_memory:
            return rows.astype(np.int64)
        index = np.searchsorted(self.file_starts, rows, side="right") - 1
        return (rows - self.file_starts[index] + 1).astype(np.int64)

    @cached_property
    def real_paths(self) -> tuple[str, ...]:
        """The real paths of the files read (empty for in-memory inputs)."""
        return () if self.in_memory else tuple(os.path.realpath(f) for f in self.files)


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
    if isinstance(source, PartitionSource):
        return source.source_table(columns)
    if isinstance(source, pd.DataFrame):
        return _from_memory(_dataframe_to_arrow(source, what), f"{what} DataFrame", columns)
    if isinstance(source, pa.Table):
        return _from_memory(source, f"{what} Table", columns)
    if isinstance(source, pa.RecordBatchReader) or hasattr(source, "__arrow_c_stream__"):
        return _from_memory(_from_stream(source, what), f"{what} {type(source).__name__}", columns)
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(
            Problem(
                f"cannot read the {what} from a {type(source).__name__}: give a file or "
                "folder path, a pandas DataFrame, a pyarrow Table, or an object with the "
                "Arrow stream interface (__arrow_c_stream__, e.g. a polars DataFrame)"
            )
        )
    path = Path(source)
    if not path.exists():
        raise InputError(Problem(f"{what} input not found", source=str(path)))
    if path.is_dir():
        return _read_folder(path, what, columns, dictionary_columns)
    kind = file_kind(path)
    if kind is None:
        raise InputError(
            Problem(
                f"unsupported {what} file type '{''.join(path.suffixes[-2:])}'; use .parquet, "
                ".csv (or .csv.gz) or a folder of such files",
                source=str(path),
            )
        )
    table, available = _read_file(path, kind, columns, dictionary_columns)
    return SourceTable(
        table,
        str(path),
        (str(path),),
        np.array([0], np.int64),
        False,
        available,
        csv_files=(kind == "csv",),
    )


def file_kind(path: Path, *, in_folder: bool = False) -> str | None:
    """``"parquet"``, ``"csv"`` or None (not a data file), from the file name. A file
    named on its own may be ``.txt`` CSV; in a folder only ``FOLDER_CSV_SUFFIXES`` are."""
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(FOLDER_CSV_SUFFIXES if in_folder else CSV_SUFFIXES):
        return "csv"
    return None


def _read_file(
    path: Path, kind: str, columns: Sequence[str] | None, dictionary_columns: Sequence[str]
) -> tuple[pa.Table, tuple[str, ...]]:
    if kind == "parquet":
        return _read_parquet_file(path, columns, dictionary_columns)
    return _read_csv(path, columns)


def _plain_strings(table: pa.Table) -> pa.Table:
    """String views and large strings (polars, DuckDB) as plain strings."""
    for i, f in enumerate(table.schema):
        kind = f.type
        value = kind.value_type if pa.types.is_dictionary(kind) else kind
        if pa.types.is_string_view(value) or pa.types.is_large_string(value):
            target = (
                pa.dictionary(kind.index_type, pa.string())
                if pa.types.is_dictionary(kind)
                else pa.string()
            )
            table = table.set_column(i, f.name, table.column(i).cast(target))
    return table


def _from_memory(table: pa.Table, label: str, columns: Sequence[str] | None) -> SourceTable:
    _refuse_repeated_names(table.column_names, label)
    table = _plain_strings(table)
    available = tuple(table.column_names)
    if columns is not None:
        table = table.select([c for c in columns if c in table.column_names])
    return SourceTable(table, label, (label,), np.array([0], np.int64), True, available)


def _from_stream(source: Any, what: str) -> pa.Table:
    """An Arrow table from a RecordBatchReader or a ``__arrow_c_stream__`` object."""
    try:
        reader = (
            source
            if isinstance(source, pa.RecordBatchReader)
            else pa.RecordBatchReader.from_stream(source)
        )
        return reader.read_all()
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as error:
        raise InputError(
            Problem(f"cannot read the {what} as an Arrow stream ({error})", source=what)
        ) from None


def _refuse_repeated_names(names: Sequence[str], label: str) -> None:
    repeated = sorted({n for n in names if list(names).count(n) > 1})
    if repeated:
        raise InputError(
            Problem(
                f"has repeated column names: {', '.join(map(repr, repeated))} (each column "
                "must have its own name)",
                source=label,
            )
        )


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
    _refuse_repeated_names(schema.names, str(path))
    names = schema.names if columns is None else [c for c in columns if c in schema.names]
    dictionary = [c for c in dictionary_columns if c in names and _is_string(schema.field(c).type)]
    try:
        table = pq.read_table(path, columns=names, read_dictionary=dictionary or None)
    except (pa.ArrowInvalid, OSError) as error:
        raise InputError(
            Problem(f"not a readable parquet file ({error})", source=str(path))
        ) from None
    return table, tuple(schema.names)


def _is_string(arrow_type: pa.DataType) -> bool:
    return bool(pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type))


def folder_files(root: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """The data files under ``root`` (sorted, each real file once) and the skipped ones.

    Folders are followed through symlinks, each real folder once (a symlink loop ends);
    a file reached twice (two links, a hard link) is read once and the other paths are
    listed as skipped.
    """
    files: list[Path] = []
    skipped: list[tuple[str, str]] = []
    seen_files: dict[tuple[int, int], Path] = {}
    seen_dirs: set[str] = set()

    def visit(folder: Path) -> None:
        real = os.path.realpath(folder)
        if real in seen_dirs:
            skipped.append((str(folder), "a link to a folder already read"))
            return
        seen_dirs.add(real)
        for entry in sorted(folder.iterdir(), key=lambda p: p.name):
            name = entry.name
            if name.startswith(("_", ".")):
                skipped.append((str(entry), "hidden or metadata name (starts with _ or .)"))
                continue
            if entry.is_dir():
                visit(entry)
                continue
            if not entry.is_file():
                skipped.append((str(entry), "not a regular file"))
                continue
            if file_kind(entry, in_folder=True) is None:
                skipped.append((str(entry), NOT_DATA))
                continue
            stat = entry.stat()
            key = (stat.st_dev, stat.st_ino)
            if key in seen_files:
                skipped.append((str(entry), f"the same file as {seen_files[key]}"))
                continue
            seen_files[key] = entry
            files.append(entry)

    visit(root)
    return files, skipped


def _read_folder(
    path: Path,
    what: str,
    columns: Sequence[str] | None,
    dictionary_columns: Sequence[str],
) -> SourceTable:
    files, skipped = folder_files(path)
    if not files:
        listed = f" (skipped: {', '.join(Path(s).name for s, _ in skipped)})" if skipped else ""
        raise InputError(
            Problem(
                f"folder holds no parquet or CSV files for the {what}{listed}", source=str(path)
            )
        )
    kinds = {file_kind(f, in_folder=True) for f in files}
    if len(kinds) > 1:
        raise InputError(
            Problem(
                "folder mixes parquet and CSV files; keep one kind per dataset",
                source=str(path),
            )
        )
    kind = kinds.pop()
    assert kind is not None
    tables: list[pa.Table] = []
    available: tuple[str, ...] = ()
    for file_path in files:
        table, in_file = _read_file(file_path, kind, columns, dictionary_columns)
        partition = _hive_partition_values(file_path, path)
        available = available or tuple(dict.fromkeys([*in_file, *partition]))
        for key, value in partition.items():
            if key not in table.column_names and (columns is None or key in columns):
                table = table.append_column(key, pa.array([value] * table.num_rows, pa.string()))
        tables.append(table)
    names = [str(f) for f in files]
    _check_same_columns(tables, names, what)
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
    return SourceTable(
        combined,
        str(path),
        tuple(names),
        starts,
        False,
        available,
        skipped=tuple(skipped),
        csv_files=tuple(kind == "csv" for _ in files),
    )


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


# ------------------------------------------------------------------------- CSV
def _open_text(path: Path) -> IO[str]:
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return path.open(newline="", encoding="utf-8-sig")


def sniff_delimiter(path: Path) -> str:
    """The delimiter of the header line: tab, ``;`` or (default) ``,``."""
    header = _header_line(path)
    counts = {delimiter: header.count(delimiter) for delimiter in ("\t", ";", ",")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _header_line(path: Path) -> str:
    try:
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rb") as handle:
            raw = handle.readline()
    except (OSError, EOFError) as error:
        raise InputError(Problem(f"CSV cannot be read ({error})", source=str(path))) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(
            Problem(
                "CSV header (line 1) is not UTF-8 text; save the file as UTF-8",
                source=str(path),
            )
        ) from None


def _read_csv(path: Path, columns: Sequence[str] | None) -> tuple[pa.Table, tuple[str, ...]]:
    """The columns asked for that exist (as text; only empty cells are null), and the
    names of all columns. Rows with the wrong number of cells and text that is not UTF-8
    are reported with their file line and column name."""
    delimiter = sniff_delimiter(path)
    header = next(csv.reader([_header_line(path)], delimiter=delimiter), [])
    _refuse_repeated_names(header, str(path))
    include = None if columns is None else [c for c in columns if c in header]
    bad_rows: list[str] = []

    def invalid_row(row: Any) -> str:
        bad_rows.append(row.text)
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=invalid_row),
            convert_options=pacsv.ConvertOptions(
                include_columns=include,
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=False,
                # Identifiers and labels stay text; numbers and times are parsed by the
                # encoder, which reports the rows it cannot parse.
                column_types={name: pa.string() for name in header},
            ),
        )
    except pa.ArrowInvalid as error:
        raise InputError(_csv_problem(path, delimiter, header, str(error))) from None
    if bad_rows:
        raise InputError(_csv_problem(path, delimiter, header, "wrong number of cells"))
    return table, tuple(header)


def _csv_problem(path: Path, delimiter: str, header: list[str], error: str) -> Problem:
    """Where a CSV file stops parsing: the first line with the wrong number of cells or
    with text that is not UTF-8, with the column it is in (a slow scan, on error only)."""
    line_number = 1
    try:
        with (
            path.open("rb")
            if not path.name.lower().endswith(".gz")
            else gzip.open(path, "rb") as handle
        ):
            raw_lines = handle.read().splitlines(keepends=True)
    except OSError:
        return Problem(f"CSV cannot be parsed ({error})", source=str(path))
    for line_number, raw in enumerate(raw_lines, start=1):
        try:
            raw.decode("utf-8-sig" if line_number == 1 else "utf-8")
        except UnicodeDecodeError as decode_error:
            prefix = raw[: decode_error.start].decode("utf-8", "replace")
            cells = next(csv.reader([prefix], delimiter=delimiter), [""])
            column = header[len(cells) - 1] if 0 < len(cells) <= len(header) else None
            return Problem(
                f"CSV is not UTF-8 text at line {line_number} (byte {decode_error.start + 1} "
                "of the line); save the file as UTF-8",
                source=str(path),
                column=column,
            )
    with _open_text(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader, None)
        start = reader.line_num + 1
        for cells in reader:
            if cells and len(cells) != len(header):
                return Problem(
                    f"CSV line {start} has {len(cells)} cells, the header has {len(header)}",
                    source=str(path),
                )
            start = reader.line_num + 1
    return Problem(f"CSV cannot be parsed ({error})", source=str(path))


def _row_lines(path: Path) -> np.ndarray:
    """The 1-based line where each data row of a CSV file starts."""
    delimiter = sniff_delimiter(path)
    starts: list[int] = []
    with _open_text(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader, None)
        start = reader.line_num + 1
        for cells in reader:
            if cells:
                starts.append(start)
            start = reader.line_num + 1
    return np.asarray(starts, np.int64)
