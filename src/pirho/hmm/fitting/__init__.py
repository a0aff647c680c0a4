"""Fitting HMMs: one EM loop and every entry point built on it.

- :mod:`~pirho.hmm.fitting.em_loop` — ``run_em`` / ``iterate_em``, the one EM iteration
  (E-step statistics, M-step with structural zeros kept, the stopping monitor);
- :mod:`~pirho.hmm.fitting.em` — :func:`em` from a model, :func:`fit` from the data (restarts);
- :mod:`~pirho.hmm.fitting.supervised` — :func:`fit_supervised`, fully labelled data;
- :mod:`~pirho.hmm.fitting.baum_welch` — :func:`baum_welch`, categorical EM with random
  restarts and pseudocounts;
- :mod:`~pirho.hmm.fitting.init` — starting models (k-means++, sticky random transitions);
- :mod:`~pirho.hmm.fitting.selection` — AIC, BIC, :func:`select_n_states`;
- :mod:`~pirho.hmm.fitting.result` — :class:`FitResult` and :func:`n_parameters`.

The priors every M-step takes are in :mod:`pirho.hmm.priors` (a level below: the families'
M-steps use them too).

>>> from pirho.hmm.fitting import fit_supervised
>>> result = fit_supervised([0, 0, 1, 1], [0, 0, 1, 1], "categorical")  # 0→0, 0→1, 1→1
>>> result.model.trans.tolist()
[[0.5, 0.5], [0.0, 1.0]]
"""

from pirho.hmm.fitting.baum_welch import BaumWelchResult, baum_welch
from pirho.hmm.fitting.em import FAMILIES, em, fit
from pirho.hmm.fitting.em_loop import EMMonitor, EMResult, run_em
from pirho.hmm.fitting.result import FitResult, n_parameters
from pirho.hmm.fitting.selection import SelectionRow, aic, bic, lowest_bic, select_n_states
from pirho.hmm.fitting.supervised import fit_supervised

__all__ = [
    "FitResult",
    "em",
    "fit",
    "fit_supervised",
    "n_parameters",
    "aic",
    "bic",
    "SelectionRow",
    "select_n_states",
    "lowest_bic",
    "FAMILIES",
    "baum_welch",
    "BaumWelchResult",
    "run_em",
    "EMMonitor",
    "EMResult",
]
