"""Writing outputs safely: only regular files, atomically, nothing left behind on failure.

`-o` and `--write` may name a new file or replace one of the same kind (`.html` for a
report, `.toml` for a calibration); they never write into a device, a folder, /proc or
/sys, or over a file of another kind (a mistyped `-o /etc/passwd`). The text goes to a
temporary file beside the destination, is flushed to disk, then renamed over it; any
failure (a full or read-only disk, Ctrl-C, SIGTERM) removes the temporary file. A
proposal folder is built whole in a temporary folder beside it, then swapped in, so a
killed run never leaves new and old files mixed.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from capacity.errors import CapacityError

# Kernel file systems: writing there talks to the kernel, not to a file.
_SYSTEM_ROOTS = ("/proc", "/sys", "/dev")


def _problem(exc: OSError) -> str:
    text = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{text} (the disk is full)"
    if exc.errno == errno.EROFS and "read-only" not in text.lower():
        return f"{text} (read-only file system)"
    return text


def _under_system_root(path: Path) -> bool:
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        resolved = path.absolute()
    return any(
        str(resolved) == root or str(resolved).startswith(root + "/") for root in _SYSTEM_ROOTS
    )


def _check_name(path: Path, field: str) -> None:
    """A blank name or '-' is a slip (an unset variable, stdout meant), never a file to create."""
    if not path.name.strip():
        raise CapacityError(f"'{path}' has no name; give one", field=field)
    if str(path) == "-":
        raise CapacityError(
            "'-' (standard output) is not supported here; give a file name", field=field
        )


def check_output_file(path: Path, *, field: str, suffixes: Sequence[str]) -> Path:
    """Refuse, before any work, a destination that must not or cannot be written."""
    _check_name(path, field)
    if _under_system_root(path):
        raise CapacityError(f"'{path}' is a system path; write to a regular folder", field=field)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise CapacityError(f"cannot write '{path}': {_problem(exc)}", field=field) from None
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise CapacityError(f"'{path}' is a folder; give a file name", field=field)
        if not stat.S_ISREG(info.st_mode):
            raise CapacityError(
                f"'{path}' is not a regular file (a device or pipe?); refusing to write it",
                field=field,
            )
        if info.st_size and path.suffix.lower() not in suffixes:
            raise CapacityError(
                f"'{path}' exists and is not a {' or '.join(suffixes)} file; refusing to "
                "replace it (remove it first or choose another name)",
                field=field,
            )
    parent = path.parent
    try:
        if parent.exists() and not parent.is_dir():
            raise CapacityError(f"'{parent}' is not a folder", field=field)
    except OSError as exc:
        raise CapacityError(f"cannot write '{path}': {_problem(exc)}", field=field) from None
    return path


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def write_file(path: Path, text: str | bytes, *, field: str, suffixes: Sequence[str]) -> int:
    """Write `text` atomically to `path` (checked as above); return the bytes written."""
    check_output_file(path, field=field, suffixes=suffixes)
    data = text.encode("utf-8") if isinstance(text, str) else text
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)  # keep the mode of the file replaced
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise CapacityError(f"cannot write '{path}': {_problem(exc)}", field=field) from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return len(data)


def check_output_folder(folder: Path, names: Sequence[str] | None, *, field: str) -> None:
    """A folder we may replace as a whole: new, empty, or holding only `names`.

    With `names` None only the kind of path is checked (before the work is done).
    """
    _check_name(folder, field)
    if _under_system_root(folder):
        raise CapacityError(f"'{folder}' is a system path; write to a regular folder", field=field)
    try:
        if not folder.exists():
            return
        if not folder.is_dir() or folder.is_symlink():
            raise CapacityError(f"'{folder}' exists and is not a folder", field=field)
        if names is None:
            return
        others = sorted(p.name for p in folder.iterdir() if p.name not in names)
    except OSError as exc:
        raise CapacityError(f"cannot write '{folder}': {_problem(exc)}", field=field) from None
    if others:
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        raise CapacityError(
            f"'{folder}' holds other files ({shown}); it is replaced as a whole, so give a "
            "new or empty folder",
            field=field,
        )


def write_folder(
    folder: Path, files: Mapping[str, str], *, field: str, owned: Sequence[str] = ()
) -> None:
    """Build every file in a temporary folder beside `folder`, then swap it in.

    `owned`: other names the command writes there (proposal.pdf), replaced with the rest.
    """
    check_output_folder(folder, [*files, *owned], field=field)
    folder = folder.absolute()
    new: str | None = None
    old: str | None = None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        new = tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name[:100]}.", suffix=".new")
        os.chmod(new, 0o777 & ~_umask())  # mkdtemp makes it 0700
        for name, text in files.items():
            with open(os.path.join(new, name), "wb") as fh:
                fh.write(text.encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())
        if folder.exists():
            old = tempfile.mkdtemp(
                dir=folder.parent, prefix=f".{folder.name[:100]}.", suffix=".old"
            )
            os.rename(folder, os.path.join(old, "previous"))
        os.rename(new, folder)
        new = None
    except OSError as exc:
        if old is not None and not folder.exists():  # put the previous folder back
            os.rename(os.path.join(old, "previous"), folder)
        raise CapacityError(f"cannot write '{folder}': {_problem(exc)}", field=field) from None
    except BaseException:
        if old is not None and not folder.exists():
            os.rename(os.path.join(old, "previous"), folder)
        raise
    finally:
        for leftover in (new, old):
            if leftover is not None:
                shutil.rmtree(leftover, ignore_errors=True)
