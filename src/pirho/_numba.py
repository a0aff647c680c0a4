"""One line on stderr before numba compiles pirho's kernels for the first time on this machine.

The compiled recursions are cached on disk (numba ``cache=True``), so only the very first call
pays the compilation (10–30 s for a command's first run); that call says so instead of hanging
silently. A warm cache prints nothing, and importing :mod:`pirho.hmm` never does. Callers pass
only the kernels they are about to run: a cold kernel that another path would use must not
print the notice.
"""

from __future__ import annotations

import os
import sys

__all__ = ["MESSAGE", "cache_is_cold", "announce_compilation"]

# Measured cold (empty NUMBA_CACHE_DIR) for `pirho hmm casino --rolls 1000`: 10 s of CPU, 13–25 s
# wall on a shared 2-core machine; warm, the whole command takes under 2 s.
MESSAGE = "pirho: compiling the HMM kernels once (10–30 s; later runs reuse them)…"
_announced = False
_warm: set[str] = set()  # kernels already seen with a cache index (no need to look again)


def cache_is_cold(kernel) -> bool:
    """True when the numba ``kernel`` has no on-disk cache index yet: its first call compiles.

    >>> from pirho.hmm import recursions
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
