"""Posterior path sampling (forward filtering, backward sampling) against brute force.

The reference is :func:`pirho.hmm.brute.path_log_joint`: every one of the K^T paths with its
probability, enumerated literally. A chi-square goodness-of-fit test at a fixed seed compares
the sampled paths' frequencies with those probabilities; the same test rejects two wrong
samplers that ignore ρ (independent smoothing marginals, and forward sampling from the filter),
so it has the power to catch the mistake it is there for.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pirho.hmm import (
    GMMHMM,
    BernoulliHMM,
    CategoricalHMM,
    GaussianHMM,
    PoissonHMM,
    casino,
    kernels,
    sampling,
)
from pirho.hmm.brute import path_log_joint

N_DRAWS = 20_000


def path_probabilities(log_start, log_trans, log_lik) -> np.ndarray:
    log_joint = path_log_joint(log_start, log_trans, log_lik)
    weights = np.exp(log_joint - log_joint.max())
    return weights / weights.sum()


def path_index(paths: np.ndarray, n_states: int) -> np.ndarray:
    """Lexicographic index of each path (last step fastest), as path_log_joint orders them."""
    return np.ravel_multi_index(paths.T, (n_states,) * paths.shape[1])


def chi_square_p_value(paths: np.ndarray, probs: np.ndarray, n_states: int) -> float:
    """Pearson's chi-square p-value of the paths' counts against ``probs``.

    Paths of probability 0 must never be drawn (asserted, they are not a bin); paths with an
    expected count below 5 are pooled into one bin, as the test's approximation requires.
    """
    counts = np.bincount(path_index(paths, n_states), minlength=probs.shape[0])
    assert counts[probs == 0].sum() == 0, "a path of probability 0 was drawn"
    expected = probs * paths.shape[0]
    big = expected >= 5
    observed = np.append(counts[big], counts[~big & (probs > 0)].sum())
    expect = np.append(expected[big], expected[~big & (probs > 0)].sum())
    if expect[-1] == 0:
        observed, expect = observed[:-1], expect[:-1]
    return float(stats.chisquare(observed, expect).pvalue)


def random_categorical(rng, n_states, n_symbols, zero_fraction=0.0) -> CategoricalHMM:
    def rows(n_rows, n_cols):
        weights = rng.random((n_rows, n_cols)) + 0.05
        weights *= rng.random((n_rows, n_cols)) >= zero_fraction
        for row in weights:
            if not row.any():
                row[rng.integers(n_cols)] = 1.0
        return weights / weights.sum(axis=1, keepdims=True)

    return CategoricalHMM(rows(1, n_states)[0], rows(n_states, n_states), rows(n_states, n_symbols))


def log_lik_of(model, x) -> np.ndarray:
    """The (T, K) log-likelihood matrix a model's kernels read for one sequence."""
    lik = model._likelihoods(model._as_batch(x).observations)
    return lik.log_table[lik.rows]


def logs(model):
    with np.errstate(divide="ignore"):
        return np.log(model.start), np.log(model.trans)


def possible_sequence(model, n_steps, seed):
    return model.sample(n_steps, seed=seed)[1]


# -- exactness: every path's frequency ------------------------------------------------------


@pytest.mark.parametrize(
    ("n_states", "n_steps", "zero_fraction", "seed"),
    [(2, 6, 0.0, 0), (2, 5, 0.3, 1), (3, 4, 0.0, 2), (3, 5, 0.3, 3), (4, 3, 0.25, 4)],
)
def test_path_frequencies_match_brute_force(n_states, n_steps, zero_fraction, seed):
    rng = np.random.default_rng(seed)
    model = random_categorical(rng, n_states, 3, zero_fraction)
    x = possible_sequence(model, n_steps, seed)
    probs = path_probabilities(*logs(model), log_lik_of(model, x))
    paths = model.sample_posterior(x, N_DRAWS, seed=100 + seed)
    assert paths.shape == (N_DRAWS, n_steps) and paths.dtype == np.int64
    assert chi_square_p_value(paths, probs, n_states) > 1e-3


def wrong_sampler_marginals(model, x, n_samples, rng):
    """Each h_t drawn independently from its smoothing marginal P(h_t | x)."""
    post = model.posterior(x)
    u = rng.random((n_samples, post.shape[0], 1))
    return (u > np.cumsum(post, axis=1)[None]).sum(axis=2)


def wrong_sampler_filter(model, x, n_samples, rng):
    """Forward sampling that ignores ρ: h_t ∝ P(h_t | h_{t-1}, x_1..x_t), the future unseen."""
    lik = np.exp(log_lik_of(model, x))
    paths = np.empty((n_samples, lik.shape[0]), dtype=np.int64)
    for t in range(lik.shape[0]):
        weights = (model.start if t == 0 else model.trans[paths[:, t - 1]]) * lik[t]
        cum = np.cumsum(weights / weights.sum(axis=-1, keepdims=True), axis=-1)
        paths[:, t] = (rng.random((n_samples, 1)) > cum).sum(axis=1)
    return paths


@pytest.mark.parametrize("wrong_sampler", [wrong_sampler_marginals, wrong_sampler_filter])
def test_chi_square_rejects_a_sampler_that_ignores_rho(wrong_sampler):
    # Sticky casino, rolls whose end (sixes) should pull earlier states to "loaded".
    model = casino()
    x = [0, 2, 5, 5, 5, 5]
    probs = path_probabilities(*logs(model), log_lik_of(model, x))
    rng = np.random.default_rng(7)
    wrong = wrong_sampler(model, x, N_DRAWS, rng)
    assert chi_square_p_value(wrong, probs, 2) < 1e-9
    right = model.sample_posterior(x, N_DRAWS, seed=7)
    assert chi_square_p_value(right, probs, 2) > 1e-3


def test_mean_of_samples_converges_to_posterior():
    rng = np.random.default_rng(5)
    model = random_categorical(rng, 5, 4, zero_fraction=0.2)
    x = possible_sequence(model, 300, 5)
    paths = model.sample_posterior(x, 4000, seed=11)
    post = model.posterior(x)
    frequency = np.stack([(paths == k).mean(axis=0) for k in range(5)], axis=1)
    bound = 5 * np.sqrt(post * (1 - post) / 4000) + 1e-9
    assert (np.abs(frequency - post) <= bound).all()
    assert (frequency[post == 0] == 0).all()


def test_structural_zeros_are_never_on_a_path():
    rng = np.random.default_rng(8)
    for trial in range(10):
        model = random_categorical(rng, int(rng.integers(2, 7)), 4, zero_fraction=0.4)
        x = possible_sequence(model, 200, trial)
        paths = model.sample_posterior(x, 200, seed=trial)
        assert (model.start[paths[:, 0]] > 0).all()
        assert (model.trans[paths[:, :-1], paths[:, 1:]] > 0).all()
        assert (model.emit[paths, np.asarray(x)[None, :]] > 0).all()


def test_batch_gives_one_array_per_sequence_each_exact():
    rng = np.random.default_rng(9)
    model = random_categorical(rng, 3, 3, zero_fraction=0.2)
    xs = [possible_sequence(model, n, 20 + n) for n in (4, 1, 3)]
    paths = model.sample_posterior(xs, N_DRAWS, seed=3)
    assert isinstance(paths, list) and [p.shape for p in paths] == [(N_DRAWS, 4), (N_DRAWS, 1),
                                                                   (N_DRAWS, 3)]  # fmt: skip
    for x, drawn in zip(xs, paths, strict=True):
        probs = path_probabilities(*logs(model), log_lik_of(model, x))
        assert chi_square_p_value(drawn, probs, 3) > 1e-3
    # The kernel function's concatenated form holds the same paths, sequence b on its columns.
    lik = np.concatenate([log_lik_of(model, x) for x in xs])
    flat = kernels.sample_posterior(*logs(model), lik, N_DRAWS, offsets=[0, 4, 5, 8], seed=3)
    np.testing.assert_array_equal(np.concatenate(paths, axis=1), flat)


def test_same_seed_same_paths_and_kernel_equals_method():
    model = casino()
    x = possible_sequence(model, 50, 0)
    a = model.sample_posterior(x, 30, seed=123)
    np.testing.assert_array_equal(a, model.sample_posterior(x, 30, seed=123))
    assert not np.array_equal(a, model.sample_posterior(x, 30, seed=124))
    np.testing.assert_array_equal(
        a, kernels.sample_posterior(*logs(model), log_lik_of(model, x), 30, seed=123)
    )
    gen = np.random.default_rng(123)
    np.testing.assert_array_equal(a, model.sample_posterior(x, 30, seed=gen))


def test_first_sequence_of_a_batch_gets_the_paths_of_a_call_on_it_alone():
    rng = np.random.default_rng(10)
    for n_states in (2, 3):
        model = random_categorical(rng, n_states, 3)
        xs = [possible_sequence(model, n, n) for n in (40, 7)]
        batch = model.sample_posterior(xs, 50, seed=5)
        np.testing.assert_array_equal(batch[0], model.sample_posterior(xs[0], 50, seed=5))


def test_the_generator_is_uniform_and_independent_across_steps():
    # The in-kernel generator, through the sampler: a one-state-per-step chain whose every
    # step is an independent fair coin (K = 2), and a fair die (K = 6, the general path).
    for n_states in (2, 6):
        uniform = np.full(n_states, 1 / n_states)
        model = CategoricalHMM(uniform, np.tile(uniform, (n_states, 1)), np.ones((n_states, 1)))
        paths = model.sample_posterior([0] * 1000, 200, seed=9).ravel()
        counts = np.bincount(paths, minlength=n_states)
        assert stats.chisquare(counts).pvalue > 1e-3
        pairs = np.bincount(paths[:-1] * n_states + paths[1:], minlength=n_states**2)
        assert stats.chisquare(pairs).pvalue > 1e-3


def test_one_state_and_one_step():
    model = CategoricalHMM([1.0], [[1.0]], [[0.5, 0.5]])
    assert model.sample_posterior([1, 0, 1], 4, seed=0).tolist() == [[0, 0, 0]] * 4
    m = casino()
    drawn = m.sample_posterior([5], 20_000, seed=0)
    assert drawn.shape == (20_000, 1)
    assert abs(drawn.mean() - m.posterior([5])[0, 1]) < 0.015


@pytest.mark.parametrize("n_states", [2, 3])
def test_long_sequence_is_stable(n_states):
    # T = 10⁶: raw probabilities would underflow within a thousand steps.
    if n_states == 2:
        model = casino()
    else:
        model = CategoricalHMM([1 / 3] * 3, [[0.9, 0.1, 0.0], [0.05, 0.9, 0.05], [0.1, 0.0, 0.9]],
                               [[0.5, 0.3, 0.2], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])  # fmt: skip
    _, x = model.sample(1_000_000, seed=0)
    # (not seed 0: sample() drew the states and symbols from those very uniforms)
    paths = model.sample_posterior(x, 2, seed=1)
    assert paths.shape == (2, 1_000_000) and set(np.unique(paths)) <= set(range(n_states))
    assert (model.trans[paths[:, :-1], paths[:, 1:]] > 0).all()
    # The time-averaged share of each state matches the posterior's, path by path.
    share = model.posterior(x).mean(axis=0)
    for path in paths:
        assert np.abs(np.bincount(path, minlength=n_states) / path.shape[0] - share).max() < 0.01


@settings(max_examples=40, deadline=None)
@given(
    n_states=st.integers(1, 4),
    n_steps=st.integers(1, 5),
    zero_fraction=st.sampled_from([0.0, 0.3, 0.5]),
    seed=st.integers(0, 2**32 - 1),
)
def test_drawn_paths_always_have_positive_probability(n_states, n_steps, zero_fraction, seed):
    rng = np.random.default_rng(seed)
    model = random_categorical(rng, n_states, 3, zero_fraction)
    x = possible_sequence(model, n_steps, seed)
    probs = path_probabilities(*logs(model), log_lik_of(model, x))
    paths = model.sample_posterior(x, 500, seed=seed)
    assert (probs[path_index(paths, n_states)] > 0).all()
    freq = np.bincount(path_index(paths, n_states), minlength=probs.shape[0]) / 500
    assert np.abs(freq - probs).max() < 0.1  # loose: 500 draws (the chi-square tests are tight)


# -- every family, with missing observations -------------------------------------------------


def chain(rng, n_states):
    trans = rng.dirichlet(np.full(n_states, 2.0), n_states)
    trans[0, -1] = 0.0  # a structural zero
    return rng.dirichlet(np.ones(n_states)), trans / trans.sum(axis=1, keepdims=True)


def families(rng):
    start, trans = chain(rng, 3)
    gaussian = GaussianHMM(start, trans, [[0.0, 0.0], [1.5, 0.0], [0.0, 2.0]],
                           [1.0, 0.6, 0.8], "spherical")  # fmt: skip
    gmm = GMMHMM(start, trans, [[0.5, 0.5], [0.3, 0.7], [1.0, 0.0]],
                 [[[-1.0], [1.0]], [[2.0], [3.0]], [[0.0], [0.0]]],
                 [[1.0, 1.0], [0.5, 0.5], [2.0, 2.0]], "spherical")  # fmt: skip
    poisson = PoissonHMM(start, trans, [[1.0], [4.0], [9.0]])
    bernoulli = BernoulliHMM(start, trans, [[0.1, 0.9], [0.8, 0.5], [0.5, 0.1]])
    return {
        "gaussian": (gaussian, [[0.1, 0.2], [np.nan, np.nan], [1.2, np.nan], [0.0, 1.9]]),
        "gmm": (gmm, [[2.5], [np.nan], [0.1], [-0.8]]),
        "poisson": (poisson, [[3.0], [np.nan], [8.0], [0.0]]),
        "bernoulli": (bernoulli, [[1, 1], [np.nan, np.nan], [0, np.nan], [1, 0]]),
        "categorical": (
            CategoricalHMM(start, trans, [[0.7, 0.3], [0.2, 0.8], [0.5, 0.5]]),
            [0, -1, 1, 1],
        ),  # fmt: skip
    }


@pytest.mark.parametrize("family", ["gaussian", "gmm", "poisson", "bernoulli", "categorical"])
def test_every_family_samples_exactly_with_missing_values(family):
    model, x = families(np.random.default_rng(11))[family]
    probs = path_probabilities(*logs(model), log_lik_of(model, x))
    paths = model.sample_posterior(x, N_DRAWS, seed=1)
    assert paths.shape == (N_DRAWS, 4)
    assert chi_square_p_value(paths, probs, 3) > 1e-3
    assert (model.trans[paths[:, :-1], paths[:, 1:]] > 0).all()
    batch = model.sample_posterior([x, x[:2]], 10, seed=1)
    assert [b.shape for b in batch] == [(10, 4), (10, 2)]


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_samples", "error", "match"),
    [
        (0, ValueError, "n_samples must be >= 1, got 0"),
        (-3, ValueError, "n_samples must be >= 1"),
        (2.5, TypeError, "n_samples must be an integer"),
        (True, TypeError, "n_samples must be an integer"),
        ("10", TypeError, "n_samples must be an integer"),
        (None, TypeError, "n_samples must be an integer"),
        (np.int64(2), None, None),
        (10**12, ValueError, "n_samples = 1000000000000 paths .* above the limit of 2\\*\\*28"),
    ],
)
def test_bad_n_samples_is_refused_up_front(n_samples, error, match):
    if error is None:  # a numpy integer is fine
        assert casino().sample_posterior([0, 5, 5], n_samples).shape == (2, 3)
        return
    with pytest.raises(error, match=match):
        casino().sample_posterior([0, 5, 5], n_samples)
    with pytest.raises(error, match=match):
        kernels.sample_posterior(*logs(casino()), np.zeros((3, 2)), n_samples)


def test_memory_limit_counts_every_step_of_a_batch():
    xs = [[0] * 1000] * 3  # 3000 steps: 2**28 // 3000 + 1 samples are too many
    limit = sampling.MAX_PATH_ENTRIES // 3000
    with pytest.raises(ValueError, match="above the limit"):
        casino().sample_posterior(xs, limit + 1)


@pytest.mark.parametrize(
    ("seed", "error", "match"),
    [
        (-1, ValueError, "seed must be >= 0"),
        (1.5, TypeError, "seed must be an integer"),
        (2**32, ValueError, "seed must be <="),
    ],  # fmt: skip
)
def test_bad_seed(seed, error, match):
    with pytest.raises(error, match=match):
        casino().sample_posterior([0, 1], 2, seed=seed)


def test_impossible_sequence_and_bad_symbols_are_named():
    model = CategoricalHMM([1.0, 0.0], [[0.0, 1.0], [0.0, 1.0]], [[1.0, 0.0], [0.5, 0.5]])
    with pytest.raises(ValueError, match="the sequence has probability 0"):
        model.sample_posterior([1, 1], 5)
    with pytest.raises(ValueError, match="sequence 1 has probability 0"):
        model.sample_posterior([[0, 1], [1, 1]], 5)
    with pytest.raises(ValueError, match="symbol 7 at position 1"):
        casino().sample_posterior([0, 7], 5)
    with pytest.raises(ValueError, match="empty"):
        casino().sample_posterior([], 5)


def test_kernel_function_validates_its_arrays():
    log_start, log_trans = logs(casino())
    with pytest.raises(ValueError, match="log_lik must have shape \\(T, 2\\)"):
        kernels.sample_posterior(log_start, log_trans, np.zeros((3, 3)), 2)
    with pytest.raises(ValueError, match="log_lik contains NaN"):
        kernels.sample_posterior(log_start, log_trans, np.full((3, 2), np.nan), 2)
    with pytest.raises(ValueError, match="offsets must start at 0"):
        kernels.sample_posterior(log_start, log_trans, np.zeros((3, 2)), 2, offsets=[0, 2])
