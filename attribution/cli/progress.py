"""A progress bar on stderr that appears only for work longer than about a second, and
only on a terminal (logs and pipes get no control characters)."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

DELAY_SECONDS = 1.0


class Progress:
    """Steps of a command; ``start(label)`` ends the previous step and begins the next."""

    def __init__(self, total: int, *, quiet: bool) -> None:
        self._bar: Any = None
        self._started = False
        if quiet or not sys.stderr.isatty():
            return
        from tqdm import tqdm

        self._bar = tqdm(
            total=total,
            delay=DELAY_SECONDS,
            file=sys.stderr,
            leave=False,
            unit="step",
            bar_format="{desc:<24} {bar} {n_fmt}/{total_fmt} [{elapsed}]",
        )

    def start(self, label: str) -> None:
        if self._bar is None:
            return
        if self._started:
            self._bar.update(1)
        self._started = True
        self._bar.set_description_str(label, refresh=False)

    def set_total(self, total: int) -> None:
        if self._bar is not None:
            self._bar.total = total

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bar is None:
            return
        if self._started and kind is None:
            self._bar.update(1)
        self._bar.close()
