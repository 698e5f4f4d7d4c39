"""Outputs that appear whole or not at all.

A failed compile must leave nothing behind: results are written into a
temporary sibling and renamed into place only when complete.  An existing
output is replaced only when it is what we wrote before (a folder holding
``marker``) or an empty folder: ``-o ~/thesis`` must never delete a thesis.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from spintron_nn.errors import SpintronError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish_mode(path: Path, mode: int) -> None:
    """mkdtemp/mkstemp create private (0700/0600) entries; a published output
    gets the permissions an ordinary mkdir/open would have given it."""
    os.chmod(path, mode & ~_umask())


def _cannot_write(target: Path, exc: OSError) -> SpintronError:
    return SpintronError(f"cannot write here ({exc.strerror or exc})", path=str(target))


def check_output_dir(target: Path, marker: str) -> None:
    """Raise unless ``target`` may become (or be replaced by) an output folder.

    Called before any work as well as at the final rename, so a long compile
    does not end in a refusal."""
    target = Path(target)
    if not target.exists() and not target.is_symlink():
        return
    if not target.is_dir() or target.is_symlink():
        raise SpintronError("exists and is not a folder; refusing to replace it", path=str(target))
    if not (target / marker).is_file() and any(target.iterdir()):
        raise SpintronError(
            f"is a non-empty folder without {marker}; refusing to replace it (choose a new or empty folder)",
            path=str(target),
        )


@contextlib.contextmanager
def atomic_output_dir(target: Path, *, marker: str) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``target`` on success.  The
    folder must end up holding ``marker``; an existing ``target`` is replaced
    only if it holds one too (or is empty)."""
    target = Path(target)
    check_output_dir(target, marker)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        _publish_mode(tmp, 0o777)
        check_output_dir(target, marker)  # it may have appeared meanwhile
        if target.exists():
            old = target.with_name(f".{target.name}.old.{os.getpid()}")
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise _cannot_write(target, exc) from None
        raise


@contextlib.contextmanager
def atomic_output_file(target: Path) -> Iterator[Path]:
    """Yield a temporary path that replaces ``target`` on success."""
    target = Path(target)
    if target.is_dir():
        raise SpintronError("is a folder; give a file name", path=str(target))
    parent = target.parent
    if not parent.is_dir():
        raise SpintronError("output folder does not exist", path=str(parent))
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=parent)
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        _publish_mode(tmp, 0o666)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _cannot_write(target, exc) from None


def refuse_clobbering(output: str | Path, *, inputs: tuple[str | Path, ...] = (), folder: str | Path | None = None,
                      what: str = "the output file") -> None:
    """An output must not replace one of the command's own inputs, nor land inside the
    bundle ``folder`` it reads (the contract: nothing of the user's destroyed)."""
    target = Path(output).resolve()
    if any(target == Path(source).resolve() for source in inputs):
        raise SpintronError(f"{what} would replace an input of this command", path=str(output))
    if folder is not None and Path(folder).resolve() in target.parents:
        raise SpintronError(f"{what} would be written inside the bundle", path=str(output))
