"""PoissonHMM against hmmlearn 0.3.3; BernoulliHMM against the equivalent CategoricalHMM."""

import itertools

import numpy as np
import pytest

from pirho.hmm import BernoulliHMM, CategoricalHMM, PoissonHMM, em

hmmlearn_hmm = pytest.importorskip("hmmlearn.hmm")


def random_chain(n_states, rng):
    return rng.dirichlet(np.ones(n_states)), rng.dirichlet(np.full(n_states, 3.0), n_states)


def test_poisson_inference_matches_hmmlearn():
    rng = np.random.default_rng(0)
    start, trans = random_chain(3, rng)
    model = PoissonHMM(start, trans, rng.uniform(0.5, 8.0, (3, 2)))
    peer = hmmlearn_hmm.PoissonHMM(3, implementation="scaling")
    peer.startprob_, peer.transmat_, peer.lambdas_ = start, trans, np.array(model.rates)
    xs = [model.sample(n, seed=s)[1] for s, n in ((1, 150), (2, 80))]
    flat = np.concatenate(xs).astype(np.int64)
    np.testing.assert_allclose(model.log_likelihood(xs).sum(), peer.score(flat, [150, 80]),
                               rtol=1e-9)  # fmt: skip
    np.testing.assert_allclose(
        np.concatenate(model.posterior(xs)), peer.predict_proba(flat, [150, 80]), atol=1e-12
    )
    log_prob, path = peer.decode(flat[:150])
    np.testing.assert_array_equal(model.viterbi(xs[0]).path, path)
    np.testing.assert_allclose(model.viterbi(xs[0]).log_prob, log_prob, rtol=1e-9)


def test_poisson_em_matches_hmmlearn():
    rng = np.random.default_rng(1)
    start, trans = random_chain(3, rng)
    model = PoissonHMM(start, trans, rng.uniform(0.5, 8.0, (3, 2)))
    xs = [model.sample(n, seed=s)[1] for s, n in ((3, 300), (4, 100))]
    peer = hmmlearn_hmm.PoissonHMM(3, init_params="", n_iter=6, tol=-np.inf,
                                   implementation="scaling")  # fmt: skip
    peer.startprob_, peer.transmat_, peer.lambdas_ = start, trans, np.array(model.rates)
    peer.fit(np.concatenate(xs).astype(np.int64), [300, 100])
    result = em(model, xs, n_iter=6, tol=0.0)
    np.testing.assert_allclose(result.model.rates, peer.lambdas_, rtol=1e-6)
    np.testing.assert_allclose(result.model.trans, peer.transmat_, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(result.model.start, peer.startprob_, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(result.history[:-1], peer.monitor_.history, rtol=1e-9)


def bernoulli_as_categorical(model):
    """The same HMM over the 2^D bit patterns (symbol = the pattern read as binary)."""
    patterns = np.array(list(itertools.product((0, 1), repeat=model.n_features)))
    probs = np.array(model.probs)
    emit = np.prod(np.where(patterns[None], probs[:, None], 1 - probs[:, None]), axis=2)
    codes = 2 ** np.arange(model.n_features)[::-1]
    return CategoricalHMM(model.start, model.trans, emit), codes


def test_bernoulli_equals_categorical_over_bit_patterns():
    rng = np.random.default_rng(2)
    start, trans = random_chain(3, rng)
    model = BernoulliHMM(start, trans, rng.uniform(0.05, 0.95, (3, 3)))
    peer, codes = bernoulli_as_categorical(model)
    _, x = model.sample(200, seed=5)
    symbols = (x @ codes).astype(np.int64)
    assert model.log_likelihood(x) == pytest.approx(peer.log_likelihood(symbols), rel=1e-12)
    np.testing.assert_allclose(model.posterior(x), peer.posterior(symbols), atol=1e-12)
    np.testing.assert_allclose(model.filter(x), peer.filter(symbols), atol=1e-12)
    np.testing.assert_array_equal(model.viterbi(x).path, peer.viterbi(symbols).path)


def test_bernoulli_em_equals_categorical_em_for_one_feature():
    rng = np.random.default_rng(3)
    start, trans = random_chain(2, rng)
    model = BernoulliHMM(start, trans, [[0.2], [0.7]])
    _, x = model.sample(400, seed=6)
    mine = em(model, x, n_iter=5, tol=0.0).model
    peer = em(bernoulli_as_categorical(model)[0], x.ravel().astype(np.int64), n_iter=5, tol=0.0)
    np.testing.assert_allclose(mine.probs[:, 0], peer.model.emit[:, 1], rtol=1e-10)
    np.testing.assert_allclose(mine.trans, peer.model.trans, rtol=1e-10)


def test_categorical_em_matches_hmmlearn():
    rng = np.random.default_rng(4)
    start, trans = random_chain(3, rng)
    emit = rng.dirichlet(np.ones(4), 3)
    model = CategoricalHMM(start, trans, emit)
    xs = [model.sample(n, seed=s)[1] for s, n in ((7, 250), (8, 90))]
    peer = hmmlearn_hmm.CategoricalHMM(3, init_params="", n_iter=6, tol=-np.inf,
                                       implementation="scaling")  # fmt: skip
    peer.startprob_, peer.transmat_, peer.emissionprob_ = start, trans, emit
    peer.fit(np.concatenate(xs)[:, None], [250, 90])
    result = em(model, xs, n_iter=6, tol=0.0)
    np.testing.assert_allclose(result.model.emit, peer.emissionprob_, rtol=1e-6)
    np.testing.assert_allclose(result.model.trans, peer.transmat_, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(result.history[:-1], peer.monitor_.history, rtol=1e-9)


def test_zero_rate_and_certain_bits_are_exact_structural_zeros():
    poisson = PoissonHMM([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], [[0.0], [2.0]])
    post = poisson.posterior([0, 3, 0])
    assert post[1].tolist() == [0.0, 1.0]
    assert np.isfinite(poisson.log_likelihood([0, 0]))
    bern = BernoulliHMM([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], [[0.0], [1.0]])
    assert bern.posterior([0, 1]).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert bern.log_likelihood([0, 1]) == pytest.approx(np.log(0.25))
