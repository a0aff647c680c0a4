"""Baum–Welch (EM) for categorical HMMs, with pseudocounts and random restarts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pirho import _checks
from pirho.hmm.base import ObservationBatch
from pirho.hmm.families.categorical import CategoricalHMM
from pirho.hmm.fitting.em_loop import EMMonitor, EMResult, run_em
from pirho.hmm.fitting.init import noisy_frequencies, sticky_transitions
from pirho.hmm.priors import EMPrior
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
    history: (n_iter + 1,) total log-likelihood Σ_b log P(x_b) of the kept start and after
        each of its M-steps (screening included), non-decreasing.
    converged: whether the last M-step gained less than ``tol`` (or a smoothed step would
        have lowered the likelihood) before ``n_iter`` ran out.
    n_iter: M-steps taken by the kept restart (screening included).
    restart_log_likelihoods: (n_starts,) the *screening* score of every start: its total
        log-likelihood after :func:`screening_iterations` M-steps (fewer if it
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


def _random_model(n_states: int, symbol_freq: np.ndarray, rng: np.random.Generator):
    """A random starting model (start, trans, emit) for EM.

    start: Dirichlet(1). trans: :func:`~pirho.hmm.fitting.init.sticky_transitions`
    with ``include_self=True`` (persistent states: EM from a switchy start crawls). emit: the
    data's symbol frequencies times independent Gamma(1) noise per entry, renormalised
    (:func:`~pirho.hmm.fitting.init.noisy_frequencies`), so states start distinct but
    plausible.
    """
    start = rng.dirichlet(np.ones(n_states))
    trans = sticky_transitions(n_states, rng, include_self=True)
    return start, trans, noisy_frequencies(symbol_freq, n_states, rng)


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

    EM is :func:`pirho.hmm.fitting.em_loop.run_em` (the one loop of every entry point): each E-step
    runs the compiled forward–backward pass over all sequences at once; the M-step adds
    ``pseudocount`` to every expected start, transition and emission count (a Dirichlet
    prior of concentration 1 + pseudocount) and normalises, so no state or symbol row becomes
    0/0 when it is never used. Entries that are exactly 0 in the starting model (``init``)
    stay exactly 0: structural zeros are kept, pseudocount or not. ``pseudocount=0`` is
    maximum likelihood, the same steps as :func:`pirho.hmm.fitting.em` from the same start.

    Start: ``init`` if given (a single run), else ``n_restarts`` random models (drawn from
    ``seed``, see ``_random_model``), each screened with :func:`screening_iterations` M-steps;
    the one with the highest likelihood after screening then runs on — EM from one random
    start often stalls in a poor optimum. The screening scores are kept in
    ``restart_log_likelihoods``.

    n_iter, tol, history as everywhere (docs/conventions.md, "EM: n_iter, tol, history"):
    ``n_iter`` is the maximum number of M-steps of the returned fit, its screening steps
    included (``len(history) <= n_iter + 1``); EM stops after an M-step that gains less than
    ``tol`` in total log-likelihood; ``history[0]`` is the starting model's log-likelihood and
    ``history[-1]`` the returned model's. If a pseudocount-smoothed step lowers the
    likelihood, the earlier model is kept and EM stops (the guard of
    :class:`~pirho.hmm.fitting.em_loop.EMMonitor`), so ``history`` never decreases.

    sequences: (T,) ints or a list of them; n_symbols defaults to max symbol + 1.

    >>> from pirho.hmm import casino
    >>> _, rolls = casino().sample(20_000, seed=1)
    >>> fit = baum_welch(rolls, n_states=2, n_symbols=6, seed=0, n_restarts=2)
    >>> loaded = int(np.argmax(fit.model.emit[:, 5]))  # the state that favours a six
    >>> fit.model.emit[loaded].round(1).tolist()  # the loaded die: 1/10 each, 1/2 for a six
    [0.1, 0.1, 0.1, 0.1, 0.1, 0.5]
    """
    n_states = _checks.check_positive_int("n_states", n_states)
    n_iter = _checks.check_int("n_iter", n_iter, minimum=0)
    n_restarts = _checks.check_positive_int("n_restarts", n_restarts)
    tol = _checks.check_float("tol", tol, minimum=0.0)
    pseudocount = _checks.check_float("pseudocount", pseudocount, minimum=0.0)
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
        starts = [init]
    else:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        freq = np.bincount(symbols, minlength=n_symbols) / symbols.shape[0]
        starts = [CategoricalHMM(*_random_model(n_states, freq, rng)) for _ in range(n_restarts)]

    batch = ObservationBatch(symbols, offsets, True)
    concentration = 1.0 + pseudocount
    prior = EMPrior(start=concentration, trans=concentration, emission=concentration)

    def run(model: CategoricalHMM, steps: int) -> EMResult:
        return run_em(model, batch, prior=prior, n_iter=steps, monitor=EMMonitor(tol),
                      warn_unused=False)  # fmt: skip

    # Screen every start with a few M-steps, then run the most likely one on: poor optima
    # usually show within the first iterations, and EM's slow crawl is paid once. The kept
    # start's screening steps count towards n_iter.
    n_screen = min(screening_iterations(n_iter), n_iter) if len(starts) > 1 else 0
    runs = [run(model, n_screen) for model in starts]
    screened = np.array([r.history[-1] for r in runs])
    best = runs[int(np.argmax(screened))]
    history = best.history
    if not best.converged and n_iter > n_screen:
        best = run(best.model, n_iter - n_screen)
        history = np.concatenate([history, best.history[1:]])
    return BaumWelchResult(
        model=best.model,  # type: ignore[arg-type]
        history=history,
        converged=best.converged,
        n_iter=len(history) - 1,
        restart_log_likelihoods=screened if len(starts) > 1 else history[-1:].copy(),
    )
