"""Progress of long steps for the command line.

:class:`StepProgress` is the ``progress`` callable the CLI hands to every long step (fits,
scenario runs, the sensitivity analysis, the forecast-skill study). On a terminal it draws
a live display with `rich <https://rich.readthedocs.io>`_: one line per step with a
spinner and its elapsed time, and a bar for counted steps (messages ending in ``(i/n)``,
e.g. ``origin 2023-01-01 (4/10)``) with their remaining time. Anywhere else (pipes, CI
logs) it prints the same messages as plain ``[forecast] ...`` lines, so logs stay
greppable; a counted step's line adds its elapsed time and, from the items done so far,
an estimate of the time left. The clock is read for these lines only, never for results.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from typing import TextIO

from forecast.safety import terminal_text

__all__ = ["StepProgress"]

_COUNTED = re.compile(r"^(?P<label>.*?)\s*\((?P<done>\d+)/(?P<total>\d+)\)\s*$")


class StepProgress:
    """Callable taking one-line step messages; call :meth:`close` when the work is done.

    ``live``: draw the rich display (default: when ``stream`` is a terminal).
    """

    def __init__(self, stream: TextIO | None = None, live: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.live = bool(isatty()) if live is None else live
        self._progress = None
        self._task = None
        self._counted: str | None = None
        # Scenario runs report from worker threads (run_scenarios(workers=2)): one
        # message at a time, so lines never interleave and the display's state holds.
        self._lock = threading.Lock()
        # Plain mode's counted step: (label, start time) for the elapsed and left estimate.
        self._plain_step: tuple[str, float] | None = None

    def __call__(self, message: str) -> None:
        with self._lock:
            self._show(message)

    def _show(self, message: str) -> None:
        if not self.live:
            line = terminal_text(f"[forecast] {message}") + self._timing(message)
            print(line, file=self.stream, flush=True)
            return
        message = terminal_text(message)
        progress = self._display()
        counted = _COUNTED.match(message)
        total = int(counted["total"]) if counted else None
        done = int(counted["done"]) - 1 if counted else 0
        fields = {"completed": done, "count": f"{done}/{total}" if counted else ""}
        step = counted["label"].split(" ")[0] if counted else None
        if step is not None and step == self._counted:
            # The next item of the same counted step: advance its bar.
            progress.update(self._task, description=message, total=total, **fields)
            return
        self._finish_task()
        self._task = progress.add_task(message, total=total, **fields)
        self._counted = step

    def _timing(self, message: str) -> str:
        """Plain mode: `` · 1:05 elapsed, about 1:40 left`` for the items of a counted
        step after its first (the estimate: the mean time of the items done so far)."""
        counted = _COUNTED.match(message)
        if counted is None:
            self._plain_step = None
            return ""
        step = counted["label"].split(" ")[0]
        done, total = int(counted["done"]) - 1, int(counted["total"])
        now = time.monotonic()
        if self._plain_step is None or self._plain_step[0] != step or done == 0:
            self._plain_step = (step, now)
            return ""
        elapsed = now - self._plain_step[1]
        left = elapsed / done * (total - done)
        return f" · {_clock(elapsed)} elapsed, about {_clock(left)} left"

    def _display(self):
        if self._progress is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                SpinnerColumn(finished_text="[green]done"),
                # markup off: a "[/x]" in a scenario name is text, not a rich tag
                TextColumn("{task.description}", markup=False),
                BarColumn(bar_width=20),
                TextColumn("{task.fields[count]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                # Results go to stdout untouched (a pipe or file stays clean); the CLI
                # ends the display when the results start (forecast.cli._SafeOutput).
                redirect_stdout=False,
            )
            self._progress.start()
        return self._progress

    def _finish_task(self) -> None:
        if self._task is not None:
            task = self._progress.tasks[-1]
            total = task.total if task.total is not None else 1
            count = f"{total:g}/{total:g}" if task.fields.get("count") else ""
            self._progress.update(self._task, total=total, completed=total, count=count)
            self._progress.stop_task(self._task)
        self._task = None
        self._counted = None

    def close(self) -> None:
        """Mark the last step done and stop the live display (no-op when plain)."""
        with self._lock:
            if self._progress is not None:
                self._finish_task()
                self._progress.stop()
                self._progress = None

    def __enter__(self) -> StepProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _clock(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) of a duration."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
