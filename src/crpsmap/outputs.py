"""Writing output files safely: every file appears whole or not at all, and a command never overwrites
its own input or writes two outputs to one path.

A failed or interrupted run must leave what was there before, so outputs go to a temporary file in the
destination folder and are renamed into place (atomic on one file system). Output paths are checked
before any work starts, so that a long simulation does not end in "folder not found".
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO


class OutputPathError(ValueError):
    """An output path that cannot be used (missing folder, same as an input, used twice)."""


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(outputs: Sequence[Path | None], inputs: Sequence[Path | None] = ()) -> None:
    """Refuse output paths before work starts: a missing folder, a folder given as a file, an output that
    is one of the inputs, or two outputs on one path. Raises OutputPathError with a one-line message."""
    outs = [Path(p) for p in outputs if p is not None]
    ins = [Path(p) for p in inputs if p is not None]
    seen: dict[Path, Path] = {}
    for out in outs:
        resolved = out.expanduser().resolve()
        if resolved in seen:
            raise OutputPathError(f"{out}: two outputs of this command would be written to the same file")
        seen[resolved] = out
        parent = resolved.parent
        if not parent.is_dir():
            raise OutputPathError(f"{out}: output folder {parent} does not exist")
        if resolved.is_dir():
            raise OutputPathError(f"{out}: is a folder, not a file")
        if resolved.exists() and not resolved.is_file():
            raise OutputPathError(f"{out}: is not a regular file (refusing to write to it)")
        for inp in ins:
            if inp.expanduser().resolve() == resolved or _same_file(inp, resolved):
                raise OutputPathError(f"{out}: is this command's input; choose another output file")


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike[str], mode: str = "w", *, encoding: str | None = "utf-8"
) -> Iterator[IO]:
    """Open a temporary file beside `path`; on success it replaces `path`, on any error it is removed
    and `path` is left as it was. `mode` is "w" (text) or "wb"."""
    if mode not in ("w", "wb"):
        raise ValueError("atomic_open writes only: mode 'w' or 'wb'")
    dest = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent or Path("."))
    try:
        if mode == "wb":
            f: IO = os.fdopen(fd, "wb")
        else:
            f = os.fdopen(fd, "w", encoding=encoding, newline="")
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside `path`, for a writer that wants a path rather than a file object; on
    success the temporary file replaces `path`, on any error (or Ctrl-C) it is removed and `path` is
    left as it was."""
    dest = Path(path).expanduser().resolve()
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> None:
    """Write text to `path` atomically."""
    with atomic_open(path, "w", encoding=encoding) as f:
        f.write(text)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write bytes to `path` atomically."""
    with atomic_open(path, "wb", encoding=None) as f:
        f.write(data)
