"""Priors of the EM M-step: Dirichlet on start and transitions, one object per emission family.

``prior=None`` everywhere means maximum likelihood. A prior turns each M-step into a MAP
update: the expected counts plus the prior's pseudo-observations. The family priors carry
hmmlearn 0.3.3's parameters (so the estimators in :mod:`pirho.hmm.sklearn` reproduce its
numbers): :class:`GammaPrior` (Poisson's ``lambdas_prior``/``lambdas_weight``),
:class:`GaussianPrior` (``means_prior``/``means_weight``/``covars_prior``/``covars_weight``)
and :class:`GMMPrior` (those plus ``weights_prior``, already broadcast). Categorical emissions
take a Dirichlet concentration and Bernoulli ones a symmetric Beta(a, a) concentration: plain
arrays (or scalars).

Structural zeros stay zero: an entry of probability 0 in the current model stays 0 whatever
the prior, so left-right and banded models keep their shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "EMPrior",
    "GammaPrior",
    "GaussianPrior",
    "GMMPrior",
    "check_concentration",
    "dirichlet_update",
]


@dataclass(frozen=True)
class EMPrior:
    """The prior of one EM run.

    start: Dirichlet concentration α of the start distribution, a scalar or (K,); the update
        is max(count + α − 1, 0) normalised (α = 1: no prior). None = maximum likelihood.
    trans: the same for every row of the transition matrix, a scalar or (K, K).
    emission: the family's prior (see each family's ``emission_m_step``) or None.

    >>> EMPrior(start=2.0).start
    2.0
    """

    start: Any = None
    trans: Any = None
    emission: Any = None


@dataclass(frozen=True)
class GammaPrior:
    """hmmlearn 0.3.3's prior on Poisson rates: λ = (prior + n·ȳ) / (weight + n), where ȳ is
    the state's posterior-weighted mean count and n the posterior mass of *all* states (as
    hmmlearn computes it). prior, weight: scalars or (K, D) arrays, ≥ 0."""

    prior: Any = 0.0
    weight: Any = 0.0


@dataclass(frozen=True)
class GaussianPrior:
    """hmmlearn 0.3.3's normal / inverse-Wishart-style prior of ``GaussianHMM``.

    means_prior, means_weight: the means shrink towards ``means_prior`` with the weight of
    ``means_weight`` pseudo-observations. covars_prior, covars_weight: added to the scatter
    and to its normaliser (see ``GaussianHMM.emission_m_step``). No ``min_covar`` floor is
    applied under this prior (as in hmmlearn).
    """

    means_prior: Any = 0.0
    means_weight: Any = 0.0
    covars_prior: Any = 1e-2
    covars_weight: Any = 1.0


@dataclass(frozen=True)
class GMMPrior:
    """hmmlearn 0.3.3's prior of ``GMMHMM``, broadcast to its shapes: weights (K, M)
    Dirichlet concentration, means (K, M, D), means_weight (K, M), covars and covars_weight in
    the shapes hmmlearn gives them per covariance type."""

    weights: np.ndarray
    means: np.ndarray
    means_weight: np.ndarray
    covars: np.ndarray
    covars_weight: np.ndarray


def check_concentration(name: str, value, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` broadcast to ``shape`` as float64; ValueError naming ``name`` unless every
    entry is finite and ≥ 0 (a Dirichlet or Beta concentration).

    >>> check_concentration("startprob_prior", 1.0, (2,)).tolist()
    [1.0, 1.0]
    >>> check_concentration("startprob_prior", -1, (2,))
    Traceback (most recent call last):
    ...
    ValueError: startprob_prior = -1.0 at index 0 must be finite and >= 0
    """
    try:
        arr = np.broadcast_to(np.asarray(value, dtype=np.float64), shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a number or an array broadcastable to {shape}, got {value!r}"
        ) from None
    bad = np.flatnonzero(~(np.isfinite(arr) & (arr >= 0)))
    if bad.size:
        index = ", ".join(str(int(i)) for i in np.unravel_index(bad[0], shape))
        raise ValueError(f"{name} = {arr.flat[bad[0]]} at index {index} must be finite and >= 0")
    return arr


def dirichlet_update(counts: np.ndarray, old: np.ndarray, concentration=None) -> np.ndarray:
    """The M-step of a categorical distribution (rows of the last axis).

    counts: expected counts; old: the current probabilities (same shape); concentration: a
    Dirichlet α (scalar or broadcastable) or None for maximum likelihood. Each row becomes
    max(counts + α − 1, 0) normalised; entries that are 0 in ``old`` stay exactly 0; a row
    with nothing left to normalise keeps ``old``'s row.

    >>> dirichlet_update(np.array([[3.0, 1.0, 0.0], [0.0, 0.0, 0.0]]),
    ...                  np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])).tolist()
    [[0.75, 0.25, 0.0], [0.2, 0.3, 0.5]]
    """
    values = counts if concentration is None else np.maximum(counts + concentration - 1.0, 0.0)
    values = np.where(old == 0, 0.0, values)
    total = values.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, values / np.where(total > 0, total, 1.0), old)
