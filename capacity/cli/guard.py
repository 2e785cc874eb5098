"""The CLI's outer edge: every option checked once, every failure one line, never a traceback.

`GuardedGroup` is the click group of the `capacity` app. Before a command runs, each of
its option values is checked against `OPTION_RANGES` (finite, in range, not empty); the
command's own checks (against the catalog, the model) follow. Whatever goes wrong then
ends as one line on stderr and exit code 2 (130 when interrupted): domain errors name
their field; usage errors get a hint; an unexpected exception is reported as an internal
error in one line (`CAPACITY_DEBUG=1` shows its traceback).
"""

from __future__ import annotations

import errno
import functools
import math
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

# typer bundles its own (trimmed) click: its classes are the ones raised and used here.
from typer._click.core import Command
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.core import TyperArgument, TyperGroup
from typer.exceptions import Abort, Exit

from capacity.constants import MAX_RUN_DAYS
from capacity.errors import CapacityError
from capacity.units import shown

DEBUG_ENV = "CAPACITY_DEBUG"


class Range:
    """An option's admissible values; `why` ends the error message."""

    def __init__(
        self, lo: float, hi: float, *, lo_open: bool = False, why: str = "", unit: str = ""
    ) -> None:
        self.lo, self.hi, self.lo_open, self.why, self.unit = lo, hi, lo_open, why, unit

    def check(self, name: str, value: float) -> None:
        low_bad = value <= self.lo if self.lo_open else value < self.lo
        if low_bad or value > self.hi:
            left = "(" if self.lo_open else "["
            why = f" ({self.why})" if self.why else ""
            raise CapacityError(
                f"must lie in {left}{_num(self.lo)}, {_num(self.hi)}]{self.unit}, "
                f"got {shown(_num(value))}{why}",
                field=name,
            )


def _num(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:g}"


# Sanity bounds, far outside any real job: they keep the arithmetic finite and every
# search bounded. Finer checks (against the partition, the model) come after.
MIN_MFU = 1e-3
MIN_DAYS = 1 / (24 * 60)  # one minute
_WHOLE = Range(1, 10**6, why="a parallel degree or count")
OPTION_RANGES: dict[str, Range] = {
    "mfu": Range(MIN_MFU, 1, why="a fraction of the peak; no training run stays below 0.1 % of it"),
    "days": Range(MIN_DAYS, MAX_RUN_DAYS, why="a deadline between a minute and a century"),
    "failure-rate": Range(0, 1, why="failures per GPU-hour; Llama 3 saw 2e-5"),
    "restart-min": Range(0, 10_080, why="minutes, at most a week"),
    "checkpoint-gbps": Range(0, 1e5, lo_open=True, why="GB/s per node"),
    "wan-gbps": Range(1e-3, 1e5, why="Gbit/s between sites, from 1 Mbit/s to 100 Tbit/s"),
    "job-hours": Range(0, 8_784, lo_open=True, why="hours, at most a year"),
    "measured-step-time": Range(0, 604_800, lo_open=True, why="seconds per step"),
    "target-loss": Range(0, 100, lo_open=True, why="nats per token"),
    "nodes": Range(1, 10**6, why="nodes or instances"),
    "gpus": Range(1, 10**7, why="GPUs"),
    "seq-len": Range(1, 10**7, why="tokens per sequence"),
    "micro-batch": Range(1, 10**6, why="sequences"),
    "zero": Range(0, 4, why="ZeRO stage 0-3, or 4 for HSDP"),
    "top": Range(1, 10**6, why="rows"),
    **{k: _WHOLE for k in ("tp", "pp", "dp", "cp", "ep", "vpp")},
}
# Any other number: finite and within these bounds.
_ANY_INT = Range(0, 10**9, why="a count")
_ANY_FLOAT = Range(0, 1e30)
# No option needs more text than a path (PATH_MAX is 4096 on Linux).
MAX_TEXT_CHARS = 4096


def check_value(name: str, value: Any) -> None:
    """One option value; CapacityError(field=name) when it cannot be right."""
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, list | tuple):
        for item in value:
            check_value(name, item)
        return
    if isinstance(value, str):
        if not value.strip():
            raise CapacityError("is empty", field=name)
        if "\x00" in value or len(value) > MAX_TEXT_CHARS:
            raise CapacityError(
                f"'{shown(value)}' is not a usable value ({len(value):,} characters)", field=name
            )
        return
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise CapacityError(f"must be a finite number, got {value}", field=name)
        rule = OPTION_RANGES.get(name) or (_ANY_INT if isinstance(value, int) else _ANY_FLOAT)
        rule.check(name, value)


def _option_names(cmd: Command) -> dict[str, str]:
    """Python parameter name -> the option as the user types it, without dashes."""
    names = {}
    for param in cmd.params:
        if param.name is None:
            continue
        if isinstance(param, TyperArgument) or not param.opts:
            names[param.name] = str(getattr(param, "metavar", None) or param.name.upper())
        else:
            longs = [o for o in param.opts if o.startswith("--")]
            names[param.name] = (longs[0] if longs else param.opts[0]).lstrip("-")
    return names


def _guard_callback(cmd: Command) -> None:
    """Wrap a command's callback so its arguments are checked before it runs (once)."""
    callback = cmd.callback
    if callback is None or getattr(callback, "_capacity_guarded", False):
        return
    names = _option_names(cmd)

    @functools.wraps(callback)
    def checked(*args: Any, **kwargs: Any) -> Any:
        for key, value in kwargs.items():
            check_value(names.get(key, key), value)
        return callback(*args, **kwargs)

    checked._capacity_guarded = True  # type: ignore[attr-defined]
    cmd.callback = checked


def _escape_help(cmd: Command) -> None:
    """Help texts are plain text: escape what rich would read as markup ('Cluster[/part]')."""
    try:
        from rich.markup import escape
    except ImportError:  # plain click help: nothing to escape
        return
    if getattr(cmd, "_capacity_escaped", False):
        return
    if cmd.help:
        cmd.help = escape(cmd.help)
    for param in cmd.params:
        if getattr(param, "help", None):
            param.help = escape(param.help)  # type: ignore[attr-defined]
    cmd._capacity_escaped = True  # type: ignore[attr-defined]


def _walk(cmd: Command) -> None:
    _escape_help(cmd)
    _guard_callback(cmd)
    if isinstance(cmd, TyperGroup):
        for sub in cmd.commands.values():
            _walk(sub)


def one_line(text: str, limit: int = 500) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _usage_hint(exc: UsageError) -> str:
    msg = exc.format_message()
    if "file '' is a directory" in msg:  # click's words for an empty path (`-o ''`)
        return msg.split(":", 1)[0] + ": is empty: give a file name"
    if "unexpected extra argument" in msg:
        return (
            f"{msg}; a value with spaces needs quotes, e.g. --budget '500k gpu-hours' "
            "or --title 'My run'"
        )
    return msg


def _report(exc: BaseException) -> int:
    """Print the one line for `exc`; return the exit code."""
    from pydantic import ValidationError

    code = 2
    if isinstance(exc, NoArgsIsHelpError):  # `capacity` alone: the help is the answer
        text = exc.format_message()  # rich prints the help here; plain click returns it
        if text:
            print(text)
        return 0
    if isinstance(exc, CapacityError):
        line = str(exc)
    elif isinstance(exc, ValidationError):
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        line = f"{loc}: {err['msg']}" if loc else str(err["msg"])
    elif isinstance(exc, UsageError):
        line = _usage_hint(exc)
    elif isinstance(exc, ClickException):
        line, code = exc.format_message(), exc.exit_code or 2
    elif isinstance(exc, KeyboardInterrupt | Abort):
        line, code = "interrupted", 130
    elif isinstance(exc, OSError):
        where = f"'{exc.filename}': " if exc.filename else ""
        line = f"{where}{exc.strerror or exc}"
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            line += " (the disk is full)"
    elif isinstance(exc, RecursionError | MemoryError):
        line = "the input is too large or too deeply nested to process"
    else:
        line = (
            f"internal error ({type(exc).__name__}: {exc}); please report it "
            f"(set {DEBUG_ENV}=1 for the traceback)"
        )
    # pydantic prefixes custom messages with "Value error, ": noise for a reader
    print(f"error: {one_line(line.replace('Value error, ', ''))}", file=sys.stderr)
    return code


def run_guarded(call: Callable[[], Any]) -> int:
    """Run the click command; turn any failure into one line and an exit code."""
    try:
        with warnings.catch_warnings():
            # numpy's overflow/invalid-value warnings are internals, not output for a user:
            # a non-finite result is caught where it matters (the finite-JSON rule)
            warnings.simplefilter("ignore", RuntimeWarning)
            result = call()
    except Exit as exc:
        return int(exc.exit_code)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except BrokenPipeError:
        # The reader went away (`capacity ... | head`): stop quietly.
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115
        return 1
    except BaseException as exc:
        if os.environ.get(DEBUG_ENV) and not isinstance(exc, CapacityError | ClickException):
            raise
        return _report(exc)
    return result if isinstance(result, int) and not isinstance(result, bool) else 0


class GuardedGroup(TyperGroup):
    """The app's group: checks every option, turns every failure into one line."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        _walk(self)
        base_main = super().main

        def call() -> Any:
            return base_main(args, prog_name, complete_var, standalone_mode=False, **extra)

        code = run_guarded(call)
        if standalone_mode:
            sys.exit(code)
        return code
