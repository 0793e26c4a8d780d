"""Parquet datasets as the distributed engine reads them: listed, checked, read in pieces.

A dataset is one parquet file or a folder of them, on the local disk or behind any fsspec
URL (``s3://``, ``gs://``, ``file://``, ...). Its files are listed in the order the local
engine reads a folder (:func:`attribution.io.sources.folder_files`: names sorted within
each folder, folders entered in place; names starting with ``_`` or ``.`` are skipped
and reported), their footers are read once on the client (columns, types, row counts),
and the checks of a local read are made there, with the same messages: a missing input,
a folder without parquet files, files with different columns or incompatible types.

A **piece** is a run of row groups of one file, read on a worker with the columns asked
for, the hive partition values of its folders (as text, as locally) and each row's
origin: the file's position in the listing and the row's 1-based number within its file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from attribution.errors import InputError, Problem
from attribution.io.sources import NOT_DATA, file_kind, folder_files

#: Origin columns added to every piece: the file (index in the listing) and its row.
FILE_COLUMN = "__attribution_file"
ROW_COLUMN = "__attribution_row"
ORIGIN_COLUMNS = (FILE_COLUMN, ROW_COLUMN)


@dataclass(frozen=True)
class Dataset:
    """A listed parquet dataset (see the module docstring).

    ``files``: paths for ``filesystem`` in reading order; ``names``: the same files as the
    messages and rejects name them (local paths as given, URLs with their protocol);
    ``row_groups``: the rows of every row group of every file; ``schema``: the columns of
    every file (with the hive keys, as text); ``available``: every column name, as a
    local read reports them.
    """

    label: str
    files: tuple[str, ...]
    names: tuple[str, ...]
    row_groups: tuple[tuple[int, ...], ...]
    schema: pa.Schema
    hive: tuple[tuple[tuple[str, str], ...], ...]
    skipped: tuple[tuple[str, str], ...]
    filesystem: Any = field(default=None, compare=False)
    #: Per file, per row group: the (min, max) of the journey id column from the
    #: parquet statistics (None where there are none).
    id_ranges: tuple[tuple[tuple[Any, Any] | None, ...], ...] = ()

    @property
    def rows(self) -> int:
        return sum(sum(groups) for groups in self.row_groups)

    @property
    def available(self) -> tuple[str, ...]:
        return tuple(self.schema.names)

    def pieces(self, piece_rows: int) -> list[Piece]:
        """Runs of whole row groups of at most ``piece_rows`` rows (a larger row group is
        a piece of its own), covering every row of every file."""
        out: list[Piece] = []
        for index, groups in enumerate(self.row_groups):
            first, start, rows = 0, 0, 0
            for group, size in enumerate(groups):
                if rows and rows + size > piece_rows:
                    out.append(Piece(index, first, group, start))
                    first, start, rows = group, start + rows, 0
                rows += size
            if first < len(groups):
                out.append(Piece(index, first, len(groups), start))
        return out


@dataclass(frozen=True)
class Piece:
    """Row groups ``first .. stop - 1`` of file ``file``, whose first row is ``start``
    (0-based) within the file."""

    file: int
    first: int
    stop: int
    start: int


def list_dataset(
    source: str | os.PathLike[str],
    what: str,
    id_column: str | None = None,
    **storage_options: Any,
) -> Dataset:
    """List and check the parquet dataset at ``source`` (a path or fsspec URL), with the
    row groups' ranges of ``id_column`` when given."""
    text = os.fspath(source)
    if "://" in text:
        return _list_url(text, what, id_column, storage_options)
    path = Path(text)
    if not path.exists():
        raise InputError(Problem(f"{what} input not found", source=str(path)))
    # Workers read absolute paths (a worker's working folder need not be this one);
    # messages name the files as the user gave them.
    if path.is_dir():
        found, skipped = folder_files(path)
        names = [str(f) for f in found]
        root: str | None = os.path.abspath(path)
    else:
        names, skipped, root = [str(path)], [], None
    files = [os.path.abspath(name) for name in names]
    return _checked(str(path), files, names, root, skipped, what, None, id_column)


def _list_url(
    url: str, what: str, id_column: str | None, storage_options: dict[str, Any]
) -> Dataset:
    from fsspec.core import url_to_fs

    filesystem, root = url_to_fs(url, **storage_options)
    if not filesystem.exists(root):
        raise InputError(Problem(f"{what} input not found", source=url))
    if not filesystem.isdir(root):
        return _checked(url, [root], [url], None, [], what, filesystem, id_column)
    files: list[str] = []
    skipped: list[tuple[str, str]] = []

    def visit(folder: str) -> None:
        entries = sorted(filesystem.ls(folder, detail=True), key=lambda e: _base(e["name"]))
        for entry in entries:
            name = entry["name"]
            base = _base(name)
            if base.startswith(("_", ".")):
                skipped.append((filesystem.unstrip_protocol(name), "hidden or metadata name"))
            elif entry["type"] == "directory":
                visit(name)
            elif file_kind(Path(base), in_folder=True) is None:
                skipped.append((filesystem.unstrip_protocol(name), NOT_DATA))
            else:
                files.append(name)

    visit(root)
    names = [filesystem.unstrip_protocol(f) for f in files]
    return _checked(url, files, names, root, skipped, what, filesystem, id_column)


def _base(name: str) -> str:
    return name.rstrip("/").rsplit("/", 1)[-1]


def _checked(
    label: str,
    files: Sequence[str],
    names: Sequence[str],
    root: str | None,
    skipped: Sequence[tuple[str, str]],
    what: str,
    filesystem: Any,
    id_column: str | None = None,
) -> Dataset:
    if not files:
        listed = f" (skipped: {', '.join(_base(s) for s, _ in skipped)})" if skipped else ""
        raise InputError(
            Problem(f"folder holds no parquet or CSV files for the {what}{listed}", source=label)
        )
    kinds = {file_kind(Path(_base(f)), in_folder=True) for f in files}
    if kinds != {"parquet"}:
        raise InputError(
            Problem(
                f"the Dask engine reads parquet datasets; the {what} hold CSV files (convert "
                "them to parquet, or run the local engine)",
                source=label,
            )
        )
    schemas, groups, hive, ranges = [], [], [], []
    for path, name in zip(files, names, strict=True):
        metadata = _metadata(path, name, filesystem)
        schema = metadata.schema.to_arrow_schema()
        _refuse_repeated(schema.names, name)
        partition = _hive_values(path, root)
        for key, _ in partition:
            if key not in schema.names:
                schema = schema.append(pa.field(key, pa.string()))
        schemas.append(schema)
        groups.append(tuple(metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)))
        hive.append(partition)
        ranges.append(_ranges(metadata, schema, id_column))
    _same_columns(schemas, names, what)
    try:
        unified = pa.unify_schemas(
            [_plain(s.remove_metadata()) for s in schemas], promote_options="permissive"
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise InputError(
            Problem(f"files of the folder have incompatible column types ({error})", source=label)
        ) from None
    ordered = pa.schema([unified.field(n) for n in schemas[0].names])
    return Dataset(
        label,
        tuple(files),
        tuple(names),
        tuple(groups),
        ordered,
        tuple(hive),
        tuple(skipped),
        filesystem,
        tuple(ranges),
    )


def _ranges(
    metadata: pq.FileMetaData, schema: pa.Schema, column: str | None
) -> tuple[tuple[Any, Any] | None, ...]:
    """Each row group's (min, max) of a top-level column, from its statistics."""
    if column is None or column not in metadata.schema.names:
        return (None,) * metadata.num_row_groups
    index = metadata.schema.names.index(column)
    out: list[tuple[Any, Any] | None] = []
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        statistics = group.column(index).statistics
        if group.num_rows == 0 or statistics is None or not statistics.has_min_max:
            out.append(None)
        else:
            out.append((statistics.min, statistics.max))
    return tuple(out)


def _metadata(path: str, name: str, filesystem: Any) -> pq.FileMetaData:
    try:
        return pq.ParquetFile(path, filesystem=filesystem).metadata
    except (pa.ArrowInvalid, OSError) as error:
        raise InputError(Problem(f"not a readable parquet file ({error})", source=name)) from None


def _refuse_repeated(names: Sequence[str], label: str) -> None:
    repeated = sorted({n for n in names if list(names).count(n) > 1})
    if repeated:
        raise InputError(
            Problem(
                f"has repeated column names: {', '.join(map(repr, repeated))} (each column "
                "must have its own name)",
                source=label,
            )
        )


def _hive_values(path: str, root: str | None) -> tuple[tuple[str, str], ...]:
    if root is None:
        return ()
    relative = path[len(root) :].strip("/").split("/")[:-1] if path.startswith(root) else []
    values: dict[str, str] = {}
    for part in relative:
        if "=" in part:
            key, value = part.split("=", 1)
            values[key] = value
    return tuple(values.items())


def _plain(schema: pa.Schema) -> pa.Schema:
    """Dictionary columns as their value type, string views and large strings as strings
    (how the local reader unifies the files of a folder)."""
    fields = []
    for f in schema:
        kind = f.type.value_type if pa.types.is_dictionary(f.type) else f.type
        if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
            kind = pa.string()
        fields.append(pa.field(f.name, kind))
    return pa.schema(fields)


def _same_columns(schemas: list[pa.Schema], names: Sequence[str], what: str) -> None:
    expected = set(schemas[0].names)
    for schema, name in zip(schemas[1:], names[1:], strict=True):
        if set(schema.names) != expected:
            missing = sorted(expected - set(schema.names))
            extra = sorted(set(schema.names) - expected)
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
                    f"{what} file has different columns from {names[0]} ({detail})",
                    source=name,
                )
            )


def read_piece(
    dataset: Dataset,
    piece: Piece,
    columns: Sequence[str] | None,
    dictionary_columns: Sequence[str] = (),
    *,
    with_origins: bool = True,
) -> pa.Table:
    """The rows of one piece: the columns asked for that exist (all when None), in the
    dataset's unified types, and (``with_origins``) the two origin columns."""
    names = [
        c for c in (dataset.available if columns is None else columns) if c in dataset.available
    ]
    hive = dict(dataset.hive[piece.file])
    stored = [c for c in names if c not in hive]
    strings = set(dictionary_columns)
    dictionary = [c for c in stored if c in strings and _is_text(dataset.schema.field(c).type)]
    try:
        table = pq.ParquetFile(
            dataset.files[piece.file],
            filesystem=dataset.filesystem,
            read_dictionary=dictionary or None,
        ).read_row_groups(range(piece.first, piece.stop), columns=stored)
    except (pa.ArrowInvalid, OSError) as error:
        raise InputError(
            Problem(f"not a readable parquet file ({error})", source=dataset.names[piece.file])
        ) from None
    rows = table.num_rows
    arrays, fields = [], []
    for name in names:
        target = dataset.schema.field(name).type
        if name in hive:
            column: pa.ChunkedArray | pa.Array = pa.array([hive[name]] * rows, pa.string())
        else:
            column = table[name]
            if not pa.types.is_dictionary(column.type) and column.type != target:
                column = column.cast(target)
        arrays.append(column)
        fields.append(pa.field(name, column.type))
    if not with_origins:
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    arrays.append(pa.array(np.full(rows, piece.file, np.int32)))
    fields.append(pa.field(FILE_COLUMN, pa.int32()))
    arrays.append(pa.array(np.arange(piece.start + 1, piece.start + rows + 1, dtype=np.int64)))
    fields.append(pa.field(ROW_COLUMN, pa.int64()))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))
