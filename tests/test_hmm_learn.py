"""Baum–Welch: E-step counts against enumeration, monotone EM, pseudocounts, casino recovery."""

import itertools

import numpy as np
import pytest

from pirho.hmm import CategoricalHMM, baum_welch, casino, expected_counts


def enumerated_counts(m, x):
    """Expected counts Σ_paths P(path | x) · (counts along the path), by enumeration."""
    start_c = np.zeros(m.n_states)
    trans_c = np.zeros((m.n_states, m.n_states))
    emit_c = np.zeros((m.n_states, m.n_symbols))
    weights = {}
    for path in itertools.product(range(m.n_states), repeat=len(x)):
        p = m.start[path[0]] * np.prod(m.trans[path[:-1], path[1:]]) * np.prod(m.emit[path, x])
        weights[path] = p
    total = sum(weights.values())
    for path, p in weights.items():
        w = p / total
        start_c[path[0]] += w
        for t in range(len(x)):
            emit_c[path[t], x[t]] += w
            if t:
                trans_c[path[t - 1], path[t]] += w
    return start_c, trans_c, emit_c, np.log(total)


@pytest.mark.parametrize("n_states", [2, 3])
def test_expected_counts_match_enumeration_over_several_sequences(n_states, random_hmm):
    rng = np.random.default_rng(n_states)
    m = random_hmm(rng, n_states, 4)
    seqs = [m.sample(n, seed=i)[1] for i, n in enumerate([6, 1, 5])]
    symbols = np.concatenate(seqs)
    with np.errstate(divide="ignore"):
        log_lik = np.log(m.emit[:, symbols].T)
    got = expected_counts(np.log(m.start), np.log(m.trans), log_lik, [0, 6, 7, 12])
    # The emission-agnostic counts leave emissions to the family: posterior mass per symbol.
    emit_counts = np.stack([np.bincount(symbols, got.posterior[:, k], minlength=4)
                            for k in range(n_states)])  # fmt: skip
    refs = [enumerated_counts(m, x) for x in seqs]
    for i, mine in enumerate((got.start_counts, got.trans_counts, emit_counts)):
        np.testing.assert_allclose(mine, sum(r[i] for r in refs), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(got.log_likelihood, [r[3] for r in refs], rtol=1e-12)


def test_history_is_non_decreasing_and_ends_at_the_model_likelihood():
    m = casino()
    seqs = [m.sample(n, seed=i)[1] for i, n in enumerate([3000, 500, 1500])]
    fit = baum_welch(seqs, n_states=2, n_symbols=6, seed=0, n_iter=60)
    assert len(fit.history) == fit.n_iter + 1 and fit.n_iter >= 2
    assert np.all(np.diff(fit.history) >= 0)
    assert fit.history[-1] == pytest.approx(fit.model.log_likelihood(seqs).sum(), rel=1e-12)
    assert fit.restart_log_likelihoods.shape == (5,)


def test_converged_flag_reflects_tolerance_and_iteration_budget():
    _, rolls = casino().sample(3000, seed=5)
    assert not baum_welch(rolls, 2, 6, seed=1, n_iter=3, tol=0.0).converged
    loose = baum_welch(rolls, 2, 6, seed=1, tol=1e-3)
    assert loose.converged and loose.n_iter < 100


def test_seed_makes_fits_reproducible():
    _, rolls = casino().sample(2000, seed=6)
    a = baum_welch(rolls, 2, 6, seed=7, n_iter=20)
    b = baum_welch(rolls, 2, 6, seed=7, n_iter=20)
    assert np.array_equal(a.model.trans, b.model.trans)
    assert np.array_equal(a.history, b.history)


def test_pseudocounts_keep_unused_symbols_and_states_finite():
    # Symbol 3 never occurs and 4 states for data with one symbol: no NaN, no zero rows.
    x = np.zeros(200, dtype=np.int64)
    fit = baum_welch(x, n_states=4, n_symbols=4, seed=0, n_iter=30)
    for arr in (fit.model.start, fit.model.trans, fit.model.emit):
        assert np.isfinite(arr).all() and (arr > 0).all()
    assert fit.model.emit[:, 0].min() > 0.9
    assert np.isfinite(fit.history).all()


def test_init_model_is_used_and_must_match_shapes():
    _, rolls = casino().sample(1000, seed=8)
    fit = baum_welch(rolls, 2, 6, init=casino(), n_iter=0)
    assert np.array_equal(fit.model.trans, casino().trans)  # no M-step = scoring only
    assert fit.history[0] == pytest.approx(casino().log_likelihood(rolls))
    with pytest.raises(ValueError, match="init has K = 2, M = 6; expected K = 3, M = 6"):
        baum_welch(rolls, 3, 6, init=casino())


def test_n_symbols_defaults_to_max_symbol_plus_one():
    fit = baum_welch([[0, 1, 2, 1], [2, 2, 0]], n_states=2, seed=0, n_iter=5)
    assert fit.model.n_symbols == 3


def test_recovers_casino_from_50000_rolls():
    truth = casino()
    _, rolls = truth.sample(50_000, seed=2024)
    fit = baum_welch(rolls, n_states=2, n_symbols=6, seed=0)  # default restarts
    m = fit.model
    order = [0, 1] if m.emit[1, 5] > m.emit[0, 5] else [1, 0]  # label "loaded" by P(six)
    trans = m.trans[np.ix_(order, order)]
    assert np.abs(trans - truth.trans).max() <= 0.03
    assert abs(m.emit[order[1], 5] - 0.5) <= 0.03
    assert np.all(np.diff(fit.history) >= 0)


def test_restart_log_likelihoods_are_each_starts_screening_score():
    # Each entry is that random start's total log-likelihood after SCREEN_ITERATIONS EM
    # iterations, reproduced here by running EM from the same start for that many iterations;
    # the kept start continues from its entry to history[-1].
    from pirho.hmm.fitting.baum_welch import SCREEN_ITERATIONS, _random_model

    _, rolls = casino().sample(3000, seed=11)
    fit = baum_welch(rolls, 2, 6, seed=4, n_restarts=3, tol=1e-9)
    rng = np.random.default_rng(4)
    freq = np.bincount(rolls, minlength=6) / rolls.shape[0]
    starts = [_random_model(2, freq, rng) for _ in range(3)]
    expected = [
        baum_welch(
            rolls, 2, 6, init=CategoricalHMM(*s), n_iter=SCREEN_ITERATIONS, tol=1e-9
        ).history[-1]
        for s in starts
    ]
    np.testing.assert_allclose(fit.restart_log_likelihoods, expected, rtol=1e-12)
    assert fit.history[SCREEN_ITERATIONS] == pytest.approx(max(expected), rel=1e-12)
    assert fit.history[-1] > max(expected)
    single = baum_welch(rolls, 2, 6, seed=4, n_restarts=1)
    assert single.restart_log_likelihoods.tolist() == [single.history[-1]]


@pytest.mark.parametrize("n_iter, n_restarts", [(1, 5), (5, 5), (12, 5), (12, 1), (30, 3)])
def test_n_iter_is_a_hard_maximum_screening_included(n_iter, n_restarts):
    # tol = 0 never converges early: the fit must stop at exactly n_iter M-steps (a history
    # of n_iter + 1 entries: the start's and one per M-step), unless the guard stops a
    # pseudocount step that would lower the likelihood.
    _, rolls = casino().sample(1000, seed=2)
    fit = baum_welch(rolls, 2, 6, seed=0, n_iter=n_iter, n_restarts=n_restarts, tol=0.0)
    assert fit.n_iter == len(fit.history) - 1 == n_iter
