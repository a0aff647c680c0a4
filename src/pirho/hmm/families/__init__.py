"""The emission families, one file each: categorical, Gaussian, Gaussian mixture, Poisson,
Bernoulli, multinomial counts.

Each family is a :class:`~pirho.hmm.base.HiddenMarkovModel` that only fills the (T, K)
log-likelihood matrix, its sufficient statistics and its M-step; every inference method is
the base's. :class:`VectorEmissionHMM` (``family.py``) is the protocol of the families with
vector observations; ``covariance.py``, ``observations.py`` and ``discrete.py`` are their
shared helpers. Adding a family is one file here plus its starting rule in
:mod:`pirho.hmm.fitting.init`.

>>> from pirho.hmm.families import CategoricalHMM, GaussianHMM
>>> issubclass(GaussianHMM, VectorEmissionHMM), CategoricalHMM.PARAM_LETTERS
(True, 'e')
"""

from pirho.hmm.families.bernoulli import BernoulliHMM
from pirho.hmm.families.categorical import CategoricalHMM
from pirho.hmm.families.covariance import COVARIANCE_TYPES
from pirho.hmm.families.family import VectorEmissionHMM
from pirho.hmm.families.gaussian import GaussianHMM
from pirho.hmm.families.gmm import GMMHMM
from pirho.hmm.families.multinomial import MultinomialHMM
from pirho.hmm.families.poisson import PoissonHMM

__all__ = [
    "COVARIANCE_TYPES",
    "CategoricalHMM",
    "VectorEmissionHMM",
    "GaussianHMM",
    "GMMHMM",
    "PoissonHMM",
    "BernoulliHMM",
    "MultinomialHMM",
]
