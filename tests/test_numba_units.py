"""pirho._numba.cache_unit: editing one kernel file recompiles the cached kernels that call it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from pirho._numba import unit_stamp

CALLEE = "from numba import njit\n\n\n@njit(cache=True)\ndef value():\n    return {}\n"
CALLER = textwrap.dedent(
    """
    from numba import njit

    from unitpkg.callee import value


    @njit(cache=True)
    def twice():
        return 2 * value()
    """
)


def _package(root, unit: bool) -> None:
    package = root / "unitpkg"
    package.mkdir()
    init = "from pathlib import Path\nfrom pirho._numba import cache_unit\n"
    init += "cache_unit(Path(__file__).parent)\n"
    (package / "__init__.py").write_text(init if unit else "")
    (package / "callee.py").write_text(CALLEE.format(1))
    (package / "caller.py").write_text(CALLER)


def _twice(root) -> int:
    path = os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "NUMBA_CACHE_DIR": str(root / "cache"), "PYTHONPATH": path}
    code = "from unitpkg.caller import twice\nprint(twice())\n"
    run = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                         text=True)  # fmt: skip
    return int(run.stdout)


def _edit_callee(root) -> None:
    # same size and (within the second) the same mtime: only the contents tell the edit
    path = root / "unitpkg" / "callee.py"
    stat = path.stat()
    path.write_text(CALLEE.format(5))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_a_cache_unit_recompiles_a_caller_after_its_callee_file_changes(tmp_path):
    _package(tmp_path, unit=True)
    assert _twice(tmp_path) == 2
    _edit_callee(tmp_path)
    assert _twice(tmp_path) == 10


def test_without_a_unit_numba_loads_the_stale_caller(tmp_path):
    # the bug the unit fixes: numba stamps twice() with caller.py only
    _package(tmp_path, unit=False)
    assert _twice(tmp_path) == 2
    _edit_callee(tmp_path)
    assert _twice(tmp_path) == 2


def test_every_compiled_hmm_kernel_shares_one_stamp_of_its_folder():
    from pirho.hmm import _compiled
    from pirho.hmm._compiled import emissions, recursions, sampling, semi_markov, smoothing

    kernels = [recursions.viterbi, smoothing.posterior, sampling.backward_sample,
               semi_markov.forward, emissions._diagonal_kernel]  # fmt: skip
    stamps = {kernel._cache._impl.locator.get_source_stamp() for kernel in kernels}
    assert stamps == {unit_stamp(_compiled.__path__[0])}
