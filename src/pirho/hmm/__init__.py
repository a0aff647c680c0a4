"""Exact inference in hidden Markov models by dynamic programming (numpy + numba; no torch).

The seed's argument in code: P(X) sums over K^T hidden paths (:func:`brute_force` does exactly
that), yet the forward messages π_t and backward messages ρ_t compute it in T·K² steps
(:mod:`pirho.hmm.kernels`).

Where things live (every name below is also importable from ``pirho.hmm``; docs/conventions.md
has the full table):

- ``_compiled/`` — the numba kernels, one cache unit (private);
- ``kernels.py`` — the public log-space functions; ``engine.py`` — probability space between
  the kernels and the models; ``base.py`` — :class:`HiddenMarkovModel`, the model shell;
- ``families/`` — one file per emission family (:class:`CategoricalHMM`, :class:`GaussianHMM`,
  …), the public path ``pirho.hmm.families``;
- ``fitting/`` — the one EM loop, :func:`em`, :func:`fit`, :func:`fit_supervised`,
  :func:`baum_welch`, initialisation, :func:`select_n_states` (``pirho.hmm.fitting``);
- ``compat/`` — hmmlearn's estimators and Dask, public as :mod:`pirho.hmm.sklearn` and
  :mod:`pirho.hmm.dask`, and the sequence-file readers;
- ``priors.py``, ``sampling.py``, ``validation.py``, ``semi_markov.py``, ``brute.py``,
  ``io.py`` (token files), ``examples.py`` (the casino).

``pirho.hmm`` imports neither torch, :mod:`pirho.nn` nor :mod:`pirho.data`.

>>> from pirho.hmm import casino
>>> m = casino()
>>> states, rolls = m.sample(1000, seed=0)
>>> m.posterior(rolls).shape
(1000, 2)
"""

from pirho.hmm.base import HiddenMarkovModel, ObservationBatch
from pirho.hmm.brute import BruteForceResult, brute_force
from pirho.hmm.engine import ExpectedCounts, Likelihoods, ViterbiBatch, ViterbiResult
from pirho.hmm.examples import casino
from pirho.hmm.families import GMMHMM, BernoulliHMM, CategoricalHMM, GaussianHMM, PoissonHMM
from pirho.hmm.fitting import (
    BaumWelchResult,
    FitResult,
    aic,
    baum_welch,
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
from pirho.hmm.sampling import draw_sequences
from pirho.hmm.semi_markov import (
    Durations,
    Segmentation,
    SegmentBoundaries,
    SemiMarkovFit,
    SemiMarkovHMM,
    fit_semi_markov,
    semi_markov_em,
)
from pirho.hmm.validation import check_distribution

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
    "draw_sequences",
    "check_distribution",
]
