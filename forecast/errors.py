"""The package's own error types.

Every error a user can cause (a bad file, a bad scenario, a bad argument) is raised as a
:class:`ForecastError` subclass, so the CLI can turn it into one line and exit code 2.
"""

from __future__ import annotations


class ForecastError(Exception):
    """Base class of every user-facing error in the toolkit."""


class DataError(ForecastError):
    """A problem in an input table, located by file, 1-based row and column.

    ``row`` is the row number as a spreadsheet shows it: the header is row 1, so the
    first data record is row 2. ``row`` or ``column`` is None where the problem is the
    whole file (e.g. a missing column) or a whole column.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        self.reason = message
        where = []
        if file is not None:
            where.append(str(file))
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ArgumentError(ForecastError, TypeError, ValueError):
    """A public function was given an argument of the wrong kind (a float for a number of
    draws, a table where a path belongs); raised by :mod:`forecast.checks` before any
    work, with one short line. Also a TypeError and a ValueError."""


class WriteError(ForecastError, OSError):
    """A file or directory could not be written (a full disk, a file too large, no
    permission, a read-only file system). The message names the path and says what was
    left: forecast writes through a temporary sibling, so nothing was written and an
    earlier file or report at the path is unchanged. The command line exits with 1 (a
    failure of the machine, not of the input). Also an :class:`OSError`, with the
    original ``errno``."""


class ScenarioError(ForecastError):
    """An invalid scenario: unknown name or key, out-of-range value, bad TOML."""


class LeverError(ScenarioError, ValueError):
    """An invalid stock-model lever (a :class:`ScenarioError` that is also a ValueError)."""


class ExhaustionError(ForecastError, ValueError):
    """Invalid input to the exhaustion computation (shapes, grid, non-positive values)."""


class DataWarning(UserWarning):
    """A value of an input table that loads but lies outside its plausible range, or two
    model names that differ only in case, spacing or punctuation. ``file``, ``row`` and
    ``column`` locate it as in :class:`DataError`; the table loads unchanged."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file, self.row, self.column, self.reason = file, row, column, message
        super().__init__(str(DataError(message, file=file, row=row, column=column)))


class SamplingWarning(UserWarning):
    """The sampler's diagnostics (r_hat, ESS, divergences) fail the health thresholds."""


class ShortHistoryWarning(UserWarning):
    """A demand model is fitted to fewer years of history than projections can rely on."""


def require_type(value, expected: type | tuple[type, ...], what: str, hint: str = "") -> None:
    """Raise :class:`ForecastError` naming ``what`` when ``value`` is not ``expected``:
    library entry points check their arguments instead of failing deep inside."""
    if not isinstance(value, expected):
        names = (
            " or ".join("None" if t is type(None) else t.__name__ for t in expected)
            if isinstance(expected, tuple)
            else expected.__name__
        )
        got = type(value).__name__
        raise ForecastError(
            f"{what} must be a {names}, got a {got}" + (f": {hint}" if hint else "")
        )
