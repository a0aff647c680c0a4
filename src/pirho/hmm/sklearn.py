"""hmmlearn's estimators over pirho: ``from pirho.hmm import sklearn as hmm`` replaces
``from hmmlearn import hmm``.

The public path of :mod:`pirho.hmm.compat.sklearn`, where the estimators live (with their
shared base :mod:`pirho.hmm.compat.estimator_base`); see there and docs/sklearn.md.

>>> from pirho.hmm import sklearn as hmm
>>> hmm.GaussianHMM(n_components=3).n_components
3
"""

from pirho.hmm.compat.sklearn import (
    COVARIANCE_TYPES,
    ESTIMATORS,
    GMMHMM,
    BernoulliHMM,
    CategoricalHMM,
    ConvergenceMonitor,
    GaussianHMM,
    MultinomialHMM,
    PoissonHMM,
    load_estimator,
)

__all__ = ["CategoricalHMM", "GaussianHMM", "GMMHMM", "PoissonHMM", "BernoulliHMM",
           "MultinomialHMM",
           "ConvergenceMonitor",
           "ESTIMATORS",
           "load_estimator",
           "COVARIANCE_TYPES"]  # fmt: skip
