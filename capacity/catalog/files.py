"""Read the small text files users give (catalog TOML, config.json, CSV, campaign TOML).

An I/O edge shared by every reader: only regular files (a device such as /dev/zero or a
FIFO would be read forever), at most `MAX_INPUT_BYTES`, strict UTF-8. Every problem is
one `CapacityError` that names the file and the field, so the CLI prints one line.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from capacity.errors import CapacityError

# The largest input the tool reads. The biggest real inputs are well below it (the runs
# catalog ~30 kB, a DeepSeek-V3 config.json ~2 kB); a cap keeps a wrong path from
# exhausting memory.
MAX_INPUT_BYTES = 4 * 2**20


class InputFileError(CapacityError):
    """A file that cannot be read; `problem` is the message without the path."""

    def __init__(self, path: Path, problem: str, *, field: str) -> None:
        super().__init__(f"'{path}' {problem}", field=field)
        self.problem = problem


def read_text(path: str | Path, *, field: str, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """The file's text; CapacityError(field=...) naming the file on any problem."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise InputFileError(p, "does not exist", field=field) from None
    except OSError as exc:
        raise InputFileError(p, f"cannot be read: {exc.strerror}", field=field) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputFileError(p, "is a folder, not a file", field=field)
        if not stat.S_ISREG(info.st_mode):
            raise InputFileError(p, "is not a regular file (a device or pipe?)", field=field)
        if info.st_size > max_bytes:
            raise InputFileError(
                p,
                f"is {info.st_size / 2**20:.1f} MiB; inputs are limited to "
                f"{max_bytes / 2**20:.0f} MiB",
                field=field,
            )
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InputFileError(p, f"cannot be read: {exc.strerror}", field=field) from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # grew while we read it
        raise InputFileError(p, f"is larger than {max_bytes / 2**20:.0f} MiB", field=field)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputFileError(
            p,
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); save it as UTF-8",
            field=field,
        ) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose key appears twice is ambiguous (json keeps the last silently)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key '{key}' appears twice")
        out[key] = value
    return out


def read_json(path: str | Path, *, field: str) -> Any:
    """Parse a JSON file; NaN/Infinity literals, a key twice in one object and deep nesting
    are refused in one line."""
    p = Path(path)
    text = read_text(p, field=field)
    try:
        return json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise InputFileError(
            p, f"is not valid JSON (line {exc.lineno}: {exc.msg})", field=field
        ) from None
    except RecursionError:
        raise InputFileError(p, "is nested too deeply to be a config", field=field) from None
    except ValueError as exc:
        raise InputFileError(p, f"is not valid JSON: {exc}", field=field) from None


def unique_columns(fieldnames: Sequence[str] | None, path: Path, *, field: str) -> None:
    """A CSV header naming a column twice is ambiguous (csv.DictReader keeps the last)."""
    names = [n.strip() for n in fieldnames or () if n is not None]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputFileError(path, f"names the column '{twice[0]}' twice", field=field)


def parse_toml(text: str, *, where: str, field: str) -> dict[str, Any]:
    """Parse TOML text; malformed or absurdly nested input is one CapacityError."""
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(Path(where), f"is malformed TOML: {exc}", field=field) from None
    except RecursionError:
        raise InputFileError(Path(where), "is nested too deeply", field=field) from None
