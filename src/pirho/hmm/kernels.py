"""Public log-space HMM functions, for any emission family.

Each takes the log start vector ``log_start`` (K,), the log transition matrix ``log_trans``
(K, K) (row = from-state) and a log emission-likelihood matrix ``log_lik`` (T, K) with
``log_lik[t, k] = log P(x_t | h_t = k)`` — categorical emissions fill it with one gather, a
Gaussian with its density, a missing observation with a row of zeros. With ``offsets``
(B + 1,) ``log_lik`` is a concatenated batch (N, K), N = Σ T_b, sequence b on rows
``offsets[b]:offsets[b + 1]``, processed in one compiled pass; per-row outputs come back
concatenated the same way.

Layers underneath: :mod:`pirho.hmm.engine` (probability space, the row-gather convention and
the shifts that keep likelihoods from underflowing), :mod:`pirho.hmm._compiled.recursions` and
:mod:`pirho.hmm._compiled.smoothing` (the compiled recursions). Structural zeros are exact:
log 0 = −inf in, probability 0 inside, no NaN out. A sequence that is impossible under the model has
log-likelihood −inf; functions that must divide by P(x) raise ValueError for it.

Seed notation: π_t(h) = P(x_1..x_t, h_t = h) is the forward message (``forward`` returns
log π_t), ρ_t(h) = P(x_{t+1}..x_T | h_t = h) the backward message (``backward`` returns log ρ_t,
last row 0), P(X) = Σ_h π_T(h), and the smoothing posterior is π_t ρ_t / P(X).
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from pirho import _checks
from pirho.hmm import engine, sampling
from pirho.hmm.engine import ExpectedCounts, Likelihoods, ViterbiResult

__all__ = [
    "forward",
    "backward",
    "log_likelihood",
    "filter_probs",
    "posterior",
    "fixed_lag_posterior",
    "viterbi",
    "expected_counts",
    "sample_posterior",
    "ExpectedCounts",
    "ViterbiResult",
]


class _Prepared(NamedTuple):
    start: np.ndarray
    trans: np.ndarray
    log_start: np.ndarray
    log_trans: np.ndarray
    lik: Likelihoods
    offsets: np.ndarray
    batched: bool


def _as_offsets(offsets, n_rows: int) -> np.ndarray:
    if offsets is None:
        if n_rows == 0:
            raise ValueError("log_lik has no rows: the sequence is empty")
        return np.array([0, n_rows], dtype=np.int64)
    offsets = np.asarray(offsets)
    if offsets.ndim != 1 or offsets.shape[0] < 2:
        raise ValueError(f"offsets must be 1-D with at least 2 entries, got shape {offsets.shape}")
    if not np.issubdtype(offsets.dtype, np.integer):
        raise TypeError(f"offsets must be integers, got dtype {offsets.dtype}")
    offsets = offsets.astype(np.int64)
    if offsets[0] != 0 or offsets[-1] != n_rows:
        raise ValueError(
            f"offsets must start at 0 and end at len(log_lik) = {n_rows}, "
            f"got {offsets[0]} … {offsets[-1]}"
        )
    lengths = np.diff(offsets)
    if (lengths <= 0).any():
        b = int(np.flatnonzero(lengths <= 0)[0])
        raise ValueError(f"sequence {b} is empty (offsets[{b}] = offsets[{b + 1}] = {offsets[b]})")
    return offsets


def _prepare(log_start, log_trans, log_lik, offsets) -> _Prepared:
    """The one input check of this module: shapes, no NaN/+inf, offsets; then probability
    space for the recursions."""
    arrays = {}
    for name, value in (("log_start", log_start), ("log_trans", log_trans), ("log_lik", log_lik)):
        try:
            arrays[name] = np.ascontiguousarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be a numeric array: {exc}") from None
    log_start, log_trans, log_lik = arrays.values()
    if log_start.ndim != 1:
        raise ValueError(f"log_start must be 1-D (K,), got shape {log_start.shape}")
    n_states = log_start.shape[0]
    if log_trans.shape != (n_states, n_states):
        raise ValueError(
            f"log_trans must have shape ({n_states}, {n_states}), got {log_trans.shape}"
        )
    if log_lik.ndim != 2 or log_lik.shape[1] != n_states:
        raise ValueError(f"log_lik must have shape (T, {n_states}), got {log_lik.shape}")
    for name, arr in arrays.items():
        if np.isnan(arr).any() or (arr == np.inf).any():
            raise ValueError(f"{name} contains NaN or +inf")
    batched = offsets is not None
    offsets = _as_offsets(offsets, log_lik.shape[0])
    return _Prepared(
        np.exp(log_start), np.exp(log_trans), log_start, log_trans,
        Likelihoods.from_log(log_lik), offsets, batched,
    )  # fmt: skip


def forward(log_start, log_trans, log_lik, offsets=None) -> np.ndarray:
    """Forward messages in log space: log π_t.

    log_start (K,), log_trans (K, K), log_lik (T, K) = log P(x_t | h_t = k); with ``offsets``
    (B + 1,), log_lik is a concatenated batch (N, K). Returns log_alpha (T, K) (or (N, K)) with
    ``log_alpha[t, k] = log P(x_1..x_t, h_t = k)``; −inf where that probability is 0.

    >>> la = forward(np.log([0.5, 0.5]), np.log([[0.9, 0.1], [0.2, 0.8]]),
    ...              np.log([[0.5, 0.1], [0.5, 0.9]]))
    >>> np.round(np.exp(la), 4)
    array([[0.25  , 0.05  ],
           [0.1175, 0.0585]])
    """
    p = _prepare(log_start, log_trans, log_lik, offsets)
    return engine.log_forward(p.start, p.trans, p.lik, p.offsets)


def backward(log_start, log_trans, log_lik, offsets=None) -> np.ndarray:
    """Backward messages in log space: log ρ_t.

    Shapes as in :func:`forward`. ``log_start`` does not enter ρ_t; it stays the first argument
    so that every kernel takes ``(log_start, log_trans, log_lik, offsets=None)``, and it is
    checked like everywhere else (its length is the number of states K). Returns log_beta
    (T, K) with ``log_beta[t, k] = log P(x_{t+1}..x_T | h_t = k)``; the last row of each
    sequence is 0.

    >>> lb = backward(np.log([0.5, 0.5]), np.log([[0.9, 0.1], [0.2, 0.8]]),
    ...               np.log([[0.5, 0.1], [0.5, 0.9]]))
    >>> np.round(np.exp(lb), 4)
    array([[0.54, 0.82],
           [1.  , 1.  ]])
    """
    p = _prepare(log_start, log_trans, log_lik, offsets)
    return engine.log_backward(p.trans, p.lik, p.offsets)


def log_likelihood(log_start, log_trans, log_lik, offsets=None):
    """log P(x) = log Σ_h π_T(h): a float, or (B,) array with ``offsets``; −inf if impossible.

    >>> ll = log_likelihood(np.log([0.5, 0.5]), np.log([[0.9, 0.1], [0.2, 0.8]]),
    ...                     np.log([[0.5, 0.1], [0.5, 0.9]]))
    >>> round(float(np.exp(ll)), 4)
    0.176
    """
    p = _prepare(log_start, log_trans, log_lik, offsets)
    out = engine.sequence_log_likelihoods(p.start, p.trans, p.lik, p.offsets)
    return out if p.batched else float(out[0])


def filter_probs(log_start, log_trans, log_lik, offsets=None) -> np.ndarray:
    """Filtering posterior P(h_t = k | x_1..x_t) (π_t normalised), shape (T, K) or (N, K).

    Raises ValueError if a sequence has probability 0.

    >>> f = filter_probs(np.log([0.5, 0.5]), np.log([[0.9, 0.1], [0.2, 0.8]]),
    ...                  np.log([[0.5, 0.1], [0.5, 0.9]]))
    >>> np.round(f, 4)
    array([[0.8333, 0.1667],
           [0.6676, 0.3324]])
    """
    p = _prepare(log_start, log_trans, log_lik, offsets)
    return engine.filter_posterior(p.start, p.trans, p.lik, p.offsets, p.batched)


def posterior(log_start, log_trans, log_lik, offsets=None) -> np.ndarray:
    """Smoothing posterior P(h_t = k | x_1..x_T) = π_t ρ_t / P(X), shape (T, K) or (N, K).

    One scaled forward pass stores the filter; one backward pass multiplies ρ_t in place, so
    the extra memory is O(K). Raises ValueError if a sequence has probability 0.

    >>> p = posterior(np.log([0.5, 0.5]), np.log([[0.9, 0.1], [0.2, 0.8]]),
    ...               np.log([[0.5, 0.1], [0.5, 0.9]]))
    >>> np.round(p, 4)
    array([[0.767 , 0.233 ],
           [0.6676, 0.3324]])
    """
    p = _prepare(log_start, log_trans, log_lik, offsets)
    return engine.smoothed_posterior(p.start, p.trans, p.lik, p.offsets, p.batched)


def fixed_lag_posterior(
    log_start, log_trans, log_lik, offsets=None, lag: int | None = None
) -> np.ndarray:
    """Fixed-lag posterior P(h_t = k | x_1..x_{min(t+lag, T)}), shape (T, K) or (N, K).

    ``offsets`` is the fourth argument, as in every other kernel; pass ``lag=…`` by keyword.
    The older order ``fixed_lag_posterior(log_start, log_trans, log_lik, lag, offsets)`` is
    still understood (an integer fourth argument is the lag) with a DeprecationWarning.

    ``lag = 0`` is the filter; ``lag ≥ T − 1`` is the smoothing posterior (computed by
    :func:`posterior`). Two algorithms, the cheaper one is picked: for ``lag ≤ 2K`` each step
    runs a backward pass over its own window, O(T · lag · K²); above that the window message
    is factored through block pivots, O(T · K³) whatever the lag, with O(lag · K) memory.
    Raises ValueError if a sequence has probability 0, TypeError if ``lag`` is missing.

    >>> p = fixed_lag_posterior(np.log([0.5, 0.5]), np.log([[0.9, 0.1], [0.2, 0.8]]),
    ...                         np.log([[0.5, 0.1], [0.5, 0.9], [0.5, 0.1]]), lag=1)
    >>> np.round(p, 4)
    array([[0.767 , 0.233 ],
           [0.8369, 0.1631],
           [0.9093, 0.0907]])
    """
    if _is_integer(offsets):  # the order before issue 18: (…, log_lik, lag, offsets=None)
        if _is_integer(lag):
            raise TypeError(f"fixed_lag_posterior() got two lags, {offsets} and {lag}")
        warnings.warn(
            "fixed_lag_posterior(log_start, log_trans, log_lik, lag, offsets) is deprecated: "
            "pass lag=… by keyword (offsets is the fourth argument, as in every kernel)",
            DeprecationWarning,
            stacklevel=2,
        )
        offsets, lag = lag, offsets
    if lag is None:
        raise TypeError("fixed_lag_posterior() missing the keyword argument 'lag'")
    lag = _checks.check_int("lag", lag, minimum=0)
    p = _prepare(log_start, log_trans, log_lik, offsets)
    return engine.fixed_lag_posterior(p.start, p.trans, p.lik, p.offsets, lag, p.batched)


def _is_integer(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def viterbi(log_start, log_trans, log_lik, offsets=None) -> ViterbiResult:
    """Most probable state path (max-product in log space).

    Returns ``ViterbiResult(path, log_prob)``: path (T,) int64 (or (N,) concatenated) and
    log P(x, path), a float (or (B,) array with ``offsets``). Ties go to the lowest state
    index. Raises ValueError if a sequence has probability 0.

    >>> path, lp = viterbi(np.log([0.5, 0.5]), np.log([[0.9, 0.1], [0.2, 0.8]]),
    ...                    np.log([[0.5, 0.1], [0.5, 0.9]]))
    >>> path, round(float(np.exp(lp)), 4)
    (array([0, 0]), 0.1125)
    """
    p = _prepare(log_start, log_trans, log_lik, offsets)
    path, best = engine.best_paths(p.log_start, p.log_trans, p.lik, p.offsets, p.batched)
    return ViterbiResult(path, best if p.batched else float(best[0]))


def expected_counts(log_start, log_trans, log_lik, offsets=None) -> ExpectedCounts:
    """Baum–Welch E-step for any emission family: ``ExpectedCounts(posterior (N, K),
    trans_counts (K, K), start_counts (K,), log_likelihood (B,))``.

    Expected numbers of transitions between and starts in each state, summed over the
    sequences, the smoothing posterior per step (from which a family's M-step forms its own
    emission statistics) and log P(x_b). No (N, K, K) array is allocated. An impossible
    sequence has zero posterior rows, adds no counts and has log-likelihood −inf.

    >>> c = expected_counts(np.log([0.5, 0.5]), np.log([[0.9, 0.1], [0.2, 0.8]]),
    ...                     np.log([[0.5, 0.1], [0.5, 0.9]]))
    >>> round(float(c.trans_counts.sum()), 6), c.start_counts.round(4).tolist()
    (1.0, [0.767, 0.233])
    """
    p = _prepare(log_start, log_trans, log_lik, offsets)
    return engine.expected_counts(p.start, p.trans, p.lik, p.offsets)


def sample_posterior(
    log_start, log_trans, log_lik, n_samples: int, seed=None, offsets=None
) -> np.ndarray:
    """Paths drawn exactly from P(h_1..h_T | x) (forward filtering, backward sampling).

    Shapes as in :func:`posterior` (``offsets`` comes after ``seed`` here). Returns
    (n_samples, T) int64, row s one whole path; with
    ``offsets`` (B + 1,), (n_samples, N) with sequence b on columns ``offsets[b]:offsets[b+1]``
    (one compiled pass over the batch). The last state is drawn from the filter at T,
    h_T ∝ π_T, then h_t ∝ π_t(h) · trans[h, h_{t+1}] backwards: O(T·K²) once for the
    forward pass, O(T·K) per path. A transition or emission of probability 0 is never on a
    drawn path. ``seed``: an int in [0, 2**32), None or a ``numpy.random.Generator``; the same
    int gives the same paths. ``n_samples × N`` may be at most
    :data:`pirho.hmm.sampling.MAX_PATH_ENTRIES` (2^28, 2 GiB of output); above it, and for a
    sequence of probability 0, ValueError.

    Not the same as drawing each h_t from :func:`posterior`: those marginals ignore how
    neighbouring states are coupled and give paths the model may forbid.

    >>> log_trans = np.array([[np.log(0.9), np.log(0.1)], [-np.inf, 0.0]])   # 1 → 0 is ruled out
    >>> log_lik = np.log([[0.5, 0.1], [0.5, 0.9], [0.1, 0.5]])
    >>> paths = sample_posterior(np.log([0.5, 0.5]), log_trans, log_lik, 10_000, seed=0)
    >>> paths.shape, bool((np.diff(paths, axis=1) >= 0).all())
    ((10000, 3), True)
    >>> exact = posterior(np.log([0.5, 0.5]), log_trans, log_lik)[:, 1]
    >>> bool(np.abs(paths.mean(axis=0) - exact).max() < 0.02)
    True
    """
    p = _prepare(log_start, log_trans, log_lik, offsets)
    n_samples = sampling.check_n_samples(n_samples, int(p.offsets[-1]))
    rng = sampling.as_generator(seed)
    return sampling.posterior_paths(p.start, p.trans, p.lik, p.offsets, n_samples, rng, p.batched)
