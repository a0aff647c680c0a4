"""Compatibility with other tools' APIs: hmmlearn's estimators and Dask scale-out.

- :mod:`~pirho.hmm.compat.sklearn` — hmmlearn 0.3.3's estimators (public path
  :mod:`pirho.hmm.sklearn`), on :mod:`~pirho.hmm.compat.estimator_base` (the shared
  ``BaseHMMEstimator``), :mod:`~pirho.hmm.compat.sklearn_gmm` (``GMMHMM``) and
  :mod:`~pirho.hmm.compat.estimator_math` (hmmlearn's initialisation and shapes);
- :mod:`~pirho.hmm.compat.dask` — score, decode and fit over files (public path
  :mod:`pirho.hmm.dask`);
- :mod:`~pirho.hmm.compat.readers` — CSV/TSV/.npy/.npz sequence readers in hmmlearn's
  ``(X, lengths)`` layout (also :mod:`pirho.data.sequences`).

Nothing is imported here, so ``import pirho.hmm`` does not load the estimators.
"""
