"""Sampling front end: checked arguments, seeds, and whole paths drawn from the posterior.

The compiled samplers are in :mod:`pirho.hmm._compiled.sampling`; this module validates
``n_samples`` and ``seed`` and runs the forward filter and the backward sweep over a batch
(:func:`posterior_paths`, used by every model's ``sample_posterior`` and by
:func:`pirho.hmm.kernels.sample_posterior`). :func:`draw_sequences` draws many equal-length
sequences of a categorical HMM in lockstep (the synthetic data sets of :mod:`pirho.data`).
"""

from __future__ import annotations

import numpy as np

from pirho import _checks
from pirho._numba import announce_compilation
from pirho.hmm import engine
from pirho.hmm._compiled import recursions
from pirho.hmm._compiled.sampling import (
    backward_sample,
    cumulative,
    generator_state,
    sample_categorical,
    two_state_conditionals,
)
from pirho.hmm.validation import check_distribution

__all__ = [
    "MAX_PATH_ENTRIES",
    "check_n_samples",
    "as_generator",
    "posterior_paths",
    "draw_sequences",
]

MAX_PATH_ENTRIES = 2**28
"""Most path entries (n_samples × total steps) one :func:`posterior_paths` call returns:
2^28 int64 entries are 2 GiB. Above it the call refuses up front instead of allocating."""


def check_n_samples(n_samples, n_steps: int) -> int:
    """``n_samples`` as an int ≥ 1 whose paths (n_samples × ``n_steps`` int64 entries) fit in
    :data:`MAX_PATH_ENTRIES`; TypeError/ValueError naming it otherwise.

    >>> check_n_samples(10, 1000)
    10
    >>> check_n_samples(10**6, 10**6)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: n_samples = 1000000 paths of 1000000 steps ... (8 TB of int64), above the limit ...
    """
    n_samples = _checks.check_positive_int("n_samples", n_samples)
    entries = n_samples * n_steps
    if entries > MAX_PATH_ENTRIES:
        raise ValueError(
            f"n_samples = {n_samples} paths of {n_steps} steps in all are {entries:.3g} path "
            f"entries ({_bytes(8 * entries)} of int64), above the limit of 2**28 = "
            f"{MAX_PATH_ENTRIES:,} per call; draw fewer samples per call"
        )
    return n_samples


def _bytes(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000:
            return f"{n:.0f} {unit}"
        n /= 1000
    return f"{n:.0f} EB"


def as_generator(seed) -> np.random.Generator:
    """A ``numpy.random.Generator`` from ``seed``: an int in [0, 2**32), None (fresh entropy)
    or a Generator (used as is).

    >>> as_generator(0).random() == as_generator(0).random()
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(_checks.check_seed("seed", seed))


def posterior_paths(
    start, trans, lik: engine.Likelihoods, offsets, n_samples: int, rng, batched: bool
) -> np.ndarray:
    """``n_samples`` paths from P(h_1..h_T | x) for every sequence of a batch: (S, N) int64,
    sequence b on columns ``offsets[b]:offsets[b + 1]``.

    One compiled forward pass stores the filter (N, K); one compiled backward sweep draws
    every path, its generator seeded from ``rng`` (a ``numpy.random.Generator``): sequence by
    sequence, so the paths of sequence 0 of a batch are those of the same call on it alone.
    Memory: the filter and the output. Inputs are trusted (``n_samples`` already checked);
    ValueError if a sequence has probability 0.

    >>> lik = engine.Likelihoods.from_log(np.log([[0.5, 0.1], [0.5, 0.9]]))
    >>> paths = posterior_paths(np.array([0.5, 0.5]), np.array([[0.9, 0.1], [0.0, 1.0]]),
    ...                         lik, np.array([0, 2]), 4, np.random.default_rng(0), False)
    >>> paths.shape, bool((np.diff(paths, axis=1) >= 0).all())   # 1 → 0 is impossible
    ((4, 2), True)
    """
    announce_compilation(recursions.forward_filter, backward_sample)
    n_steps, n_states = lik.rows.shape[0], start.shape[0]
    filt = np.empty((n_steps, n_states))
    impossible = recursions.forward_filter(
        start, trans, lik.table, lik.rows, offsets, filt, np.empty(0), False
    )
    engine.raise_if_impossible(impossible, batched)
    two_state = n_states == 2
    if two_state:
        two_state_conditionals(filt, trans, offsets)
    paths = np.empty((n_samples, n_steps), dtype=np.int64)
    trans_t = np.ascontiguousarray(trans.T)
    if not backward_sample(filt, trans_t, two_state, offsets, generator_state(rng), paths):
        raise FloatingPointError(
            "posterior sampling found a step with no state of positive weight "
            "(the filter underflowed); please report this model"
        )
    return paths


def draw_sequences(
    start, trans, emit, n_sequences: int, n_steps: int, seed=None
) -> tuple[np.ndarray, np.ndarray]:
    """``n_sequences`` independent sequences of ``n_steps`` steps from the categorical HMM
    (start (K,), trans (K, K), emit (K, M)), drawn in lockstep.

    h_1 ~ start, h_t ~ trans[h_{t-1}], x_t ~ emit[h_t]; all sequences advance together, so the
    cost is ``n_steps`` vectorised draws whatever ``n_sequences`` is. ``seed``: an int in
    [0, 2**32), None or a ``numpy.random.Generator``. Returns ``(states, symbols)``, both
    (n_sequences, n_steps) int64. ValueError naming a parameter that is not a distribution.

    >>> states, symbols = draw_sequences([1.0, 0.0], [[0.0, 1.0], [1.0, 0.0]],
    ...                                  [[1.0, 0.0], [0.0, 1.0]], 2, 4, seed=0)
    >>> states.tolist(), symbols.tolist()
    ([[0, 1, 0, 1], [0, 1, 0, 1]], [[0, 1, 0, 1], [0, 1, 0, 1]])
    """
    start = check_distribution("start", start, ndim=1)
    trans = check_distribution("trans", trans, ndim=2)
    emit = check_distribution("emit", emit, ndim=2)
    n_states = start.shape[0]
    if trans.shape != (n_states, n_states) or emit.shape[0] != n_states:
        raise ValueError(
            f"start {start.shape}, trans {trans.shape} and emit {emit.shape} disagree on the "
            f"number of states"
        )
    n_sequences = _checks.check_positive_int("n_sequences", n_sequences)
    n_steps = _checks.check_positive_int("n_steps", n_steps)
    rng = as_generator(seed)
    start_cdf = cumulative(start)[None, :]
    trans_cdf = cumulative(trans)
    emit_cdf = cumulative(emit)
    states = np.empty((n_sequences, n_steps), dtype=np.int64)
    symbols = np.empty((n_sequences, n_steps), dtype=np.int64)
    state = sample_categorical(start_cdf, np.zeros(n_sequences, np.int64), rng.random(n_sequences))
    for t in range(n_steps):
        if t > 0:
            state = sample_categorical(trans_cdf, state, rng.random(n_sequences))
        states[:, t] = state
        symbols[:, t] = sample_categorical(emit_cdf, state, rng.random(n_sequences))
    return states, symbols
