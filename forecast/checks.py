"""One argument-checking layer for the public API (issue 38).

Every callable of ``forecast.__all__`` (and the public methods of the results they
return) declares the kind of each argument with :func:`checked`; a value of the wrong
kind raises :class:`~forecast.errors.ArgumentError` (a ForecastError, and a TypeError
and ValueError for code that catches those) before any work, with one short line:
the function, the argument, what it must be and what it got, never the repr of a table::

    run_scenario: draws must be an integer from 100 to 5,000,000, got a float (150.9)

The kinds: integers are ints (numpy integers too; never a float such as 150.9 or 1e5,
nor a bool); numbers are finite ints or floats; a year is an int or an int-like string
("2030"), or a float that is a whole number; paths are ``str`` or ``os.PathLike``; a
models table is a pandas DataFrame; flags are bools. Values are checked for their kind
and, where the range is a property of the kind (a level between 0 and 1, the number of
draws), their range; what a value means (a file's contents, a scenario's keys) is
checked by the code that reads it. :func:`checked` refuses to decorate a function with
an argument it has no kind for, so a new argument cannot skip the layer.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import os
import pathlib
import re
from collections.abc import Callable
from typing import Any

from forecast.errors import ArgumentError
from forecast.limits import DRAWS_RANGE, SEED_RANGE

__all__ = [
    "DRAWS",
    "LEVEL",
    "LEVELS",
    "SEED",
    "WORKERS",
    "Check",
    "accept",
    "checked",
    "describe",
    "either",
    "fields",
    "flag",
    "frame",
    "function",
    "instance",
    "integer",
    "number",
    "optional",
    "path",
    "progress",
    "sequence",
    "text",
    "unchecked",
    "unexpandable",
    "year",
    "years",
]


class _Wrong(Exception):
    """A value of the wrong kind (raised inside a check, reported by :class:`Check`):
    ``hint`` for the message; for an item of a sequence, its ``index`` (``[2]``),
    ``value`` and what it must be."""

    def __init__(self, hint: str = "", *, index: str = "", what: str | None = None, **value):
        super().__init__(hint)
        self.hint, self.index, self.what = hint, index, what
        self.value = value  # {"value": the item} when the wrong value is an item


class Check:
    """One kind of argument: ``what`` it must be (for the message) and ``convert``, which
    returns the value to pass on (``"2030"`` -> 2030) or raises :class:`_Wrong`."""

    def __init__(self, what: str, convert: Callable[[Any], Any]) -> None:
        self.what = what
        self._convert = convert

    def convert(self, value):
        """The value to pass on, or :class:`_Wrong`."""
        return self._convert(value)

    def __call__(self, value, name: str, where: str = ""):
        """``value`` of the argument ``name`` checked (``where``: the function, for the
        message); raises :class:`~forecast.errors.ArgumentError`."""
        try:
            return self._convert(value)
        except _Wrong as wrong:
            what = wrong.what or self.what
            got = describe(wrong.value.get("value", value))
            hint = f": {wrong.hint}" if wrong.hint else ""
            raise ArgumentError(
                f"{where}{name}{wrong.index} must be {what}, got {got}{hint}"
            ) from None


def describe(value) -> str:
    """A value in a few words: its type and, when short, the value itself; a table by
    its shape, never its contents."""
    if value is None:
        return "None"
    kind = type(value).__name__
    if kind == "ndarray":
        kind = "numpy array"
    article = "an" if kind[:1].lower() in "aeiou" else "a"
    shape = getattr(value, "shape", None)
    if shape is not None and len(shape) == 2 and kind == "DataFrame":
        return f"a DataFrame ({shape[0]:,} rows x {shape[1]} columns)"
    if shape is not None and len(shape) >= 1:
        return f"{article} {kind} of shape {tuple(shape)}"
    if hasattr(value, "item") and isinstance(value, numbers.Number):  # a numpy scalar
        value = value.item()
    if isinstance(value, list | tuple | dict | set | frozenset):
        return f"{article} {kind} of {len(value)} item(s)"
    if isinstance(value, str | bytes | bool | numbers.Number):
        text = repr(value)
        return f"{article} {kind} ({text[:40] + '...' if len(text) > 40 else text})"
    return f"{article} {kind}"


def _not_bool(value) -> bool:
    return not isinstance(value, bool) and type(value).__name__ != "bool_"


def _range_text(low, high, noun: str, open_: bool = False) -> str:
    fmt = (lambda v: f"{v:,}") if noun == "integer" else (lambda v: f"{v:g}")
    if low is not None and high is not None:
        if open_:
            return f"a {noun} between {fmt(low)} and {fmt(high)} (exclusive)"
        return f"{'an' if noun == 'integer' else 'a'} {noun} from {fmt(low)} to {fmt(high)}"
    if noun == "integer" and low == 1 and high is None:
        return "a positive integer"
    if low is not None:
        return f"{'an' if noun == 'integer' else 'a'} {noun} of at least {fmt(low)}"
    if high is not None:
        return f"{'an' if noun == 'integer' else 'a'} {noun} of at most {fmt(high)}"
    return "an integer" if noun == "integer" else "a number"


def integer(low: int | None = None, high: int | None = None) -> Check:
    """An int (or numpy integer), never a bool or a float, in ``[low, high]``."""

    def convert(value):
        if not (isinstance(value, numbers.Integral) and _not_bool(value)):
            raise _Wrong()
        value = int(value)
        if (low is not None and value < low) or (high is not None and value > high):
            raise _Wrong()
        return value

    return Check(_range_text(low, high, "integer"), convert)


def number(low: float | None = None, high: float | None = None, *, open_: bool = False) -> Check:
    """A finite int or float (numpy too), not a bool, in ``[low, high]`` (``open_``:
    ``(low, high)``)."""

    def convert(value):
        if not (isinstance(value, numbers.Real) and _not_bool(value)):
            raise _Wrong()
        try:
            if not math.isfinite(float(value)):
                raise _Wrong()
        except OverflowError:  # an int beyond a float's range
            raise _Wrong() from None
        out = float(value) if not isinstance(value, numbers.Integral) else int(value)
        if open_ and ((low is not None and out <= low) or (high is not None and out >= high)):
            raise _Wrong()
        if (low is not None and out < low) or (high is not None and out > high):
            raise _Wrong()
        return out

    return Check(_range_text(low, high, "number", open_), convert)


_INT_TEXT = re.compile(r"^\s*[+-]?\d{1,6}\s*$")


#: Calendar years a function takes (four digits).
YEAR_RANGE = (1000, 9999)


def _year(value) -> int:
    if isinstance(value, str) and _INT_TEXT.match(value):
        out = int(value)
    elif isinstance(value, numbers.Integral) and _not_bool(value):
        out = int(value)
    elif (
        isinstance(value, numbers.Real)
        and _not_bool(value)
        and math.isfinite(float(value))  # a Real that is not Integral: a float
        and float(value).is_integer()
    ):
        out = int(value)
    else:
        raise _Wrong()
    if not YEAR_RANGE[0] <= out <= YEAR_RANGE[1]:
        raise _Wrong()
    return out


def year() -> Check:
    """A calendar year from 1000 to 9999: an int, an int-like string (``"2030"``) or a
    whole float -> int."""
    return Check("a year (an integer like 2030, or '2030')", _year)


def years() -> Check:
    """One year (-> int) or a 1-D sequence of years (-> list of ints)."""
    many = sequence(year())

    def convert(value):
        if isinstance(value, str) or not _is_sequence(value):
            return _year(value)
        return many.convert(value)

    return Check("a year (an integer like 2030, or '2030') or a list of years", convert)


def text(choices: tuple[str, ...] | None = None) -> Check:
    """A ``str`` (one of ``choices`` when given)."""

    def convert(value):
        if not isinstance(value, str) or (choices is not None and value not in choices):
            raise _Wrong()
        return value

    what = "a str" if choices is None else "one of " + ", ".join(map(repr, choices))
    return Check(what, convert)


def flag() -> Check:
    """``True`` or ``False`` (a numpy bool too)."""

    def convert(value):
        if isinstance(value, bool) or type(value).__name__ == "bool_":
            return bool(value)
        raise _Wrong()

    return Check("True or False", convert)


def path(what: str = "a path (a str or pathlib.Path)") -> Check:
    """A ``str`` or ``os.PathLike`` (not bytes, not a table); passed on unchanged."""

    def convert(value):
        if isinstance(value, str | os.PathLike) and not isinstance(value, bytes):
            problem = unexpandable(value)
            if problem:
                raise _Wrong(problem)
            return value
        if type(value).__name__ == "DataFrame":
            raise _Wrong(
                "a table in memory needs no loading; pass it where a models table is asked for"
            )
        raise _Wrong()

    return Check(what, convert)


def unexpandable(value) -> str | None:
    """Why ``value`` cannot name a file: a NUL character, or a ``~user`` at its start that
    cannot be expanded (no such user, no home directory); None when it can."""
    if "\x00" in os.fspath(value):
        return "a path cannot hold a NUL character"
    try:
        pathlib.Path(value).expanduser()
    except (RuntimeError, KeyError) as exc:
        return f"cannot expand the '~' ({exc})"
    return None


def frame(hint: str = "", *, columns: tuple[str, ...] = ("tokens",), one_of=("date", "year")):
    """A models table: a pandas DataFrame with ``columns`` and one of ``one_of``."""
    need = ", ".join(columns) + (f" and {' or '.join(one_of)}" if one_of else "")

    def convert(value):
        if not (type(value).__name__ == "DataFrame" and hasattr(value, "columns")):
            raise _Wrong(hint)
        present = set(map(str, value.columns))
        if not set(columns) <= present or (one_of and not set(one_of) & present):
            raise _Wrong(f"a models table has the columns {need} (forecast.load_models)")
        return value

    return Check(f"a models table (a pandas DataFrame with columns {need})", convert)


def instance(cls: type | tuple[type, ...], what: str, hint: str = "") -> Check:
    """An instance of ``cls``."""

    def convert(value):
        if isinstance(value, cls):
            return value
        raise _Wrong(hint)

    return Check(what, convert)


def function() -> Check:
    """Anything callable."""

    def convert(value):
        if callable(value):
            return value
        raise _Wrong()

    return Check("a function", convert)


def _silent(_message: str) -> None:
    return None


def progress() -> Check:
    """A progress callable, or None for silence (-> a function that does nothing)."""

    def convert(value):
        if value is None:
            return _silent
        if callable(value):
            return value
        raise _Wrong()

    return Check("a function taking one message (or None)", convert)


def _is_sequence(value) -> bool:
    if isinstance(value, str | bytes | dict | set | frozenset):
        return False
    if isinstance(value, list | tuple | range):
        return True
    return type(value).__name__ in ("ndarray", "Series", "Index") and getattr(value, "ndim", 1) == 1


def sequence(item: Check, *, what: str | None = None) -> Check:
    """A list, tuple, range or 1-D numpy array / pandas Series of ``item`` (-> a list)."""

    def convert(value):
        if not _is_sequence(value):
            raise _Wrong()
        out = []
        for i, element in enumerate(list(value)):
            try:
                out.append(item.convert(element))
            except _Wrong as wrong:
                inner = wrong.value.get("value", element)
                raise _Wrong(
                    wrong.hint,
                    index=f"[{i}]{wrong.index}",
                    what=wrong.what or item.what,
                    value=inner,
                ) from None
        return out

    return Check(what or f"a list, each item {item.what}", convert)


def optional(check: Check) -> Check:
    """None, or a value of ``check``'s kind."""

    def convert(value):
        return None if value is None else check.convert(value)

    return Check(f"{check.what} or None", convert)


def either(*checks: Check, what: str | None = None) -> Check:
    """A value of any of ``checks``' kinds (the first that takes it)."""

    def convert(value):
        for check in checks:
            try:
                return check.convert(value)
            except _Wrong:
                continue
        raise _Wrong()

    return Check(what or " or ".join(c.what for c in checks), convert)


def accept(what: str, test: Callable[[Any], bool]) -> Check:
    """A value for which ``test`` is true (passed on unchanged)."""

    def convert(value):
        if test(value):
            return value
        raise _Wrong()

    return Check(what, convert)


def unchecked(reason: str) -> Check:
    """An argument this layer leaves to the function (``reason`` says who checks it)."""
    check = Check(f"anything ({reason})", lambda value: value)
    check.reason = reason
    return check


def fields(obj, **kinds: Check) -> None:
    """Check the fields of a settings object (a dataclass's ``__post_init__``) the way
    :func:`checked` checks arguments: ArgumentError naming the class and the field."""
    where = f"{type(obj).__name__}: "
    for name, check in kinds.items():
        check(getattr(obj, name), name, where)


def checked(**checks: Check):
    """Check a function's arguments, each with its :class:`Check`, before it runs.

    Every named argument must have a check (``*args``/``**kwargs`` and ``self``/``cls``
    excepted; :func:`unchecked` says who checks one instead): a function with an
    argument this layer does not know fails when it is defined, not when it is called.
    Values are passed on as the checks return them (``"2030"`` -> 2030). A call with
    unknown or missing arguments is an :class:`~forecast.errors.ArgumentError` too.
    """

    def decorate(func):
        signature = inspect.signature(func)
        skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        names = {
            p.name
            for p in signature.parameters.values()
            if p.kind not in skip and p.name not in ("self", "cls")
        }
        if names != set(checks):
            raise TypeError(
                f"{func.__qualname__}: arguments without a check {sorted(names - set(checks))}, "
                f"checks without an argument {sorted(set(checks) - names)}"
            )
        where = f"{func.__name__}: "

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise ArgumentError(f"{where}{exc}") from None
            for name, value in bound.arguments.items():
                check = checks.get(name)
                if check is not None:
                    bound.arguments[name] = check(value, name, where)
            return func(*bound.args, **bound.kwargs)

        wrapper.argument_checks = dict(checks)
        return wrapper

    return decorate


#: The kinds many functions share.
DRAWS = integer(*DRAWS_RANGE)
SEED = integer(*SEED_RANGE)
WORKERS = integer(1)
LEVEL = number(0, 1, open_=True)
LEVELS = sequence(LEVEL)
