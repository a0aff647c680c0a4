"""pirho's numba setup: the first-compilation notice and cache units.

**The notice.** One line on stderr before numba compiles pirho's kernels for the first time on
this machine. The compiled recursions are cached on disk (numba ``cache=True``), so only the
very first call pays the compilation (10–30 s for a command's first run); that call says so
instead of hanging silently. A warm cache prints nothing, and importing :mod:`pirho.hmm` never
does. Callers pass only the kernels they are about to run: a cold kernel that another path
would use must not print the notice.

**Cache units.** numba stamps a function's on-disk cache with its own source file only, so a
kernel that calls (or inlines) a kernel of another file keeps loading its stale machine code
after that other file is edited. :func:`cache_unit` makes a folder one unit: every cached
function in it is stamped with the contents of all the folder's files, so editing any of them
recompiles them all (``pirho.hmm._compiled`` is one).
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
from pathlib import Path

from numba.core import caching

__all__ = ["MESSAGE", "cache_is_cold", "announce_compilation", "cache_unit", "unit_stamp"]

# Measured cold (empty NUMBA_CACHE_DIR) for `pirho hmm casino --rolls 1000`: 10 s of CPU, 13–25 s
# wall on a shared 2-core machine; warm, the whole command takes under 2 s.
MESSAGE = "pirho: compiling the HMM kernels once (10–30 s; later runs reuse them)…"
_announced = False
_warm: set[str] = set()  # kernels already seen with a cache index (no need to look again)


def cache_is_cold(kernel) -> bool:
    """True when the numba ``kernel`` has no on-disk cache index yet: its first call compiles.

    >>> from pirho.hmm._compiled import recursions
    >>> isinstance(cache_is_cold(recursions.log_likelihood), bool)
    True
    """
    try:
        index = kernel._cache._cache_file._index_path  # numba's on-disk index (cache=True)
    except AttributeError:  # a numba without these internals: say nothing
        return False
    return not os.path.exists(index)


def announce_compilation(*kernels, message: str = MESSAGE) -> None:
    """Print ``message`` (default :data:`MESSAGE`) to stderr, once per process, if one of
    ``kernels`` is about to be compiled because the on-disk cache does not hold it yet."""
    global _announced
    if _announced:
        return
    for kernel in kernels:
        name = kernel.py_func.__qualname__ + kernel.py_func.__module__
        if name in _warm:
            continue
        if cache_is_cold(kernel):
            _announced = True
            print(message, file=sys.stderr, flush=True)
            return
        _warm.add(name)


# -- cache units --------------------------------------------------------------------------------
_units: list[Path] = []


def unit_stamp(folder) -> str:
    """SHA-256 (hex) of the names and contents of every ``*.py`` file under ``folder``: the
    source stamp of each cached function in that cache unit (any edit changes it).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.py").write_text("x = 1")
    >>> before = unit_stamp(folder)
    >>> _ = (folder / "a.py").write_text("x = 2")
    >>> unit_stamp(folder) == before, len(before)
    (False, 64)
    """
    files = sorted(Path(folder).rglob("*.py"))
    return _stamp(tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files))


@functools.cache
def _stamp(files: tuple) -> str:
    # keyed on (path, mtime, size) of every file, as numba's own per-file hash: a file edited
    # while the process runs is read again
    digest = hashlib.sha256()
    for path, _, _ in files:
        digest.update(Path(path).name.encode() + b"\0" + Path(path).read_bytes() + b"\0")
    return digest.hexdigest()


def _unit_of(py_file) -> Path | None:
    path = Path(py_file).resolve()
    return next((unit for unit in _units if unit in path.parents), None)


def _unit_locator(base: type) -> type:
    """``base`` (a numba cache locator) restricted to files in a unit and stamped by
    :func:`unit_stamp`; where it keeps the cache is ``base``'s."""

    class UnitLocator(base):
        @classmethod
        def from_function(cls, py_func, py_file):
            unit = _unit_of(py_file)
            if unit is None:
                return None
            locator = super().from_function(py_func, py_file)
            if locator is not None:
                locator.unit = unit
            return locator

        def get_source_stamp(self):
            return unit_stamp(self.unit)

    UnitLocator.__name__ = UnitLocator.__qualname__ = f"Unit{base.__name__}"
    return UnitLocator


_LOCATORS = [
    _unit_locator(base)
    for base in (
        caching.UserProvidedCacheLocator,  # NUMBA_CACHE_DIR
        caching.InTreeCacheLocator,  # __pycache__ beside the file
        caching.UserWideCacheLocator,  # a read-only install: the user's cache folder
    )
]


def cache_unit(folder) -> None:
    """Make ``folder`` one numba cache unit: the ``cache=True`` functions of every module under
    it, decorated after this call, are stamped with :func:`unit_stamp` of the whole folder.
    Call it in the folder's ``__init__.py``, before its modules are imported.

    >>> from pirho.hmm._compiled import recursions, smoothing
    >>> stamp = recursions.log_likelihood._cache._impl.locator.get_source_stamp()
    >>> stamp == smoothing.posterior._cache._impl.locator.get_source_stamp()
    True
    """
    unit = Path(folder).resolve()
    if unit not in _units:
        _units.append(unit)
    classes = caching.CacheImpl._locator_classes
    for locator in reversed(_LOCATORS):
        if locator not in classes:
            classes.insert(0, locator)
