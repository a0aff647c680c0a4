"""Baum–Welch (EM) for categorical HMMs, with pseudocounts and random restarts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pirho import _checks
from pirho.hmm import engine
from pirho.hmm.engine import Likelihoods
from pirho.hmm.model import CategoricalHMM
from pirho.hmm.validation import as_symbol_batch

__all__ = ["BaumWelchResult", "baum_welch"]

SCREEN_ITERATIONS = 10  # EM iterations each random restart gets before the best is kept


def screening_iterations(n_iter: int) -> int:
    """EM iterations each random start gets before the best is kept: SCREEN_ITERATIONS, but
    at most half of ``n_iter`` (and at least 1), so the kept start has iterations left.

    >>> screening_iterations(100), screening_iterations(5), screening_iterations(1)
    (10, 2, 1)
    """
    return max(1, min(SCREEN_ITERATIONS, n_iter // 2))


@dataclass(frozen=True)
class BaumWelchResult:
    """Outcome of :func:`baum_welch` (the best restart).

    model: the fitted CategoricalHMM; its total log-likelihood is ``history[-1]``.
    history: (n,) total log-likelihood Σ_b log P(x_b) of the model at each iteration,
        non-decreasing.
    converged: whether the last gain fell below ``tol`` per symbol before ``n_iter`` ran out.
    n_iter: iterations run by the kept restart.
    restart_log_likelihoods: (n_starts,) the *screening* score of every start: its total
        log-likelihood after :func:`screening_iterations` EM iterations (fewer if it
        converged sooner). These are the values the kept start was chosen by, not final
        values: only the kept start runs on, to ``history[-1]`` ≥ its entry. With a single
        start (``init`` given, or ``n_restarts=1``) nothing is screened and the one entry is
        ``history[-1]``.
    """

    model: CategoricalHMM
    history: np.ndarray
    converged: bool
    n_iter: int
    restart_log_likelihoods: np.ndarray

    @property
    def log_likelihood(self) -> float:
        """Total log-likelihood of ``model`` on the training sequences."""
        return float(self.history[-1])


def _normalise_rows(counts: np.ndarray, pseudocount: float) -> np.ndarray:
    smoothed = counts + pseudocount
    return smoothed / smoothed.sum(axis=-1, keepdims=True)


def _random_model(n_states: int, symbol_freq: np.ndarray, rng: np.random.Generator):
    """A random starting model for EM.

    start: Dirichlet(1). trans: each row puts a random weight in [0.5, 0.95] on staying and
    spreads the rest by Dirichlet(1) — hidden states in sequence data are usually persistent,
    and EM from a switchy start crawls. emit: the data's symbol frequencies times independent
    Gamma(1) noise per entry, renormalised, so states start distinct but plausible.
    """
    start = rng.dirichlet(np.ones(n_states))
    stay = rng.uniform(0.5, 0.95, size=(n_states, 1))
    trans = stay * np.eye(n_states) + (1 - stay) * rng.dirichlet(np.ones(n_states), n_states)
    emit = (symbol_freq + 1e-3) * rng.gamma(1.0, size=(n_states, symbol_freq.shape[0]))
    emit /= emit.sum(axis=1, keepdims=True)
    return start, trans, emit


def _e_step(start, trans, emit, symbols, offsets):
    """(start_counts, trans_counts, emit_counts (K, M), log-likelihood per sequence) by the
    emission-agnostic :func:`pirho.hmm.engine.expected_counts`; emission counts are the
    posterior summed per symbol."""
    emit_t = np.ascontiguousarray(emit.T)
    lik = Likelihoods(emit_t, emit_t, symbols, None)  # log_table unused by the E-step
    counts = engine.expected_counts(start, trans, lik, offsets)
    emit_counts = np.stack(
        [np.bincount(symbols, weights=counts.posterior[:, k], minlength=emit.shape[1])
         for k in range(emit.shape[0])]
    )  # fmt: skip
    return counts.start_counts, counts.trans_counts, emit_counts, counts.log_likelihood


def _run_em(start, trans, emit, symbols, offsets, n_iter, tol, pseudocount, history=None):
    """EM from one model for up to ``n_iter`` more iterations.

    Returns (start, trans, emit, history, converged), where the returned model is the one whose
    total log-likelihood is ``history[-1]``; ``history`` continues the given one.
    """
    n_total = symbols.shape[0]
    history = [] if history is None else list(history)
    converged = False
    best = (start, trans, emit)
    if history:  # continuing: the given model was already scored, go straight to an M-step
        counts = _e_step(start, trans, emit, symbols, offsets)
        start, trans, emit = (_normalise_rows(c, pseudocount) for c in counts[:3])
    for _ in range(n_iter):
        start_c, trans_c, emit_c, log_lik = _e_step(start, trans, emit, symbols, offsets)
        if np.isneginf(log_lik).any():
            b = int(np.flatnonzero(np.isneginf(log_lik))[0])
            raise ValueError(f"sequence {b} has probability 0 under the initial model")
        total = float(log_lik.sum())
        if history and total < history[-1]:
            # Pseudocounts make each step maximise likelihood + log-prior, which can lower the
            # likelihood by a hair near the optimum: keep the better, earlier model and stop.
            converged = True
            break
        history.append(total)
        best = (start, trans, emit)
        if len(history) > 1 and history[-1] - history[-2] < tol * n_total:
            converged = True
            break
        start = _normalise_rows(start_c, pseudocount)
        trans = _normalise_rows(trans_c, pseudocount)
        emit = _normalise_rows(emit_c, pseudocount)
    return (*best, np.array(history), converged)


def baum_welch(
    sequences,
    n_states: int,
    n_symbols: int | None = None,
    *,
    n_iter: int = 100,
    tol: float = 1e-6,
    seed=None,
    init: CategoricalHMM | None = None,
    n_restarts: int = 5,
    pseudocount: float = 1e-2,
) -> BaumWelchResult:
    """Fit a CategoricalHMM to one sequence or a list of sequences by Baum–Welch (EM).

    Each iteration's E-step runs the compiled forward–backward pass over all sequences at
    once and accumulates expected start, transition and emission counts in O(K) extra memory
    per step (never a (T, K, K) array); the M-step normalises the counts plus ``pseudocount``
    per entry, so no state or symbol row becomes 0/0 (NaN) when it is never used.

    Start: ``init`` if given (a single run), else ``n_restarts`` random models (drawn from
    ``seed``, see ``_random_model``), each screened with ``SCREEN_ITERATIONS`` EM iterations;
    the one with the highest likelihood after screening then runs on to convergence — EM from
    one random start often stalls in a poor optimum. The screening scores are kept in
    ``restart_log_likelihoods``.

    Stops when an iteration gains less than ``tol`` per symbol (gain < tol · Σ T_b) or after
    ``n_iter`` iterations: a hard maximum for the returned fit, its screening iterations
    included (``len(history) <= n_iter``). Screening gives each start
    :func:`screening_iterations` (``min(10, n_iter // 2)``, at least 1) iterations; the kept one
    continues for the rest of ``n_iter``, and the other ``n_restarts − 1`` starts' screening is
    the only work beyond it. ``history`` holds the total log-likelihood of each iteration's model
    and never decreases (if a pseudocount-smoothed step lowers it, the earlier model is kept).

    sequences: (T,) ints or a list of them; n_symbols defaults to max symbol + 1.

    >>> from pirho.hmm import casino
    >>> _, rolls = casino().sample(2000, seed=1)
    >>> fit = baum_welch(rolls, n_states=2, n_symbols=6, seed=0, n_restarts=2)
    >>> fit.model.n_states, bool(fit.history[-1] >= fit.history[0])
    (2, True)
    """
    n_states = _checks.check_positive_int("n_states", n_states)
    n_iter = _checks.check_positive_int("n_iter", n_iter)
    n_restarts = _checks.check_positive_int("n_restarts", n_restarts)
    tol = _checks.check_float("tol", tol, minimum=0.0)
    pseudocount = _checks.check_float("pseudocount", pseudocount, minimum=0.0, strict_minimum=True)
    if n_symbols is not None:
        n_symbols = _checks.check_positive_int("n_symbols", n_symbols)
    if seed is not None and not isinstance(seed, np.random.Generator):
        seed = _checks.check_seed("seed", seed)
    symbols, offsets, _ = as_symbol_batch(sequences, n_symbols)
    if n_symbols is None:
        n_symbols = int(symbols.max()) + 1

    if init is not None:
        if not isinstance(init, CategoricalHMM):
            raise TypeError(f"init must be a CategoricalHMM, got {type(init).__name__}")
        if (init.n_states, init.n_symbols) != (n_states, n_symbols):
            raise ValueError(
                f"init has K = {init.n_states}, M = {init.n_symbols}; expected "
                f"K = {n_states}, M = {n_symbols}"
            )
        starts = [(init.start.copy(), init.trans.copy(), init.emit.copy())]
    else:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        freq = np.bincount(symbols, minlength=n_symbols) / symbols.shape[0]
        starts = [_random_model(n_states, freq, rng) for _ in range(n_restarts)]

    # Screen every start with a few iterations, then run the most likely one on: poor optima
    # usually show within the first iterations, and EM's slow crawl is paid once. The kept
    # start's screening iterations count towards n_iter.
    n_screen = screening_iterations(n_iter) if len(starts) > 1 else 0
    runs = [
        _run_em(start, trans, emit, symbols, offsets, n_screen, tol, pseudocount)
        if n_screen
        else (start, trans, emit, np.array([]), False)
        for start, trans, emit in starts
    ]
    screened = np.array([run[3][-1] for run in runs]) if n_screen else None
    best = runs[int(np.argmax(screened))] if n_screen else runs[0]
    if not best[4]:
        more = n_iter - len(best[3])
        if more > 0:
            best = _run_em(*best[:3], symbols, offsets, more, tol, pseudocount, history=best[3])
    start, trans, emit, history, converged = best
    return BaumWelchResult(
        model=CategoricalHMM(start, trans, emit),
        history=history,
        converged=converged,
        n_iter=len(history),
        restart_log_likelihoods=screened if n_screen else history[-1:].copy(),
    )
