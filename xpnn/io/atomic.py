"""Atomic file replacement: a reader sees the old file or the new one, never a mix.

The bytes go to a temporary file in the destination folder (same filesystem, so the rename
is atomic), are flushed and fsync'ed, then ``os.replace`` swaps the name over and the
folder is fsync'ed so the rename itself survives a power cut.

Stale temporaries: a process killed mid-write (SIGKILL, OOM killer, power loss) leaves its
``.xpnn-tmp-<pid>-<random>`` file behind. Every later write into the same folder removes
temporaries whose writer process no longer exists on this machine, or that are older than
a day (a writer on another host of a shared filesystem, or a recycled pid).
"""
from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import time

from .._errors import MissingFolderError

PREFIX = ".xpnn-tmp-"
STALE_AFTER_S = 24 * 3600
_UMASK = os.umask(0o022)  # read once at import (reading it means setting it) ...
os.umask(_UMASK)          # ... and put back at once


def _alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0: existence check only
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def clean_stale(folder):
    """Remove ``.xpnn-tmp-*`` files in ``folder`` left by dead writers; returns their names."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    now = time.time()
    for name in names:
        if not name.startswith(PREFIX):
            continue
        full = os.path.join(folder, name)
        try:
            pid = int(name[len(PREFIX):].split("-", 1)[0])
        except ValueError:
            pid = None
        try:
            old = now - os.stat(full).st_mtime > STALE_AFTER_S
            if old or (pid is not None and not _alive(pid)):
                os.unlink(full)
                removed.append(name)
        except OSError:
            pass  # another cleaner got there first, or it vanished on rename
    return removed


def _fsync_dir(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # some platforms (Windows) cannot open a folder; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path):
    """Open a temporary file that replaces ``path`` when the ``with`` block ends cleanly.

    On a clean exit the file is flushed, fsync'ed and renamed over ``path``, then the folder
    is fsync'ed. If the block raises (KeyboardInterrupt included), or the rename fails, the
    temporary is removed, ``path`` keeps its old content and the exception propagates: a
    caller can verify what it wrote (a checksum) and raise to discard it.

    Args:
        path: destination file; its folder must exist.
    Yields:
        a binary file object open for writing.
    Raises:
        OSError: the folder is missing or not writable; ``path`` keeps its old content.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        # a FileNotFoundError that is also torch's RuntimeError ("Parent directory ...")
        raise MissingFolderError(errno.ENOENT, f"cannot write {os.path.basename(path)!r}: "
                                 f"the folder {folder!r} does not exist (create it first)", path)
    clean_stale(folder)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{PREFIX}{os.getpid()}-", dir=folder)
    except OSError as e:  # name the file asked for, not the temporary beside it
        raise type(e)(e.errno, e.strerror, path) from None  # as open(path, "wb") says
    try:
        # mkstemp makes the file 0600; give it the mode a plain open() would have
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())  # the data is on disk before the name points to it
        os.replace(tmp, path)
    except BaseException:  # KeyboardInterrupt too: never leave a temporary behind
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(folder)


def atomic_write(path, chunks):
    """Write ``chunks`` (bytes-like, in order) to ``path`` atomically.

    Args:
        path: destination file; its folder must exist.
        chunks: iterable of bytes-like objects.
    Returns:
        the destination path (str).
    Raises:
        OSError: the folder is missing or not writable; ``path`` keeps its old content.
    """
    with atomic_open(path) as f:
        for chunk in chunks:
            f.write(chunk)
    return os.fspath(path)
