"""Choosing the number of states: AIC, BIC and a fit per K (:func:`select_n_states`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from pirho import _checks
from pirho.hmm import engine
from pirho.hmm.base import HiddenMarkovModel
from pirho.hmm.fitting.em import _n_rows, fit
from pirho.hmm.fitting.result import n_parameters

__all__ = ["n_parameters", "aic", "bic", "SelectionRow", "select_n_states", "lowest_bic"]


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
    fitted thing itself (a :class:`FitResult`, or what a ``fitter`` returned)."""

    n_states: int
    log_likelihood: float
    n_parameters: int
    aic: float
    bic: float
    result: Any


def select_n_states(
    x,
    k_max: int,
    family="gaussian",
    *,
    k_min: int = 1,
    fitter: Callable[[Any, int], SelectionRow] | None = None,
    on_row: Callable[[SelectionRow], None] | None = None,
    **fit_options,
) -> list[SelectionRow]:
    """Fit K = k_min … k_max states and return the table, a list of :class:`SelectionRow`;
    :func:`lowest_bic` picks the model.

    By default each K is :func:`fit` (x, K, ``family``, ``**fit_options``). ``fitter(x, K)``
    fits and scores one K another way instead, returning its row (``pirho hmm fit`` passes
    the hmmlearn-compatible estimators'); ``family`` and ``fit_options`` are then unused.
    ``on_row(row)`` is called as soon as each K is done (a table line as the fits go).

    >>> from pirho.hmm import GaussianHMM
    >>> truth = GaussianHMM([0.5, 0.5], [[0.95, 0.05], [0.05, 0.95]], [[0.0], [6.0]],
    ...                     [1.0, 1.0], "spherical")
    >>> _, x = truth.sample(600, seed=0)
    >>> rows = select_n_states(x, 3, covariance_type="spherical", seed=0)
    >>> [r.n_states for r in rows], lowest_bic(rows).n_states
    ([1, 2, 3], 2)
    """
    k_min = _checks.check_positive_int("k_min", k_min)
    k_max = _checks.check_int("k_max", k_max, minimum=k_min)
    if fitter is not None and fit_options:
        raise TypeError(f"select_n_states: fit options {sorted(fit_options)} go to fit, not to a "
                        "fitter")  # fmt: skip
    rows = []
    for k in range(k_min, k_max + 1):
        row = fitter(x, k) if fitter is not None else _fit_row(x, k, family, fit_options)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def _fit_row(x, n_states: int, family, fit_options: dict) -> SelectionRow:
    result = fit(x, n_states, family, **fit_options)
    return SelectionRow(n_states, result.log_likelihood, n_parameters(result.model),
                        result.aic(), result.bic(), result)  # fmt: skip


def lowest_bic(rows: list[SelectionRow]) -> SelectionRow:
    """The row with the lowest BIC (the first of equals: the smallest K).

    >>> rows = [SelectionRow(k, 0.0, 0, 0.0, b, None) for k, b in [(1, 9.0), (2, 4.0), (3, 4.0)]]
    >>> lowest_bic(rows).n_states
    2
    """
    if not rows:
        raise ValueError("lowest_bic: no rows (select_n_states fitted no K)")
    return min(rows, key=lambda row: row.bic)
