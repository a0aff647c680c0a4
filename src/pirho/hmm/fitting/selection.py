"""Choosing the number of states: AIC, BIC and a fit per K (:func:`select_n_states`)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pirho import _checks
from pirho.hmm import engine
from pirho.hmm.base import HiddenMarkovModel
from pirho.hmm.fitting.em import _n_rows, fit
from pirho.hmm.fitting.result import FitResult, n_parameters

__all__ = ["n_parameters", "aic", "bic", "SelectionRow", "select_n_states"]


def _total_and_size(model, x) -> tuple[float, int]:
    batch = model._as_batch(x)
    lik = model._likelihoods(batch.observations)
    total = engine.sequence_log_likelihoods(
        np.array(model.start), np.array(model.trans), lik, batch.offsets
    ).sum()
    return float(total), _n_rows(batch)


def aic(model: HiddenMarkovModel, x) -> float:
    """−2 log P(x) + 2p, p = :func:`n_parameters` (x: one sequence or a list).

    >>> from pirho.hmm import casino
    >>> round(aic(casino(), [5, 5, 0]), 3)
    34.392
    """
    total, _ = _total_and_size(model, x)
    return -2.0 * total + 2.0 * n_parameters(model)


def bic(model: HiddenMarkovModel, x) -> float:
    """−2 log P(x) + p log N, N the number of time steps (all sequences).

    >>> from pirho.hmm import casino
    >>> round(bic(casino(), [5, 5, 0]), 3)
    22.674
    """
    total, n_rows = _total_and_size(model, x)
    return -2.0 * total + n_parameters(model) * float(np.log(n_rows))


class SelectionRow(NamedTuple):
    """One row of :func:`select_n_states`: K, the fit's log-likelihood, p, AIC, BIC and the
    :class:`FitResult` itself."""

    n_states: int
    log_likelihood: float
    n_parameters: int
    aic: float
    bic: float
    result: FitResult


def select_n_states(x, k_max: int, family="gaussian", *, k_min: int = 1, **fit_options):
    """Fit K = k_min … k_max states (:func:`fit` with ``fit_options``) and return the table:
    a list of :class:`SelectionRow`; pick ``min(rows, key=lambda r: r.bic)``.

    >>> from pirho.hmm import GaussianHMM
    >>> truth = GaussianHMM([0.5, 0.5], [[0.95, 0.05], [0.05, 0.95]], [[0.0], [6.0]],
    ...                     [1.0, 1.0], "spherical")
    >>> _, x = truth.sample(600, seed=0)
    >>> rows = select_n_states(x, 3, covariance_type="spherical", seed=0)
    >>> [r.n_states for r in rows], min(rows, key=lambda r: r.bic).n_states
    ([1, 2, 3], 2)
    """
    k_min = _checks.check_positive_int("k_min", k_min)
    k_max = _checks.check_int("k_max", k_max, minimum=k_min)
    rows = []
    for k in range(k_min, k_max + 1):
        result = fit(x, k, family, **fit_options)
        rows.append(SelectionRow(k, result.log_likelihood, n_parameters(result.model),
                                 result.aic(), result.bic(), result))  # fmt: skip
    return rows
