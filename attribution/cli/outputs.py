"""The files a command writes: planned and checked before anything is read or written.

No file a run writes may be one it reads, and no two outputs may be one file: every
planned output is compared with every input file (each file of an input folder
included) and with the other outputs, by resolved path and by ``os.path.samefile``
(symlinks, hard links). An output inside an input folder is refused too, since the next
run would read it as data. Any clash is an error naming both, before anything is read.
Writes themselves are atomic (:mod:`attribution.io.writers`).

Nothing stale may look current: files an earlier run wrote beside ``--out``
(``<stem>.<name><ext>``: roll-ups by one dimension, compare's side tables;
``<stem>.rejects.csv``) that this run does not rewrite are never deleted, since nothing
proves they are ours and not the user's; :meth:`OutputPlan.stale` names them, and the
command warns on stderr and in the reconciliation notes (code ``stale_file``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from attribution.errors import ParameterError
from attribution.notes import Note


@dataclass(frozen=True)
class Planned:
    """One file a command will write (or, for ``folder``, a folder it writes: a dataset,
    which must hold no input and no other output)."""

    option: str
    path: Path
    folder: bool = False


@dataclass
class OutputPlan:
    """The outputs of one command, checked against its inputs."""

    outputs: list[Planned] = field(default_factory=list)

    def add(self, option: str, path: str | Path | None, *, folder: bool = False) -> Path | None:
        if path is None:
            return None
        planned = Planned(option, Path(path), folder)
        self.outputs.append(planned)
        return planned.path

    def check(self, inputs: Iterable[tuple[str, str | Path]]) -> None:
        """Refuse any output that is an input, lies inside an input folder, or is another
        output. ``inputs``: (option, path) of every file or folder the command reads."""
        read: list[tuple[str, Path]] = []
        folders: list[tuple[str, Path]] = []
        for option, path in inputs:
            path = Path(path)
            if path.is_dir():
                folders.append((option, path))
                read.extend((option, f) for f in _files_under(path))
            else:
                read.append((option, path))
        for planned in self.outputs:
            for option, source in read:
                if _same(planned.path, source):
                    raise ParameterError(
                        f"{planned.option} {planned.path} is the input file {source} "
                        f"({option}): a run never overwrites what it reads; choose another "
                        "output path"
                    )
                if planned.folder and _inside(source, planned.path):
                    raise ParameterError(
                        f"{planned.option} {planned.path} holds the input {source} "
                        f"({option}): a run never overwrites what it reads; choose another "
                        "output folder"
                    )
            for option, folder in folders:
                if _inside(planned.path, folder):
                    raise ParameterError(
                        f"{planned.option} {planned.path} is inside the input folder {folder} "
                        f"({option}): the next run would read it as data; write it elsewhere"
                    )
        for i, first in enumerate(self.outputs):
            for second in self.outputs[i + 1 :]:
                if _same(first.path, second.path):
                    raise ParameterError(
                        f"{first.option} and {second.option} are the same file "
                        f"({first.path}): each output needs its own path"
                    )
                for outer, inner in ((first, second), (second, first)):
                    if outer.folder and _inside(inner.path, outer.path):
                        raise ParameterError(
                            f"{inner.option} {inner.path} is inside the output folder "
                            f"{outer.path} ({outer.option}): each output needs its own path"
                        )

    def stale(self, out: str | Path | None, inputs: Iterable[tuple[str, str | Path]]) -> list[Path]:
        """Files beside ``out`` that look like this engine's side outputs (``<stem>.<name>
        <ext>`` with ``out``'s extension, ``<stem>.rejects.csv``, the folder
        ``<stem>.rejects``) but that this command neither writes nor reads, sorted."""
        if out is None:
            return []
        out = Path(out)
        folder = out.parent if str(out.parent) else Path(".")
        if not folder.is_dir():
            return []
        prefix = f"{out.stem}."
        extra = {f"{out.stem}.rejects.csv", f"{out.stem}.rejects"}
        known = [p.path for p in self.outputs] + [Path(path) for _, path in inputs]
        stale = []
        for entry in folder.iterdir():
            name = entry.name
            beside = name.startswith(prefix) and (
                name in extra
                or (name.endswith(out.suffix) and len(name) > len(prefix) + len(out.suffix))
            )
            if beside and not any(_same(entry, path) for path in known):
                stale.append(entry)
        return sorted(stale)


def stale_note(paths: list[Path]) -> Note:
    """The reconciliation note (and stderr warning) naming files this run did not write."""
    names = ", ".join(str(p) for p in paths)
    return Note(
        "stale_file",
        f"{names} {'is' if len(paths) == 1 else 'are'} not from this run (an earlier run's "
        "side output?) and may no longer match it; they were left untouched: remove them",
        data={"paths": [str(p) for p in paths]},
    )


def _files_under(folder: Path) -> list[Path]:
    files: list[Path] = []
    seen: set[str] = set()
    for root, directories, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            directories[:] = []
            continue
        seen.add(real)
        files.extend(Path(root) / name for name in names)
    return files


def _same(first: Path, second: Path) -> bool:
    if os.path.realpath(first) == os.path.realpath(second):
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    real_folder = os.path.realpath(folder)
    real = os.path.realpath(path)
    return os.path.commonpath([real, real_folder]) == real_folder
