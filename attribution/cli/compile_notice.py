"""Say so, on a terminal, when the numba kernels are about to be compiled.

The kernels are compiled on the first run and cached on disk (``cache=True``); that
first run takes about 10 s more, which would otherwise look like a hang.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

KERNEL_FOLDER = Path(__file__).resolve().parent.parent / "kernels"


def kernels_cached() -> bool:
    """Whether every kernel module has a compiled index in numba's cache."""
    modules = [p.stem for p in KERNEL_FOLDER.glob("*.py") if p.stem != "__init__"]
    folders = [KERNEL_FOLDER / "__pycache__"]
    if os.environ.get("NUMBA_CACHE_DIR"):
        folders.append(Path(os.environ["NUMBA_CACHE_DIR"]))
    indexes = {p.name.split(".")[0] for f in folders if f.exists() for p in f.rglob("*.nbi")}
    return all(module in indexes for module in modules)


def announce_compilation(quiet: bool) -> None:
    """One line on stderr, on a terminal only, when the kernels are not yet compiled."""
    if quiet or not sys.stderr.isatty() or kernels_cached():
        return
    print("compiling kernels, first run only (about 10 s)...", file=sys.stderr, flush=True)
