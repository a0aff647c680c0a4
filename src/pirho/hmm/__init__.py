"""Exact inference in hidden Markov models by dynamic programming (numpy + numba; no torch).

The seed's argument in code: P(X) sums over K^T hidden paths (:func:`brute_force` does exactly
that), yet the forward messages π_t and backward messages ρ_t compute it in T·K² steps
(:mod:`pirho.hmm.kernels`).

>>> from pirho.hmm import casino
>>> m = casino()
>>> states, rolls = m.sample(1000, seed=0)
>>> m.posterior(rolls).shape
(1000, 2)
"""

from pirho.hmm.base import HiddenMarkovModel, ObservationBatch
from pirho.hmm.brute import BruteForceResult, brute_force
from pirho.hmm.emissions import GMMHMM, BernoulliHMM, GaussianHMM, PoissonHMM
from pirho.hmm.engine import ExpectedCounts, Likelihoods, ViterbiBatch, ViterbiResult
from pirho.hmm.examples import casino
from pirho.hmm.fitting import (
    FitResult,
    aic,
    bic,
    em,
    fit,
    fit_supervised,
    n_parameters,
    select_n_states,
)
from pirho.hmm.kernels import (
    backward,
    expected_counts,
    filter_probs,
    fixed_lag_posterior,
    forward,
    log_likelihood,
    posterior,
    sample_posterior,
    viterbi,
)
from pirho.hmm.learn import BaumWelchResult, baum_welch
from pirho.hmm.model import CategoricalHMM
from pirho.hmm.semi_markov import (
    Durations,
    Segmentation,
    SegmentBoundaries,
    SemiMarkovFit,
    SemiMarkovHMM,
    fit_semi_markov,
    semi_markov_em,
)

__all__ = [
    "HiddenMarkovModel",
    "ObservationBatch",
    "Likelihoods",
    "ViterbiResult",
    "ViterbiBatch",
    "ExpectedCounts",
    "CategoricalHMM",
    "GaussianHMM",
    "GMMHMM",
    "PoissonHMM",
    "BernoulliHMM",
    "FitResult",
    "em",
    "fit",
    "fit_supervised",
    "n_parameters",
    "aic",
    "bic",
    "select_n_states",
    "casino",
    "brute_force",
    "BruteForceResult",
    "baum_welch",
    "BaumWelchResult",
    "forward",
    "backward",
    "log_likelihood",
    "filter_probs",
    "posterior",
    "fixed_lag_posterior",
    "viterbi",
    "expected_counts",
    "SemiMarkovHMM",
    "Durations",
    "Segmentation",
    "SegmentBoundaries",
    "SemiMarkovFit",
    "semi_markov_em",
    "fit_semi_markov",
    "sample_posterior",
]
