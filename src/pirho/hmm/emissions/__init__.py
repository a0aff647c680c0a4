"""Emission families beyond categorical symbols: Gaussian, Gaussian mixture, Poisson, Bernoulli,
multinomial counts.

Each family is a :class:`~pirho.hmm.base.HiddenMarkovModel` that only fills the (T, K)
log-likelihood matrix and its M-step; every inference method is the base's.
"""

from pirho.hmm.emissions.bernoulli import BernoulliHMM
from pirho.hmm.emissions.covariance import COVARIANCE_TYPES
from pirho.hmm.emissions.family import VectorEmissionHMM
from pirho.hmm.emissions.gaussian import GaussianHMM
from pirho.hmm.emissions.gmm import GMMHMM
from pirho.hmm.emissions.multinomial import MultinomialHMM
from pirho.hmm.emissions.poisson import PoissonHMM

__all__ = [
    "COVARIANCE_TYPES",
    "VectorEmissionHMM",
    "GaussianHMM",
    "GMMHMM",
    "PoissonHMM",
    "BernoulliHMM",
    "MultinomialHMM",
]
