"""The compiled (numba) kernels of :mod:`pirho.hmm`, and nothing else.

- :mod:`~pirho.hmm._compiled.recursions` — forward filter, backward messages, likelihood,
  Viterbi (max-plus), the one rescaling policy;
- :mod:`~pirho.hmm._compiled.smoothing` — posterior, fixed-lag posterior, expected counts;
- :mod:`~pirho.hmm._compiled.sampling` — categorical sampling, backward path sampling;
- :mod:`~pirho.hmm._compiled.semi_markov` — the semi-Markov recursions;
- :mod:`~pirho.hmm._compiled.emissions` — emission densities worth compiling.

Inputs are trusted: the public layers (:mod:`pirho.hmm.engine`, :mod:`pirho.hmm.kernels`,
the models) check them. This folder is one numba cache unit (:func:`pirho._numba.cache_unit`):
every kernel's on-disk cache is stamped with all the files here, so editing one kernel file
recompiles the kernels of the others that inline it, instead of loading stale machine code.
"""

from pathlib import Path

from pirho._numba import cache_unit

cache_unit(Path(__file__).parent)
