"""Supervised fitting: the maximum-likelihood HMM of fully labelled sequences, in closed form."""

from __future__ import annotations

import numpy as np

from pirho import _checks
from pirho.hmm.families.categorical import CategoricalHMM
from pirho.hmm.families.covariance import COVARIANCE_TYPES
from pirho.hmm.families.gmm import GMMHMM
from pirho.hmm.fitting.em import (
    _batch,
    _family_class,
    _n_features_of,
    _n_rows,
    _param_letters,
    _run_em,
    as_labels,
)
from pirho.hmm.fitting.em_loop import EMMonitor
from pirho.hmm.fitting.init import initial_model
from pirho.hmm.fitting.result import FitResult
from pirho.hmm.priors import EMPrior
from pirho.hmm.validation import as_symbol_batch

__all__ = ["fit_supervised"]


def fit_supervised(
    x,
    labels,
    family="gaussian",
    *,
    n_states: int | None = None,
    covariance_type: str = "diag",
    n_mix: int = 1,
    n_symbols: int | None = None,
    min_covar: float = 1e-3,
    pseudocount: float = 0.0,
    seed=None,
) -> FitResult:
    """Maximum-likelihood model from fully labelled sequences (closed form).

    labels: shaped like x, every step's state in [0, K) (K defaults to max label + 1). The
    start probabilities are the first states' frequencies, the transitions the observed pair
    frequencies (a state never left keeps a uniform row), the emissions the per-state
    moments / frequencies — one M-step with a one-hot posterior; a second confirms nothing
    changes. For :class:`GMMHMM` each state's mixture is then fitted by EM on its own steps
    (from k-means starts drawn with ``seed``).

    pseudocount: add-k smoothing — k is added to every start and transition count and, for
    ``"categorical"``, every emission count: P = (count + k) / (row total + k · row size), a
    Dirichlet prior of concentration 1 + k as in :func:`~pirho.hmm.baum_welch`; 0 (the
    default) is maximum likelihood.

    >>> from pirho.hmm import GaussianHMM
    >>> truth = GaussianHMM([1.0, 0.0], [[0.8, 0.2], [0.3, 0.7]], [[0.0], [5.0]], [1.0, 1.0],
    ...                     "spherical")
    >>> states, x = truth.sample(20_000, seed=0)
    >>> result = fit_supervised(x, states, covariance_type="spherical")
    >>> result.model.trans.round(2).tolist()
    [[0.8, 0.2], [0.3, 0.7]]
    >>> add_one = fit_supervised([0, 1, 1], [0, 0, 1], "categorical", pseudocount=1.0).model
    >>> add_one.trans.round(4).tolist()  # counts [[1, 1], [0, 0]], each + 1
    [[0.5, 0.5], [0.5, 0.5]]
    >>> add_one.emit.round(4).tolist()  # counts [[1, 1], [0, 1]], each + 1
    [[0.5, 0.5], [0.3333, 0.6667]]
    """
    flat = [np.asarray(item) for item in labels] if isinstance(labels, list) and labels and \
        np.ndim(labels[0]) == 1 else [np.asarray(labels)]  # fmt: skip
    for b, item in enumerate(flat):
        if item.size and item.dtype.kind in "iu" and item.min() < 0:
            t = int(np.flatnonzero(item < 0)[0])
            raise ValueError(
                f"labels: fit_supervised needs every step labelled, got {int(item[t])} at "
                f"position {t} of sequence {b} (use fit(labels=...) for partial labels)"
            )
    if n_states is None:
        n_states = int(max(int(np.max(item)) for item in flat)) + 1 if flat[0].size else 1
    model_class = _family_class(family)
    n_states = _checks.check_positive_int("n_states", n_states)
    options = {
        "covariance_type": _checks.check_choice(
            "covariance_type", covariance_type, COVARIANCE_TYPES
        ),
        "n_mix": _checks.check_positive_int("n_mix", n_mix),
    }
    pseudocount = _checks.check_float("pseudocount", pseudocount, minimum=0.0)
    concentration = 1.0 + pseudocount
    prior = None if pseudocount == 0 else EMPrior(
        start=concentration, trans=concentration,
        emission=concentration if model_class is CategoricalHMM else None,
    )  # fmt: skip
    letters = _param_letters(model_class)
    size = n_symbols if model_class is CategoricalHMM else _n_features_of(x)
    if model_class is CategoricalHMM and size is None:
        size = int(as_symbol_batch(x, np.iinfo(np.int64).max, allow_missing=True)[0].max()) + 1
    options["n_symbols"] = size
    batch = _batch(model_class, x, size)
    label_rows = as_labels(labels, batch, n_states)
    rng = np.random.default_rng(_checks.check_seed("seed", seed))
    start_model = initial_model(
        model_class, batch.observations, n_states, rng, options, None, letters, min_covar
    )
    start_model = model_class(
        np.full(n_states, 1.0 / n_states),
        np.full((n_states, n_states), 1.0 / n_states),
        **{k: v for k, v in start_model._emission_params().items()},
    )
    # The posterior is one-hot: the first M-step is the answer and a second confirms it (with
    # tol 0, 100 steps that gain exactly 0 would all run); a GMM's mixtures need EM's steps.
    n_iter = 100 if model_class is GMMHMM else 2
    # No decrease guard: the labels fix the answer and the start is an arbitrary draw. Under a
    # pseudocount the answer's likelihood (the history has no prior term) can be below the
    # start's, and the guard would then keep the random start (5 of 200 seeds did, before).
    model, history, converged = _run_em(
        start_model, batch.observations, batch.offsets, label_rows, letters, n_iter, 0.0,
        min_covar, monitor=EMMonitor(0.0, guard=False), prior=prior,
    )  # fmt: skip
    return FitResult(model, history, converged, len(history) - 1, history[-1:].copy(),
                     _n_rows(batch))  # fmt: skip
