"""A stand-in peer for the isolation tests: each job misbehaves in its own way."""

from __future__ import annotations

import os
import time
from pathlib import Path

from benchmarks.peers.common import Credits, Job, PeerInfo, PeerModel

INFO = PeerInfo(
    name=__name__,
    label="fake peer",
    distribution="pytest",
    import_name="json",
    input="paths",
    setup="none",
    jobs=tuple(
        Job(name, (PeerModel(name, "linear"),))
        for name in ("ok", "prints", "fails", "hangs", "crashes", "last")
    ),
)


def read(folder: Path) -> float:
    return float((folder / "value.txt").read_text())


def setup(value: float) -> float:
    return value


def run(value: float, job: str) -> Credits:
    if job == "prints":
        print("a banner on sys.stdout")
        os.write(1, b"and one from C code\n")
    elif job == "fails":
        raise ValueError("bad input")
    elif job == "hangs":
        time.sleep(600)
    elif job == "crashes":
        os._exit(3)
    return {job: {"web": (1.0, value)}}
