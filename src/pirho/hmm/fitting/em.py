"""EM (Baum–Welch) for every emission family: :func:`em` from a model, :func:`fit` from the data.

The E-step is family-agnostic: a family fills the (N, K) log-likelihood matrix of the
concatenated batch, :func:`pirho.hmm.engine.expected_counts` runs the compiled
forward–backward over every sequence in one pass and returns the state posterior and the
summed start and transition counts. The M-step normalises those counts (start ``s``,
transitions ``t``) and hands the posterior to the family (``m``, ``c``, ``w``, ``l``, ``e``).

Parameters use hmmlearn's letters: ``s`` start, ``t`` trans, ``m`` means, ``c`` covars,
``w`` mixture weights, ``l`` Poisson rates, ``e`` emission probabilities (categorical,
Bernoulli). ``params`` says which are updated, ``init_params`` which are drawn from the data
before EM — parameters of a given ``init`` model outside ``init_params`` are kept as given.

Zeros stay zero: a start or transition probability of 0 gets an expected count of exactly 0,
so left-right and banded models keep their structure.
"""

from __future__ import annotations

import numpy as np

from pirho import _checks
from pirho.hmm.base import HiddenMarkovModel, ObservationBatch
from pirho.hmm.families.bernoulli import BernoulliHMM
from pirho.hmm.families.categorical import CategoricalHMM
from pirho.hmm.families.covariance import COVARIANCE_TYPES
from pirho.hmm.families.gaussian import GaussianHMM
from pirho.hmm.families.gmm import GMMHMM
from pirho.hmm.families.multinomial import MultinomialHMM
from pirho.hmm.families.poisson import PoissonHMM
from pirho.hmm.fitting.em_loop import run_em
from pirho.hmm.fitting.init import PARAM_KEYS, STARTERS, initial_model
from pirho.hmm.fitting.result import FitResult
from pirho.hmm.validation import as_symbol_batch

__all__ = ["em", "fit", "FAMILIES", "as_labels"]

FAMILIES = {
    "gaussian": GaussianHMM,
    "gmm": GMMHMM,
    "poisson": PoissonHMM,
    "bernoulli": BernoulliHMM,
    "multinomial": MultinomialHMM,
    "categorical": CategoricalHMM,
}
"""Family name → model class (for :func:`fit` and :func:`select_n_states`)."""


def _param_letters(model_class) -> str:
    return "st" + model_class.PARAM_LETTERS


def _check_letters(name: str, letters, model_class) -> str:
    allowed = _param_letters(model_class)
    if not isinstance(letters, str):
        raise TypeError(f"{name} must be a string of letters from {allowed!r}, got {letters!r}")
    bad = [c for c in letters if c not in allowed]
    if bad:
        raise ValueError(
            f"{name}={letters!r} has {bad[0]!r}, not a parameter of {model_class.__name__} "
            f"(letters: {allowed!r})"
        )
    return letters


# -- data ------------------------------------------------------------------------------------
def _batch(model_class, x, n_features_or_symbols) -> ObservationBatch:
    return model_class.observation_batch(x, n_features_or_symbols)


def as_labels(labels, batch: ObservationBatch, n_states: int) -> np.ndarray:
    """Labels shaped like the observations (one (T,) integer array, or a list of them for a
    batch) → (N,) int64 in [−1, K) aligned with ``batch``'s concatenated steps; −1 = unknown.
    ValueError naming the sequence and position of a label of the wrong shape, type or range.

    >>> batch = CategoricalHMM.observation_batch([[0, 1], [1]], 2)
    >>> as_labels([[-1, 0], [1]], batch, 2).tolist()
    [-1, 0, 1]
    >>> as_labels(np.array([0, 2, 0]), CategoricalHMM.observation_batch([0, 1, 1], 2), 2)
    Traceback (most recent call last):
    ...
    ValueError: labels: label 2 at position 1 is outside [-1, 2)
    """
    items = list(labels) if batch.batched else [labels]
    n_seq = batch.offsets.shape[0] - 1
    if len(items) != n_seq:
        raise ValueError(f"labels has {len(items)} sequences, x has {n_seq}")
    out = []
    for b, item in enumerate(items):
        arr = np.asarray(item)
        where = f"labels of sequence {b}" if batch.batched else "labels"
        length = int(batch.offsets[b + 1] - batch.offsets[b])
        if arr.ndim != 1 or arr.shape[0] != length:
            raise ValueError(f"{where} must have shape ({length},), got {arr.shape}")
        if arr.dtype.kind not in "iu":
            raise ValueError(f"{where} must be integers (-1 = unknown), got dtype {arr.dtype}")
        bad = np.flatnonzero((arr < -1) | (arr >= n_states))
        if bad.size:
            t = int(bad[0])
            raise ValueError(
                f"{where}: label {int(arr[t])} at position {t} is outside [-1, {n_states})"
            )
        out.append(arr.astype(np.int64))
    return np.concatenate(out)


def _run_em(model, observations, offsets, labels, params, n_iter, tol, min_covar, monitor=None,
            prior=None):  # fmt: skip
    # Under a prior a state without transitions out gets the prior's row, not its old one.
    result = run_em(
        model, ObservationBatch(observations, offsets, True), params=params, labels=labels,
        n_iter=n_iter, tol=tol, monitor=monitor, min_covar=min_covar, prior=prior,
        warn_unused=prior is None,
    )  # fmt: skip
    return result.model, result.history, result.converged


def _check_em_options(n_iter, tol, min_covar) -> tuple[int, float, float]:
    n_iter = _checks.check_int("n_iter", n_iter, minimum=0)
    tol = _checks.check_float("tol", tol, minimum=0.0)
    min_covar = _checks.check_float("min_covar", min_covar, minimum=0.0)
    return n_iter, tol, min_covar


def _data_size(model) -> int:
    return model.observation_size


def em(
    model: HiddenMarkovModel,
    x,
    *,
    params: str | None = None,
    n_iter: int = 100,
    tol: float = 1e-4,
    labels=None,
    min_covar: float = 1e-3,
    monitor=None,
) -> FitResult:
    """EM from ``model``'s parameters: at most ``n_iter`` M-steps, stopping once an iteration
    gains less than ``tol`` in total log-likelihood (hmmlearn's rule).

    x: one sequence or a list (the family's format; missing steps are skipped).
    params: letters of the parameters to update (default: all of the family, ``"st"`` plus
        e.g. ``"mc"``); the others stay exactly as in ``model``.
    labels: optional, shaped like x: the state of each step or −1 (unknown). A labelled step's
        posterior is clamped to its label (semi-supervised EM); the history is then
        log P(x, path agrees with the labels).
    min_covar: floor on variances / covariance eigenvalues (Gaussian families).
    monitor: the stopping rule (default :class:`~pirho.hmm.fitting.em_loop.EMMonitor` with ``tol``
        and the decrease guard on); ``EMMonitor(tol, guard=False)`` runs on through a
        decrease, so a test of monotonicity can fail.

    n_iter, tol, history: see docs/conventions.md ("EM: n_iter, tol, history").

    >>> from pirho.hmm import GaussianHMM
    >>> truth = GaussianHMM([0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]], [[-2.0], [2.0]], [1.0, 1.0],
    ...                     "spherical")
    >>> _, x = truth.sample(500, seed=0)
    >>> start = GaussianHMM([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], [[-1.0], [1.0]], [2.0, 2.0],
    ...                     "spherical")
    >>> from pirho.hmm.fitting.em_loop import EMMonitor
    >>> result = em(start, x, n_iter=50, monitor=EMMonitor(1e-4, guard=False))
    >>> result.model.means.round(1).ravel().tolist(), bool(np.all(np.diff(result.history) >= 0))
    ([-2.1, 2.0], True)
    """
    if not hasattr(model, "emission_m_step"):
        raise TypeError(f"model must be an HMM of a pirho family, got {type(model).__name__}")
    model_class = type(model)
    params = _check_letters("params", _param_letters(model_class) if params is None else params,
                            model_class)  # fmt: skip
    n_iter, tol, min_covar = _check_em_options(n_iter, tol, min_covar)
    batch = _batch(model_class, x, _data_size(model))
    label_rows = None if labels is None else as_labels(labels, batch, model.n_states)
    fitted, history, converged = _run_em(
        model, batch.observations, batch.offsets, label_rows, params, n_iter, tol, min_covar,
        monitor,
    )  # fmt: skip
    return FitResult(
        fitted, history, converged, len(history) - 1, history[-1:].copy(), _n_rows(batch)
    )


def _n_rows(batch: ObservationBatch) -> int:
    return int(batch.offsets[-1])


def _seed_from_labels(model, observations, labels, init_params: str, min_covar: float):
    """Move the drawn emission means / rates / probabilities of each labelled state to its
    labelled steps (covariances stay drawn: a few labelled steps would make them degenerate),
    so EM starts with the state names the labels give instead of k-means' arbitrary order."""
    letters = "".join(c for c in init_params if c in PARAM_KEYS[type(model)] and c != "c")
    known = labels >= 0
    if not letters or not known.any():
        return model
    one_hot = np.zeros((labels.shape[0], model.n_states))
    one_hot[np.flatnonzero(known), labels[known]] = 1.0
    stats = model.emission_statistics(observations, one_hot)
    emission = model.emission_m_step(stats, letters, None, min_covar)
    return model.with_parameters(model.start, model.trans, emission)


def _family_class(family):
    if isinstance(family, type) and family in STARTERS:
        return family
    name = _checks.check_choice("family", family, tuple(FAMILIES))
    return FAMILIES[name]


def fit(
    x,
    n_states: int | None = None,
    family="gaussian",
    *,
    covariance_type: str = "diag",
    n_mix: int = 1,
    n_symbols: int | None = None,
    init: HiddenMarkovModel | None = None,
    init_params: str | None = None,
    params: str | None = None,
    labels=None,
    n_restarts: int = 3,
    seed=None,
    n_iter: int = 100,
    tol: float = 1e-4,
    min_covar: float = 1e-3,
    monitor=None,
) -> FitResult:
    """Fit an HMM of ``family`` with ``n_states`` states by EM, from data-driven starts.

    family: a name in :data:`FAMILIES` or the class. covariance_type (Gaussian families),
    n_mix (components per state, GMM), n_symbols (categorical; default max symbol + 1): the
    family's shape options.
    init: a model to start from; then ``init_params`` defaults to "" (nothing is re-drawn:
    your values are never overwritten unless you list their letters) and the family, K and
    shape options are ``init``'s. Without ``init`` every parameter is drawn from the data
    (``init_params`` must then be all letters): uniform start, a random sticky transition
    matrix, and for Gaussians k-means++ centres (10 Lloyd steps on at most
    ``MAX_INIT_ROWS`` complete rows) as means and the data covariance as every covariance.
    With ``labels``, a labelled state's drawn means (rates, probabilities) are then replaced
    by those of its labelled steps, so the states keep the labels' names.
    n_restarts: starts drawn from ``seed`` (only when something is drawn); each runs EM to
    the end and the most likely is returned. params, labels, n_iter, tol, min_covar,
    monitor: as in :func:`em` (a monitor is reset for every restart).

    >>> from pirho.hmm import GaussianHMM
    >>> truth = GaussianHMM([0.5, 0.5], [[0.95, 0.05], [0.05, 0.95]], [[0.0, 0.0], [4.0, 4.0]],
    ...                     [[1.0, 1.0], [1.0, 1.0]], "diag")
    >>> _, x = truth.sample(1000, seed=0)
    >>> result = fit(x, 2, "gaussian", covariance_type="diag", seed=0)
    >>> sorted(np.round(result.model.means[:, 0]).astype(int).tolist())
    [0, 4]
    """
    if init is not None:
        if not isinstance(init, tuple(STARTERS)):
            raise TypeError(f"init must be a model of a pirho family, got {type(init).__name__}")
        model_class = type(init)
        if n_states is not None and n_states != init.n_states:
            raise ValueError(f"n_states={n_states!r} but init has K = {init.n_states}")
        n_states = init.n_states
        if model_class in (GaussianHMM, GMMHMM):
            covariance_type = init.covariance_type
        if model_class is GMMHMM:
            n_mix = init.n_mix
        if model_class is CategoricalHMM:
            n_symbols = init.n_symbols
    else:
        model_class = _family_class(family)
        if n_states is None:
            raise ValueError("n_states is required unless init is given")
    n_states = _checks.check_positive_int("n_states", n_states)
    letters = _param_letters(model_class)
    if init_params is None:
        init_params = "" if init is not None else letters
    init_params = _check_letters("init_params", init_params, model_class)
    if init is None and set(init_params) != set(letters):
        raise ValueError(
            f"init_params={init_params!r} leaves parameters without a value: without init, "
            f"every letter of {letters!r} must be drawn from the data"
        )
    params = _check_letters("params", letters if params is None else params, model_class)
    n_restarts = _checks.check_positive_int("n_restarts", n_restarts)
    n_iter, tol, min_covar = _check_em_options(n_iter, tol, min_covar)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(
        _checks.check_seed("seed", seed))  # fmt: skip
    options = {
        "covariance_type": _checks.check_choice(
            "covariance_type", covariance_type, COVARIANCE_TYPES
        ),
        "n_mix": _checks.check_positive_int("n_mix", n_mix),
    }
    if model_class is CategoricalHMM:
        if n_symbols is None:
            n_symbols = (
                int(as_symbol_batch(x, np.iinfo(np.int64).max, allow_missing=True)[0].max()) + 1
            )
        options["n_symbols"] = _checks.check_positive_int("n_symbols", n_symbols)
        size = options["n_symbols"]
    else:
        size = init.n_features if init is not None else _n_features_of(x)
    batch = _batch(model_class, x, size)
    label_rows = None if labels is None else as_labels(labels, batch, n_states)
    runs = []
    for _ in range(n_restarts if init_params else 1):
        start_model = initial_model(
            model_class, batch.observations, n_states, rng, options, init, init_params, min_covar
        )
        if label_rows is not None:
            start_model = _seed_from_labels(
                start_model, batch.observations, label_rows, init_params, min_covar
            )
        runs.append(_run_em(start_model, batch.observations, batch.offsets, label_rows, params,
                            n_iter, tol, min_covar, monitor))  # fmt: skip
    finals = np.array([run[1][-1] for run in runs])
    model, history, converged = runs[int(np.argmax(finals))]
    return FitResult(model, history, converged, len(history) - 1, finals, _n_rows(batch))


def _n_features_of(x) -> int:
    """D of vector observations as given (a (T,) sequence or a list of them: D = 1)."""
    first = x[0] if isinstance(x, list | tuple) and x and isinstance(x[0], np.ndarray) else x
    try:
        arr = np.asarray(first, dtype=np.float64)
    except (TypeError, ValueError):
        arr = np.asarray(first[0], dtype=np.float64)
    if isinstance(x, np.ndarray) and x.ndim == 3:
        return int(x.shape[2])
    return 1 if arr.ndim <= 1 else int(arr.shape[-1])
