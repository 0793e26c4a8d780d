"""Peak resident memory of the current process, the same way for this engine and the peers.

Linux's ``VmHWM`` (``/proc/self/status``) is the high-water mark of this process's own
address space: it starts afresh at ``exec`` and can be restarted through
``/proc/self/clear_refs``. ``getrusage``'s ``ru_maxrss`` is not a substitute: on Linux a
child process inherits its parent's value across ``exec``, so a benchmark started from a
process holding a large dataset would report the parent's peak. It is used only where
``/proc`` does not exist. This module imports nothing from the engine, so the peer
processes (other interpreters) use it too.
"""

from __future__ import annotations

import contextlib
import resource
from pathlib import Path

_STATUS = Path("/proc/self/status")


def reset_peak_memory() -> None:
    """Restart the peak-RSS counter of this process (Linux; a no-op elsewhere)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _status_mb(field: str) -> float | None:
    """A ``/proc/self/status`` memory field in MB, or None where ``/proc`` is missing."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def resident_memory_mb() -> float:
    """Resident memory of this process now, in MB (``VmRSS``; 0 where ``/proc`` is missing)."""
    return _status_mb("VmRSS") or 0.0


def peak_memory_mb() -> float:
    """Peak resident memory of this process (since the last reset), in MB."""
    peak = _status_mb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
