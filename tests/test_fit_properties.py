"""Properties of the families and EM, checked against enumeration of every hidden path."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pirho.hmm import (
    GMMHMM,
    BernoulliHMM,
    CategoricalHMM,
    GaussianHMM,
    PoissonHMM,
    em,
    n_parameters,
)
from pirho.hmm.fitting.em_loop import EMMonitor

FAMILIES = ("gaussian-full", "gaussian-diag", "gmm", "poisson", "bernoulli", "categorical")


def random_model(family, n_states, rng, n_features=2):
    start = rng.dirichlet(np.ones(n_states))
    trans = rng.dirichlet(np.ones(n_states), n_states)
    if family == "gaussian-full":
        factor = rng.normal(size=(n_states, n_features, n_features))
        covars = factor @ factor.transpose(0, 2, 1) + np.eye(n_features)
        return GaussianHMM(start, trans, rng.normal(size=(n_states, n_features)), covars)
    if family == "gaussian-diag":
        covars = rng.uniform(0.5, 2.0, (n_states, n_features))
        return GaussianHMM(start, trans, rng.normal(size=(n_states, n_features)), covars, "diag")
    if family == "gmm":
        means = rng.normal(size=(n_states, 2, n_features))
        covars = rng.uniform(0.5, 2.0, (n_states, 2, n_features))
        weights = rng.dirichlet(np.ones(2), n_states)
        return GMMHMM(start, trans, weights, means, covars, "diag")
    if family == "poisson":
        return PoissonHMM(start, trans, rng.uniform(0.5, 5.0, (n_states, n_features)))
    if family == "bernoulli":
        return BernoulliHMM(start, trans, rng.uniform(0.1, 0.9, (n_states, n_features)))
    return CategoricalHMM(start, trans, rng.dirichlet(np.ones(3), n_states))


def emission_matrix(model, x):
    """(T, K) log P(x_t | k) of complete observations, computed per row (no missing logic)."""
    if isinstance(model, CategoricalHMM):
        with np.errstate(divide="ignore"):
            return np.log(model.emit.T[np.asarray(x)])
    return np.vstack([model.emission_log_likelihood(row[None]) for row in np.asarray(x)])


def enumerate_paths(model, log_emission):
    """Brute force over all K^T paths: (log P(x), posterior (T, K), best log P(x, path))."""
    n_steps, n_states = log_emission.shape
    with np.errstate(divide="ignore"):
        log_start, log_trans = np.log(model.start), np.log(model.trans)
    paths = np.array(list(itertools.product(range(n_states), repeat=n_steps)))
    steps = np.arange(n_steps)
    log_joint = log_start[paths[:, 0]] + log_emission[steps, paths].sum(axis=1)
    log_joint += log_trans[paths[:, :-1], paths[:, 1:]].sum(axis=1)
    top = log_joint.max()
    weights = np.exp(log_joint - top)
    total = weights.sum()
    posterior = np.zeros((n_steps, n_states))
    for t in range(n_steps):
        np.add.at(posterior[t], paths[:, t], weights / total)
    return top + np.log(total), posterior, top


@settings(max_examples=30)
@given(
    family=st.sampled_from(FAMILIES),
    n_states=st.integers(1, 3),
    n_steps=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_missing_step_has_likelihood_one(family, n_states, n_steps, seed):
    rng = np.random.default_rng(seed)
    model = random_model(family, n_states, rng)
    _, x = model.sample(n_steps, seed=seed)
    missing = rng.random(n_steps) < 0.4
    log_emission = emission_matrix(model, x)
    log_emission[missing] = 0.0  # the step's emission removed
    expected_ll, expected_post, expected_best = enumerate_paths(model, log_emission)
    x_missing = np.array(x, dtype=np.int64 if family == "categorical" else np.float64)
    x_missing[missing] = -1 if family == "categorical" else np.nan
    assert model.log_likelihood(x_missing) == pytest.approx(expected_ll, rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(model.posterior(x_missing), expected_post, atol=1e-9)
    assert model.viterbi(x_missing).log_prob == pytest.approx(expected_best, rel=1e-9, abs=1e-12)


@settings(max_examples=20)
@given(family=st.sampled_from(FAMILIES), n_states=st.integers(2, 3), seed=st.integers(0, 2**16))
def test_em_history_never_decreases_and_clamped_labels_hold(family, n_states, seed):
    rng = np.random.default_rng(seed)
    model = random_model(family, n_states, rng)
    xs = [model.sample(n, seed=seed + i)[1] for i, n in enumerate((5, 4))]
    labels = [np.where(rng.random(len(x)) < 0.5, rng.integers(0, n_states, len(x)), -1)
              for x in xs]  # fmt: skip
    result = em(model, xs, labels=labels, n_iter=8, monitor=EMMonitor(0.0, guard=False))
    # the guard is off: a real decrease fails here; round-off at the optimum may not
    assert np.all(np.diff(result.history) >= -1e-12 * np.abs(result.history[:-1]))
    assert result.n_iter <= 8
    # The history is log P(x, path agrees with the labels): enumerate the agreeing paths.
    total = 0.0
    for x, lab in zip(xs, labels, strict=True):
        log_emission = emission_matrix(result.model, x)
        log_emission[(lab[:, None] >= 0) & (np.arange(n_states)[None] != lab[:, None])] = -np.inf
        ll, post, _ = enumerate_paths(result.model, log_emission)
        total += ll
        known = lab >= 0
        np.testing.assert_array_equal(post[known].argmax(axis=1), lab[known])
        np.testing.assert_allclose(post[known].max(axis=1), 1.0)
    assert result.history[-1] == pytest.approx(total, rel=1e-9)


@pytest.mark.parametrize("family", FAMILIES)
def test_structural_zeros_survive_em(family):
    rng = np.random.default_rng(7)
    base = random_model(family, 3, rng)
    start = [1.0, 0.0, 0.0]
    trans = [[0.8, 0.2, 0.0], [0.0, 0.7, 0.3], [0.0, 0.0, 1.0]]  # left-right
    model = type(base)(start, trans, **base._emission_params())
    xs = [model.sample(n, seed=s)[1] for s, n in ((1, 60), (2, 40))]
    result = em(model, xs, n_iter=10, monitor=EMMonitor(0.0, guard=False))
    zeros = np.array(trans) == 0
    assert (result.model.trans[zeros] == 0).all()
    assert (result.model.start[1:] == 0).all()
    # the guard is off: a real decrease fails here; round-off at the optimum may not
    assert np.all(np.diff(result.history) >= -1e-12 * np.abs(result.history[:-1]))


def test_parameter_counts_by_hand():
    k, d = 3, 2
    start, trans = np.full(k, 1 / k), np.full((k, k), 1 / k)
    chain = (k - 1) + k * (k - 1)  # 2 + 6
    means = np.zeros((k, d))
    assert n_parameters(GaussianHMM(start, trans, means, np.ones(k), "spherical")) == chain + 6 + 3
    assert n_parameters(GaussianHMM(start, trans, means, np.ones((k, d)), "diag")) == chain + 6 + 6
    full = np.repeat(np.eye(d)[None], k, axis=0)
    assert n_parameters(GaussianHMM(start, trans, means, full, "full")) == chain + 6 + 9
    assert n_parameters(GaussianHMM(start, trans, means, np.eye(d), "tied")) == chain + 6 + 3
    weights = np.full((k, 2), 0.5)
    gmm_means = np.zeros((k, 2, d))
    # GMM: K(M − 1) weights + K·M·D means + covariances (tied: one D×D per state)
    assert n_parameters(GMMHMM(start, trans, weights, gmm_means, np.ones((k, 2)),
                               "spherical")) == chain + 3 + 12 + 6  # fmt: skip
    assert (
        n_parameters(GMMHMM(start, trans, weights, gmm_means, full, "tied")) == chain + 3 + 12 + 9
    )
    assert n_parameters(PoissonHMM(start, trans, np.ones((k, d)))) == chain + 6
    assert n_parameters(BernoulliHMM(start, trans, np.full((k, d), 0.5))) == chain + 6
    emit = [[0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [1.0, 0.0, 0.0]]  # zeros are not free
    assert n_parameters(CategoricalHMM(start, trans, emit)) == chain + 1 + 2 + 0
    left_right = [[0.8, 0.2, 0.0], [0.0, 0.7, 0.3], [0.0, 0.0, 1.0]]
    # start [1, 0, 0]: 0 free; trans rows: 1 + 1 + 0 free
    assert n_parameters(PoissonHMM([1.0, 0.0, 0.0], left_right, np.ones((k, d)))) == 2 + 6
