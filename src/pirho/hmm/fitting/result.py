"""The outcome of a fit (:class:`FitResult`) and the free-parameter count behind its AIC/BIC."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pirho.hmm.base import HiddenMarkovModel

__all__ = ["FitResult", "n_parameters"]


@dataclass(frozen=True)
class FitResult:
    """Outcome of :func:`em`, :func:`fit` or :func:`fit_supervised`.

    model: the fitted model; its total log-likelihood on the training data is ``history[-1]``.
    history: (n_iter + 1,) Σ_b log P(x_b) of the initial model and after each M-step,
        non-decreasing (with labels: log P(x, labels respected)).
    converged: True when the last gain fell below ``tol``.
    n_iter: M-steps taken (≤ the ``n_iter`` asked for).
    restart_log_likelihoods: (R,) final total log-likelihood of every restart (R = 1 without
        restarts); ``model`` is the best.
    n_observations: the number of time steps N fitted (for :meth:`bic`).
    """

    model: HiddenMarkovModel
    history: np.ndarray
    converged: bool
    n_iter: int
    restart_log_likelihoods: np.ndarray
    n_observations: int

    @property
    def log_likelihood(self) -> float:
        """Total log-likelihood of ``model`` on the training data."""
        return float(self.history[-1])

    def aic(self) -> float:
        """Akaike information criterion −2 log L + 2p (p = :func:`n_parameters`)."""
        return -2.0 * self.log_likelihood + 2.0 * n_parameters(self.model)

    def bic(self) -> float:
        """Bayesian information criterion −2 log L + p log N."""
        return -2.0 * self.log_likelihood + n_parameters(self.model) * np.log(self.n_observations)


def n_parameters(model: HiddenMarkovModel) -> int:
    """Free parameters: (nonzero start entries − 1) + Σ_rows (nonzero trans entries − 1) +
    the family's emission parameters. Structural zeros (which EM keeps at zero) are not free.

    >>> from pirho.hmm import casino
    >>> n_parameters(casino())  # 1 start + 2 trans + 2 · 5 emission
    13
    """
    start = int(np.count_nonzero(model.start)) - 1
    trans = int((np.count_nonzero(model.trans, axis=1) - 1).sum())
    return start + trans + model.n_emission_parameters()  # type: ignore[attr-defined]
