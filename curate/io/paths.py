"""Paths checked before anything runs: an output that could never be written (a NUL, a name longer than the file system
allows, a folder under a file, a system folder, a read-only place) and an input that is no regular file (a FIFO or a
device would block or never end, a symlink loop never resolves) are refused with the path and the key or option."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from curate.core.errors import InputError

NAME_MAX = 255  # bytes in one name, on every common file system
PATH_MAX = 4096
SYSTEM_FOLDERS = (Path("/proc"), Path("/sys"), Path("/dev"))  # kernel views: writing there is never a dataset


def _check_text(path: Path | str, where: str) -> str:
    text = os.fspath(path)
    if "\x00" in text:
        raise InputError(f"the path {text!r} holds a NUL character", where)
    if len(os.fsencode(text)) >= PATH_MAX:
        raise InputError(
            f"the path is {len(os.fsencode(text)):,} bytes long; at most {PATH_MAX - 1:,} are allowed", where
        )
    for name in Path(text).parts:
        if len(os.fsencode(name)) > NAME_MAX:
            raise InputError(
                f"a name in the path is {len(os.fsencode(name))} bytes long ({name[:40]}…); at most {NAME_MAX} are allowed",
                where,
                hint="shorten the name",
            )
    return text


def _system_folder(path: Path) -> Path | None:
    resolved = path.resolve()
    return next((root for root in SYSTEM_FOLDERS if resolved == root or root in resolved.parents), None)


def check_writable(path: Path | str, where: str) -> Path:
    """An output `path` (file or folder) that can be created: its nearest existing ancestor is a writable folder."""
    absolute = Path(os.path.abspath(_check_text(path, where)))
    for ancestor in absolute.parents:
        try:
            mode = os.stat(ancestor).st_mode
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as error:
            raise InputError(f"cannot follow the path to {path} ({error.strerror})", where) from None
        if not stat.S_ISDIR(mode):
            raise InputError(
                f"{ancestor} is a file, so {path} cannot be created under it", where, hint="choose another path"
            )
        break
    root = _system_folder(ancestor)
    if root is not None:
        raise InputError(
            f"{path} is under {root}, a system folder, not a place to write files",
            where,
            hint="choose a folder of your own",
        )
    if not os.access(ancestor, os.W_OK | os.X_OK) or os.statvfs(ancestor).f_flag & os.ST_RDONLY:
        raise InputError(
            f"{ancestor} is not writable, so {path} cannot be created", where, hint="choose a folder you can write to"
        )
    return Path(path)


def check_input_file(path: Path | str, where: str | None = None) -> Path:
    """An input that is a regular file (or a symlink to one): a FIFO, a device or a socket is refused before it is
    opened, as a read would block or never end."""
    where = where or os.fspath(path)
    _check_text(path, where)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputError(
            "input file not found", where, hint=f"paths are relative to the current folder ({Path.cwd()})"
        ) from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise InputError("the path is a symlink loop", where, hint="point it at a real file") from None
        raise InputError(f"cannot read the input ({error.strerror})", where) from None
    if stat.S_ISDIR(mode):
        raise InputError("input is a folder, not a file", where)
    if not stat.S_ISREG(mode):
        kind = (
            "a FIFO (named pipe)"
            if stat.S_ISFIFO(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "not a regular file"
        )
        raise InputError(
            f"the input is {kind}, not a regular file; curate reads files it can read to the end",
            where,
            hint="copy the data to a file first",
        )
    return Path(path)
