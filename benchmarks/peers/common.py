"""What every peer adapter declares, and helpers the adapters share (no ``attribution``).

A peer's *job* is one call of the peer (ChannelAttribution's ``heuristic_models`` is one
job giving three models). Each of a job's models names the model of this engine it
corresponds to (``ours``), or ``None`` when this engine has no counterpart; that pairing
is what the speed ratios compare. An adapter module defines ``INFO`` (a
:class:`PeerInfo`) and three functions the child process calls:

- ``read(folder)``: the peer's native input from the files :mod:`benchmarks.peers.inputs`
  wrote (not timed: it stands for data the user already has in the peer's format);
- ``setup(data)``: the work the peer does once before any model (e.g. a constructor that
  preprocesses the data), timed once and added to every job's time;
- ``run(state, job)``: one job, timed, returning per model and channel the credited
  conversions and value (:data:`Credits`).

Optional: ``import_peer()`` (importing needs a workaround) and ``complete(state, job,
credits)``: where one call of the peer credits one unit only (MAM: value), a second,
untimed run adding the credited conversions, done when the runner asks for them.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

#: Path separator of the path and journey tables written for the peers.
SEP = " > "

#: Each peer's adapter module by peer name, in reporting order. A name, not an import,
#: so a child process imports only the adapter it runs (the others import pandas).
ADAPTER_MODULES = {
    "channelattribution": "benchmarks.peers.channel_attribution",
    "mam2": "benchmarks.peers.mam2",
    "mam1": "benchmarks.peers.mam1",
    "mta": "benchmarks.peers.mta_models",
}

#: model -> channel -> (credited conversions, credited value); NaN where not given.
Credits = dict[str, dict[str, tuple[float, float]]]


@dataclass(frozen=True)
class PeerModel:
    """A model a job produces: the peer's name for it, this engine's counterpart, a note."""

    name: str
    ours: str | None
    note: str = ""


@dataclass(frozen=True)
class Job:
    """One call of the peer and the models it gives.

    ``accuracy``: run in the accuracy benchmark too (``False`` for jobs too slow to run
    on every scenario and seed; ``skip_reason`` says why, and the tables show it).
    ``options``: keyword arguments of the peer call, shown in the results.
    """

    name: str
    models: tuple[PeerModel, ...]
    options: str = ""
    accuracy: bool = True
    skip_reason: str = ""

    @property
    def ours(self) -> tuple[str, ...]:
        """This engine's counterparts of the job's models (for the speed ratio)."""
        return tuple(dict.fromkeys(m.ours for m in self.models if m.ours is not None))


@dataclass(frozen=True)
class PeerInfo:
    """A peer library: names, the input it reads, its jobs and what to know about it."""

    name: str
    label: str
    distribution: str
    import_name: str
    input: str
    jobs: tuple[Job, ...]
    setup: str
    notes: tuple[str, ...] = field(default=())

    def job(self, name: str) -> Job:
        for job in self.jobs:
            if job.name == name:
                return job
        raise KeyError(f"{self.label} has no job {name!r}")


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Swallow what a peer prints through Python's ``sys.stdout`` (banners, timers)."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def by_channel(
    conversions: Mapping[str, float] | None, value: Mapping[str, float] | None
) -> dict[str, tuple[float, float]]:
    """Merge per-channel conversions and value (a missing unit is NaN, a missing channel 0)."""
    channels = sorted(set(conversions or {}) | set(value or {}))

    def pick(source: Mapping[str, float] | None, channel: str) -> float:
        if source is None:
            return math.nan
        return float(source.get(channel, 0.0))

    return {c: (pick(conversions, c), pick(value, c)) for c in channels}
