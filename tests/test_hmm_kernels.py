"""DP kernels and CategoricalHMM inference against brute force and hmmlearn."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pirho.hmm import CategoricalHMM, brute_force, casino, engine
from pirho.hmm import kernels as K
from pirho.hmm._compiled import recursions, smoothing


def categorical_likelihoods(m, symbols):
    """The row-gather likelihoods of a categorical model: table emit.T, rows = the symbols."""
    emit_t = np.ascontiguousarray(m.emit.T)
    with np.errstate(divide="ignore"):
        return engine.Likelihoods(emit_t, np.log(emit_t), np.asarray(symbols, np.int64), None)


RTOL = 1e-10


def close(a, b, rtol=RTOL):
    """Equal to rtol relative (absolute near 0), with matching infinities."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    same_inf = np.isinf(a) & np.isinf(b) & (np.sign(a) == np.sign(b))
    with np.errstate(invalid="ignore"):
        ok = same_inf | (np.abs(a - b) <= rtol * np.maximum(1.0, np.abs(b)))
    return bool(ok.all())


@st.composite
def stochastic_rows(draw, n_rows, n_cols):
    """Rows of a stochastic matrix with structural zeros (each row keeps one positive entry)."""
    rows = []
    for _ in range(n_rows):
        values = draw(
            st.lists(
                st.one_of(st.just(0.0), st.floats(0.05, 1.0)), min_size=n_cols, max_size=n_cols
            )
        )
        if sum(values) == 0:
            values[draw(st.integers(0, n_cols - 1))] = 1.0
        row = np.array(values)
        rows.append(row / row.sum())
    return np.array(rows)


@st.composite
def model_and_sequence(draw, max_states=4, max_symbols=5, max_steps=8):
    n_states = draw(st.integers(1, max_states))
    n_symbols = draw(st.integers(1, max_symbols))
    start = draw(stochastic_rows(1, n_states))[0]
    trans = draw(stochastic_rows(n_states, n_states))
    emit = draw(stochastic_rows(n_states, n_symbols))
    n_steps = draw(st.integers(1, max_steps))
    x = draw(st.lists(st.integers(0, n_symbols - 1), min_size=n_steps, max_size=n_steps))
    return CategoricalHMM(start, trans, emit), np.array(x)


@given(model_and_sequence())
def test_log_likelihood_matches_brute_force(case):
    m, x = case
    assert close(m.log_likelihood(x), brute_force(m, x).log_likelihood)


@given(model_and_sequence())
def test_forward_matches_brute_force_on_prefixes(case):
    # log π_t(k) = log P(x_1..x_t) + log P(h_t = k | x_1..x_t), both by enumeration of the prefix.
    m, x = case
    log_alpha = m.forward(x)
    for t in range(len(x)):
        ref = brute_force(m, x[: t + 1])
        if np.isneginf(ref.log_likelihood):
            assert np.isneginf(log_alpha[t]).all()
            continue
        with np.errstate(divide="ignore"):
            expected = ref.log_likelihood + np.log(ref.posterior[t])
        assert close(log_alpha[t], expected)


@given(model_and_sequence())
def test_forward_times_backward_is_brute_force_joint(case):
    # log π_t + log ρ_t = log P(X, h_t = k): checks ρ_t against enumeration for every t.
    m, x = case
    ref = brute_force(m, x)
    log_beta = m.backward(x)
    assert (log_beta[-1] == 0).all()
    if np.isneginf(ref.log_likelihood):
        return
    with np.errstate(divide="ignore"):
        expected = ref.log_likelihood + np.log(ref.posterior)
    assert close(m.forward(x) + log_beta, expected)


@given(model_and_sequence())
def test_posterior_matches_brute_force(case):
    m, x = case
    ref = brute_force(m, x)
    if np.isneginf(ref.log_likelihood):
        with pytest.raises(ValueError, match="probability 0"):
            m.posterior(x)
        return
    post = m.posterior(x)
    assert close(post, ref.posterior)
    assert np.abs(post.sum(axis=1) - 1).max() <= 1e-12


@given(model_and_sequence())
def test_viterbi_matches_brute_force(case):
    m, x = case
    ref = brute_force(m, x)
    if np.isneginf(ref.log_likelihood):
        with pytest.raises(ValueError, match="probability 0"):
            m.viterbi(x)
        return
    path, log_prob = m.viterbi(x)
    assert close(log_prob, ref.best_log_prob)
    # The returned path really has that joint probability (ties may pick another best path).
    with np.errstate(divide="ignore"):
        joint = (
            np.log(m.start[path[0]])
            + np.log(m.trans[path[:-1], path[1:]]).sum()
            + np.log(m.emit[path, x]).sum()
        )
    assert close(joint, ref.best_log_prob)


def numpy_viterbi(log_start, log_trans, log_lik):
    """Textbook Viterbi with numpy: np.argmax takes the first maximum, the lowest index."""
    delta = log_start + log_lik[0]
    back = []
    for t in range(1, len(log_lik)):
        scores = delta[:, None] + log_trans  # (from, to)
        back.append(scores.argmax(axis=0))
        delta = scores.max(axis=0) + log_lik[t]
    path = [int(delta.argmax())]
    for pointers in reversed(back):
        path.append(int(pointers[path[-1]]))
    return np.array(path[::-1]), float(delta.max())


@pytest.mark.parametrize("n_states", [3, 4, 5, 8, 17, 64])
def test_viterbi_kernel_equals_numpy_viterbi_with_ties_and_zeros(n_states):
    # Probabilities on a coarse grid make exact ties common; ties must go to the lowest index.
    # Transitions have structural zeros (log 0 = -inf).
    rng = np.random.default_rng(n_states)
    trans = rng.integers(0, 4, size=(n_states, n_states)).astype(float)
    trans[:, 0] += 1.0  # every row keeps a positive entry
    trans /= trans.sum(axis=1, keepdims=True)
    emit = rng.integers(1, 4, size=(n_states, 6)).astype(float)  # positive: every x possible
    emit /= emit.sum(axis=1, keepdims=True)
    m = CategoricalHMM(np.full(n_states, 1.0 / n_states), trans, emit)
    sequences = [rng.integers(0, 6, size=n) for n in (1, 2, 50, 301)]
    batch = m.viterbi(sequences)
    with np.errstate(divide="ignore"):
        log_start, log_trans, log_emit = np.log(m.start), np.log(m.trans), np.log(m.emit)
    for x, result in zip(sequences, batch, strict=True):
        expected_path, expected_log_prob = numpy_viterbi(log_start, log_trans, log_emit[:, x].T)
        np.testing.assert_array_equal(result.path, expected_path)
        assert result.log_prob == expected_log_prob


@pytest.mark.parametrize("n_states", [1, 2, 3, 4, 17, 64, 130])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_viterbi_kernel_both_back_forms_and_end_scores_equal_numpy_viterbi(n_states, dtype):
    """recursions.viterbi keeping back-pointers (the HMMs) or δ rows (the CRF's decoder), with
    end scores (the CRF's): the same paths and scores as numpy Viterbi with the end scores
    folded into the last step, ties (integer scores, so the sums are exact) to the lowest
    index, arithmetic in the scores' dtype."""
    rng = np.random.default_rng(n_states)

    def scores(*shape):
        values = rng.integers(-3, 2, size=shape).astype(dtype)
        values[rng.random(shape) < 0.3] = -np.inf
        values[..., 0] = 0.0  # state 0 always possible: every sequence has a path
        return values

    log_start, log_end = scores(n_states), scores(n_states)
    log_trans, table = scores(n_states, n_states), scores(40, n_states)
    lengths = [1, 2, 9, 30]
    offsets = np.cumsum([0, *lengths])
    rows = rng.integers(0, 40, size=offsets[-1])  # any table row may serve any step
    for back in (np.empty((30, n_states), np.int32), np.empty((30, n_states), dtype)):
        path = np.empty(offsets[-1], np.int64)
        best, impossible = recursions.viterbi(
            log_start, log_trans, table, rows, offsets, path, back, log_end
        )
        assert best.dtype == dtype and not impossible.any()
        for b in range(len(lengths)):
            log_lik = table[rows[offsets[b] : offsets[b + 1]]].copy()
            log_lik[-1] += log_end
            expected_path, expected_best = numpy_viterbi(log_start, log_trans, log_lik)
            np.testing.assert_array_equal(path[offsets[b] : offsets[b + 1]], expected_path)
            assert best[b] == expected_best


@given(model_and_sequence(), st.integers(0, 8))
def test_fixed_lag_matches_brute_force_on_truncated_sequence(case, lag):
    # P(h_t | x_1..x_{t+L}) is the smoothing posterior of the prefix ending at t + L.
    m, x = case
    if np.isneginf(m.log_likelihood(x)):
        return
    lagged = m.posterior(x, lag=lag)
    for t in range(len(x)):
        end = min(t + lag, len(x) - 1)
        assert close(lagged[t], brute_force(m, x[: end + 1]).posterior[t])


@given(model_and_sequence())
def test_filter_is_last_row_of_prefix_posterior(case):
    m, x = case
    if np.isneginf(m.log_likelihood(x)):
        with pytest.raises(ValueError, match="probability 0"):
            m.filter(x)
        return
    filt = m.filter(x)
    for t in range(len(x)):
        assert close(filt[t], brute_force(m, x[: t + 1]).posterior[t])


def test_lag_zero_is_filter_and_long_lag_is_posterior(random_hmm):
    rng = np.random.default_rng(3)
    m = random_hmm(rng, 3, 4)
    _, x = m.sample(300, seed=1)
    assert np.array_equal(m.posterior(x, lag=0), m.filter(x))
    assert np.array_equal(m.posterior(x, lag=299), m.posterior(x))
    assert np.array_equal(m.posterior(x, lag=10_000), m.posterior(x))
    # A moderate lag lies strictly between, and matches the posterior of the truncated prefix.
    lagged = m.posterior(x, lag=7)
    assert np.allclose(lagged[100], m.posterior(x[:108])[100], rtol=0, atol=1e-13)


def test_batch_equals_per_sequence(random_hmm):
    rng = np.random.default_rng(4)
    m = random_hmm(rng, 4, 5)
    seqs = [m.sample(n, seed=i)[1] for i, n in enumerate([1, 2, 17, 50, 3])]
    lls = m.log_likelihood(seqs)
    assert lls.shape == (5,)
    for b, x in enumerate(seqs):
        assert lls[b] == pytest.approx(m.log_likelihood(x), rel=1e-14)
    for method in ("forward", "backward", "filter", "posterior"):
        batched = getattr(m, method)(seqs)
        assert isinstance(batched, list) and len(batched) == 5
        for b, x in enumerate(seqs):
            np.testing.assert_allclose(batched[b], getattr(m, method)(x), rtol=1e-13, atol=0)
    best = m.viterbi(seqs)
    assert len(best) == 5 and best[1:3].log_probs.shape == (2,)
    for b, (path, lp) in enumerate(best):
        ref_path, ref_lp = m.viterbi(seqs[b])
        assert np.array_equal(path, ref_path) and lp == pytest.approx(ref_lp, rel=1e-14)
        assert best[b].log_prob == lp == best.log_probs[b] and best.paths[b] is path
    for b, post in enumerate(m.posterior(seqs, lag=3)):
        np.testing.assert_allclose(post, m.posterior(seqs[b], lag=3), rtol=1e-13, atol=0)
    # A 2-D array is a batch of equal-length rows.
    grid = np.stack([m.sample(20, seed=i)[1] for i in range(3)])
    np.testing.assert_allclose(m.log_likelihood(grid), [m.log_likelihood(r) for r in grid])


def test_log_space_kernels_match_model_methods(random_hmm):
    # The emission-agnostic kernels (log_lik in) agree with CategoricalHMM (gathered probs).
    rng = np.random.default_rng(5)
    m = random_hmm(rng, 3, 4)
    seqs = [m.sample(n, seed=i)[1] for i, n in enumerate([30, 5, 12])]
    x = np.concatenate(seqs)
    offsets = np.cumsum([0] + [len(s) for s in seqs])
    args = (np.log(m.start), np.log(m.trans), np.log(m.emit[:, x].T))
    np.testing.assert_allclose(K.log_likelihood(*args, offsets), m.log_likelihood(seqs), rtol=1e-13)
    np.testing.assert_allclose(
        K.forward(*args, offsets), np.concatenate(m.forward(seqs)), rtol=1e-12
    )
    np.testing.assert_allclose(
        K.backward(*args, offsets), np.concatenate(m.backward(seqs)), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(K.filter_probs(*args, offsets), np.concatenate(m.filter(seqs)))
    np.testing.assert_allclose(K.posterior(*args, offsets), np.concatenate(m.posterior(seqs)))
    np.testing.assert_allclose(
        K.fixed_lag_posterior(*args, offsets, lag=2), np.concatenate(m.posterior(seqs, lag=2))
    )
    path, best = K.viterbi(*args, offsets)
    assert np.array_equal(path, np.concatenate([p for p, _ in m.viterbi(seqs)]))


def test_log_lik_with_huge_spread_does_not_underflow():
    # Gaussian-like emissions: log-likelihoods around -1e4 per step are shifted before exp.
    rng = np.random.default_rng(6)
    log_lik = rng.normal(-1e4, 5.0, size=(200, 2))
    log_start, log_trans = np.log([0.5, 0.5]), np.log([[0.9, 0.1], [0.2, 0.8]])
    ll = K.log_likelihood(log_start, log_trans, log_lik)
    # Reference: plain log-space forward with logaddexp.
    la = log_start + log_lik[0]
    for t in range(1, 200):
        la = np.logaddexp.reduce(la[:, None] + log_trans, axis=0) + log_lik[t]
    assert ll == pytest.approx(np.logaddexp.reduce(la), rel=1e-12)
    post = K.posterior(log_start, log_trans, log_lik)
    assert np.isfinite(post).all() and np.abs(post.sum(1) - 1).max() < 1e-12


hmmlearn = pytest.importorskip("hmmlearn.hmm")


def hmmlearn_copy(m):
    ref = hmmlearn.CategoricalHMM(n_components=m.n_states, implementation="scaling")
    ref.startprob_, ref.transmat_, ref.emissionprob_ = m.start, m.trans, m.emit
    ref.n_features = m.n_symbols
    return ref


@pytest.mark.parametrize(("n_states", "n_symbols", "n_steps"), [(2, 6, 20_000), (8, 5, 5_000)])
def test_matches_hmmlearn_on_long_sequences(n_states, n_symbols, n_steps, random_hmm):
    rng = np.random.default_rng(n_states)
    m = casino() if n_states == 2 else random_hmm(rng, n_states, n_symbols)
    _, x = m.sample(n_steps, seed=7)
    ref = hmmlearn_copy(m)
    assert m.log_likelihood(x) == pytest.approx(ref.score(x[:, None]), rel=1e-10)
    np.testing.assert_allclose(m.posterior(x), ref.predict_proba(x[:, None]), rtol=0, atol=1e-9)
    ref_lp, ref_path = ref.decode(x[:, None], algorithm="viterbi")
    path, log_prob = m.viterbi(x)
    assert log_prob == pytest.approx(ref_lp, rel=1e-10)
    assert (path == ref_path).mean() > 0.999


def test_matches_hmmlearn_on_a_batch():
    m = casino()
    seqs = [m.sample(n, seed=i)[1] for i, n in enumerate([40, 100, 7])]
    ref = hmmlearn_copy(m)
    stacked = np.concatenate(seqs)[:, None]
    lengths = [len(s) for s in seqs]
    np.testing.assert_allclose(
        np.concatenate(m.posterior(seqs)), ref.predict_proba(stacked, lengths), atol=1e-12
    )
    assert m.log_likelihood(seqs).sum() == pytest.approx(ref.score(stacked, lengths), rel=1e-12)


def numpy_chunked_log_likelihood(m, x):
    """Independent float64 reference in plain numpy: forward step by step, normalised."""
    log_total = 0.0
    belief = m.start.copy()
    for t, lik in enumerate(m.emit[:, x].T):
        joint = (belief if t == 0 else belief @ m.trans) * lik
        total = joint.sum()
        log_total += np.log(total)
        belief = joint / total
    return log_total


def hmmlearn_chunked_log_likelihood(m, x, chunk=10**6):
    """Reference for very long sequences: hmmlearn scores chunks of 10^6 rolls, each started
    from the filter carried over from the previous chunk, and the chunk scores are summed:
    log P(x) = Σ_c log P(x_c | x_<c)."""
    total = 0.0
    start = m.start
    for lo in range(0, len(x), chunk):
        ref = hmmlearn_copy(CategoricalHMM(start / start.sum(), m.trans, m.emit))
        part = x[lo : lo + chunk, None]
        total += ref.score(part)
        start = ref.predict_proba(part)[-1] @ m.trans
    return total


def test_log_likelihood_matches_numpy_reference():
    m = casino()
    _, x = m.sample(20_000, seed=11)
    assert m.log_likelihood(x) == pytest.approx(numpy_chunked_log_likelihood(m, x), rel=1e-12)


def test_casino_log_likelihood_at_ten_million_steps_matches_chunked_reference():
    m = casino()
    _, x = m.sample(10**7, seed=12)
    ll = m.log_likelihood(x)
    assert np.isfinite(ll) and ll < -1.5e7  # P(x) itself is about 10^-7,500,000
    assert ll == pytest.approx(hmmlearn_chunked_log_likelihood(m, x), rel=1e-10)
    # The same number through the emission-agnostic log-space kernel.
    assert K.log_likelihood(np.log(m.start), np.log(m.trans), np.log(m.emit[:, x[:10**6]].T)) == \
        pytest.approx(m.log_likelihood(x[:10**6]), rel=1e-12)  # fmt: skip


@pytest.mark.parametrize("n_states", [1, 2, 3, 5])
def test_fixed_lag_block_algorithm_equals_windowed_backward(n_states):
    # The O(T·K³) block factorisation and the O(T·lag·K²) per-step window must agree for every
    # lag, on a batch, with structural zeros in trans.
    rng = np.random.default_rng(n_states)
    trans = rng.dirichlet(np.ones(n_states), n_states)
    if n_states > 2:
        trans[0, 1] = 0.0
        trans[0] /= trans[0].sum()
    m = CategoricalHMM(rng.dirichlet(np.ones(n_states)), trans, rng.dirichlet(np.ones(4), n_states))
    seqs = [m.sample(n, seed=i)[1] for i, n in enumerate([1, 2, 7, 50, 333])]
    x = np.concatenate(seqs)
    offsets = np.cumsum([0] + [len(s) for s in seqs])
    args = (m.start.copy(), m.trans.copy(), categorical_likelihoods(m, x), offsets)
    for lag in (1, 2, 3, 6, 20, 49, 100, 331):
        window = engine.fixed_lag_posterior(*args, lag, True, "window")
        blocks = engine.fixed_lag_posterior(*args, lag, True, "blocks")
        np.testing.assert_allclose(blocks, window, rtol=0, atol=1e-13)


def test_lockstep_batch_posterior_equals_per_sequence_for_many_states():
    # K >= LOCKSTEP_MIN_STATES: the batch advances all sequences with one matrix product per
    # step; it must equal the per-sequence loop, with ragged lengths and a dead state.
    rng = np.random.default_rng(16)
    n_states = smoothing.LOCKSTEP_MIN_STATES
    trans = rng.dirichlet(np.ones(n_states), n_states)
    trans[:, 0] = 0.0  # state 0 is never entered after the first step
    trans /= trans.sum(axis=1, keepdims=True)
    m = CategoricalHMM(rng.dirichlet(np.ones(n_states)), trans, rng.dirichlet(np.ones(5), n_states))
    seqs = [m.sample(n, seed=i)[1] for i, n in enumerate([1, 40, 7, 40, 2, 130])]
    batched = m.posterior(seqs)
    for b, x in enumerate(seqs):
        np.testing.assert_allclose(batched[b], m.posterior(x), rtol=0, atol=1e-13)
    impossible = CategoricalHMM(
        np.eye(n_states)[0], np.eye(n_states), np.tile([1.0, 0, 0, 0, 0], (n_states, 1))
    )
    with pytest.raises(ValueError, match="sequence 1 has probability 0"):
        impossible.posterior([[0, 0], [0, 1], [0]])


def test_paired_two_state_posterior_equals_step_by_step_loop():
    # Two-state models without (near-)zero entries advance two steps per link of the
    # recursion; it must equal the one-step loop on every length parity, ragged batches and a
    # long sequence with many rescalings, and a near-zero entry must take the general path.
    m = casino()
    seqs = [m.sample(n, seed=n)[1] for n in [1, 2, 3, 4, 5, 8, 9, 100_000]]
    symbols = np.concatenate(seqs)
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in seqs])])
    lik = categorical_likelihoods(m, symbols)
    args = (m.start.copy(), m.trans.copy(), lik, offsets, True)
    assert smoothing.choose_posterior_method(m.trans, lik.table, len(seqs)) == "paired"
    paired = engine.smoothed_posterior(*args, "paired")
    loop = engine.smoothed_posterior(*args, "loop")
    np.testing.assert_allclose(paired, loop, rtol=0, atol=1e-13)
    np.testing.assert_allclose(paired.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    for x in seqs[:6]:
        np.testing.assert_allclose(m.posterior(x), brute_force(m, x).posterior, atol=1e-12)
    tiny = np.array([[0.5, 0.5 - 1e-30, 1e-30], [0.2, 0.3, 0.5]])
    assert not smoothing.all_at_least(np.ascontiguousarray(tiny.T), smoothing.PAIR_MIN)
    x = [2, 0, 1, 2, 2]
    m_tiny = CategoricalHMM([0.5, 0.5], [[0.9, 0.1], [0.2, 0.8]], tiny)
    np.testing.assert_allclose(m_tiny.posterior(x), brute_force(m_tiny, x).posterior, atol=1e-12)


def test_lockstep_posterior_in_several_groups_equals_per_sequence_loop():
    # Long ragged sequences make the lockstep kernel split the batch into several groups of
    # LOCKSTEP_MIN_GROUP sequences; the result must equal the one-sequence-at-a-time loop.
    rng = np.random.default_rng(17)
    n_states = smoothing.LOCKSTEP_MIN_STATES
    m = CategoricalHMM(
        rng.dirichlet(np.ones(n_states)),
        rng.dirichlet(np.ones(n_states), n_states),
        rng.dirichlet(np.ones(6), n_states),
    )
    lengths = rng.integers(1, 1000, size=3 * smoothing.LOCKSTEP_MIN_GROUP + 5)
    group = smoothing.LOCKSTEP_GROUP_BYTES // (8 * n_states * lengths.max())
    assert group < smoothing.LOCKSTEP_MIN_GROUP
    seqs = [m.sample(int(n), seed=i)[1] for i, n in enumerate(lengths)]
    symbols = np.concatenate(seqs)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    args = (m.start.copy(), m.trans.copy(), categorical_likelihoods(m, symbols), offsets, True)
    lockstep = engine.smoothed_posterior(*args, "lockstep")
    loop = engine.smoothed_posterior(*args, "loop")
    np.testing.assert_allclose(lockstep, loop, rtol=0, atol=1e-13)
