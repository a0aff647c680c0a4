"""Atomic file writes: the one place pirho writes a file that a user may rely on."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", **open_kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on a clean exit it replaces ``path`` in one step.

    The data is flushed and fsynced before the rename, so a crash or kill at any moment leaves
    either the old file or the new one, never a half-written file. On an exception the
    temporary file is removed and ``path`` is untouched. The new file gets the permissions a
    plain ``open()`` would give it (0666 less the umask). A symlink is followed (its target is
    replaced, the link stays); an existing path that is not a regular file (``/dev/stdout``, a
    named pipe) is opened and written directly, never renamed over.

    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_open(target, "w", encoding="utf-8") as handle:
    ...     _ = handle.write("hello")
    >>> target.read_text()
    'hello'
    """
    # a symlink is written through (its target replaced, the link kept); a device or a pipe
    # (-o /dev/stdout, /dev/null) cannot be replaced by renaming: it is written in place
    path = Path(os.path.realpath(path))
    if path.exists() and not path.is_file():
        with open(path, mode, **open_kwargs) as handle:
            yield handle
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _about(exc, path) from None
    body_done = False
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, mode, **open_kwargs) as handle:
            yield handle
            body_done = True
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        # the temporary file is ours, not the user's: a message names the file they asked for
        if tmp in (exc.filename, exc.filename2) or body_done:
            raise _about(exc, path) from None
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _about(exc: OSError, path: Path) -> OSError:
    """``exc`` reworded to name ``path`` (the file the caller asked for) and nothing else.

    >>> str(_about(OSError(28, "No space left on device", "/d/.x.json.k2.tmp"), Path("x.json")))
    '[Errno 28] cannot write x.json: No space left on device'
    """
    return OSError(exc.errno, f"cannot write {path}: {exc.strerror or exc}")
