"""GaussianHMM against hmmlearn 0.3.3 (same parameters): scores, posteriors, Viterbi and EM."""

import itertools

import numpy as np
import pytest

from pirho.hmm import GaussianHMM, em

hmmlearn_hmm = pytest.importorskip("hmmlearn.hmm")

TYPES = ("full", "diag", "spherical", "tied")


def random_gaussian(covariance_type, n_states=3, n_features=2, seed=0):
    rng = np.random.default_rng(seed)
    start = rng.dirichlet(np.ones(n_states))
    trans = rng.dirichlet(np.full(n_states, 3.0), n_states)
    means = rng.normal(size=(n_states, n_features)) * 3
    factor = rng.normal(size=(n_states, n_features, n_features))
    full = factor @ factor.transpose(0, 2, 1) + np.eye(n_features)
    covars = {
        "full": full,
        "diag": rng.uniform(0.5, 2.0, (n_states, n_features)),
        "spherical": rng.uniform(0.5, 2.0, n_states),
        "tied": full[0],
    }[covariance_type]
    return GaussianHMM(start, trans, means, covars, covariance_type)


def as_hmmlearn(model, **options):
    peer = hmmlearn_hmm.GaussianHMM(
        model.n_states, covariance_type=model.covariance_type, implementation="scaling", **options
    )
    peer.startprob_ = np.array(model.start)
    peer.transmat_ = np.array(model.trans)
    peer.means_ = np.array(model.means)
    peer.covars_ = np.array(model.covars)
    return peer


@pytest.mark.parametrize("covariance_type", TYPES)
def test_inference_matches_hmmlearn(covariance_type):
    model = random_gaussian(covariance_type, n_features=3, seed=1)
    peer = as_hmmlearn(model)
    xs = [model.sample(n, seed=s)[1] for s, n in ((1, 200), (2, 57))]
    flat, lengths = np.concatenate(xs), [200, 57]
    ll = model.log_likelihood(xs)
    np.testing.assert_allclose(ll.sum(), peer.score(flat, lengths), rtol=1e-9)
    np.testing.assert_allclose(ll[1], peer.score(xs[1]), rtol=1e-9)
    score, post = peer.score_samples(flat, lengths)
    np.testing.assert_allclose(np.concatenate(model.posterior(xs)), post, rtol=1e-9, atol=1e-12)
    log_prob, path = peer.decode(xs[0])
    mine = model.viterbi(xs[0])
    np.testing.assert_array_equal(mine.path, path)
    np.testing.assert_allclose(mine.log_prob, log_prob, rtol=1e-9)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_em_matches_hmmlearn_from_the_same_start(covariance_type):
    model = random_gaussian(covariance_type, seed=2)
    xs = [model.sample(n, seed=s)[1] for s, n in ((3, 300), (4, 150))]
    # hmmlearn's M-step adds covars_prior (1e-2) to the scatter; 0 gives the plain MLE.
    peer = as_hmmlearn(model, init_params="", params="stmc", n_iter=6, tol=-np.inf,
                       covars_prior=0.0)  # fmt: skip
    peer.fit(np.concatenate(xs), [300, 150])
    result = em(model, xs, n_iter=6, tol=0.0)
    assert result.n_iter == 6
    fitted = result.model
    np.testing.assert_allclose(fitted.start, peer.startprob_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fitted.trans, peer.transmat_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fitted.means, peer.means_, rtol=1e-6, atol=1e-9)
    peer_covars = peer._covars_[:, 0] if covariance_type == "spherical" else peer._covars_
    np.testing.assert_allclose(fitted.covars, peer_covars, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(result.history[:-1], peer.monitor_.history, rtol=1e-9)


def test_full_covars_and_sampling_moments():
    model = random_gaussian("full", n_states=1, n_features=3, seed=3)
    _, x = model.sample(40_000, seed=0)
    np.testing.assert_allclose(x.mean(axis=0), model.means[0], atol=0.05)
    np.testing.assert_allclose(np.cov(x.T), model.full_covars()[0], rtol=0.05, atol=0.05)


def test_one_dimensional_input_is_one_sequence():
    model = random_gaussian("spherical", n_features=1, seed=4)
    x = [0.1, 2.0, -1.0]
    assert model.log_likelihood(x) == pytest.approx(model.log_likelihood(np.array(x)[:, None]))
    # the posterior of the (T,) input, against all K^T = 27 paths with the density written out
    variances = np.asarray(model.covars).reshape(-1)
    log_density = -0.5 * (
        np.log(2 * np.pi * variances) + (np.array(x)[:, None] - model.means[:, 0]) ** 2 / variances
    )
    weights = np.zeros((3, 3))
    for path in itertools.product(range(3), repeat=3):
        steps = zip(path[:-1], path[1:], strict=True)
        log_p = np.log(model.start[path[0]]) + sum(np.log(model.trans[a, b]) for a, b in steps)
        p = np.exp(log_p + log_density[np.arange(3), path].sum())
        weights[np.arange(3), path] += p
    np.testing.assert_allclose(model.posterior(x), weights / weights.sum(1, keepdims=True),
                               rtol=1e-10)  # fmt: skip


def test_save_load_round_trip(tmp_path):
    for covariance_type in TYPES:
        model = random_gaussian(covariance_type, seed=5)
        model.save(tmp_path / "m.json")
        loaded = GaussianHMM.load(tmp_path / "m.json")
        assert loaded.covariance_type == covariance_type
        np.testing.assert_array_equal(loaded.covars, model.covars)
        np.testing.assert_array_equal(loaded.means, model.means)
