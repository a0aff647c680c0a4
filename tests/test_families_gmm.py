"""GMMHMM against hmmlearn 0.3.3: scores, posteriors, Viterbi and EM from the same start."""

import numpy as np
import pytest

from pirho.hmm import GMMHMM, em

hmmlearn_hmm = pytest.importorskip("hmmlearn.hmm")

TYPES = ("full", "diag", "spherical", "tied")
K, M, D = 3, 2, 2


def random_gmm(covariance_type, seed):
    rng = np.random.default_rng(seed)
    start, trans = rng.dirichlet(np.ones(K)), rng.dirichlet(np.full(K, 3.0), K)
    factor = rng.normal(size=(K, M, D, D))
    full = factor @ factor.transpose(0, 1, 3, 2) + np.eye(D)
    covars = {
        "full": full,
        "diag": rng.uniform(0.5, 2.0, (K, M, D)),
        "spherical": rng.uniform(0.5, 2.0, (K, M)),
        "tied": full[:, 0],
    }[covariance_type]
    weights = rng.dirichlet(np.ones(M), K)
    return GMMHMM(start, trans, weights, rng.normal(size=(K, M, D)) * 3, covars, covariance_type)


# hmmlearn's GMM M-step is a posterior mode under (inverse-)Wishart/gamma priors; these
# values make it the plain maximum-likelihood update (see its _do_mstep denominators).
MLE_PRIORS = {
    "full": dict(covars_prior=np.zeros((K, M, D, D)), covars_weight=np.full((K, M), -(D + 2.0))),
    "diag": dict(covars_prior=np.full((K, M, D), -1.5), covars_weight=np.zeros((K, M, D))),
    "spherical": dict(covars_prior=np.full((K, M), -(D + 2) / 2), covars_weight=np.zeros((K, M))),
    "tied": dict(covars_prior=np.zeros((K, D, D)), covars_weight=np.full(K, -(M + D + 1.0))),
}


def as_hmmlearn(model, **options):
    peer = hmmlearn_hmm.GMMHMM(K, n_mix=M, covariance_type=model.covariance_type,
                               implementation="scaling", init_params="",
                               **MLE_PRIORS[model.covariance_type], **options)  # fmt: skip
    peer.startprob_, peer.transmat_ = np.array(model.start), np.array(model.trans)
    peer.weights_, peer.means_ = np.array(model.weights), np.array(model.means)
    peer.covars_ = np.array(model.covars)
    return peer


@pytest.mark.parametrize("covariance_type", TYPES)
def test_inference_matches_hmmlearn(covariance_type):
    model = random_gmm(covariance_type, seed=1)
    peer = as_hmmlearn(model)
    xs = [model.sample(n, seed=s)[1] for s, n in ((1, 150), (2, 60))]
    flat = np.concatenate(xs)
    np.testing.assert_allclose(model.log_likelihood(xs).sum(), peer.score(flat, [150, 60]),
                               rtol=1e-9)  # fmt: skip
    np.testing.assert_allclose(
        np.concatenate(model.posterior(xs)), peer.predict_proba(flat, [150, 60]), atol=1e-12
    )
    log_prob, path = peer.decode(xs[0])
    np.testing.assert_array_equal(model.viterbi(xs[0]).path, path)
    np.testing.assert_allclose(model.viterbi(xs[0]).log_prob, log_prob, rtol=1e-9)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_em_matches_hmmlearn(covariance_type):
    """With covariances fitted too, hmmlearn 0.3.3 centres the covariance scatter on the
    previous iteration's means (its E-step computes X − means_ before the M-step), so its
    covariance is ours plus the mean shift's outer product — checked exactly after one step.
    With covariances frozen every parameter agrees after several steps."""
    model = random_gmm(covariance_type, seed=2)
    xs = [model.sample(n, seed=s)[1] for s, n in ((3, 300), (4, 120))]
    flat, lengths = np.concatenate(xs), [300, 120]
    peer = as_hmmlearn(model, params="stwm", n_iter=5, tol=-np.inf).fit(flat, lengths)
    result = em(model, xs, params="stwm", n_iter=5, tol=0.0)
    np.testing.assert_allclose(result.model.means, peer.means_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(result.model.weights, peer.weights_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(result.model.trans, peer.transmat_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(result.history[:-1], peer.monitor_.history, rtol=1e-9)

    peer = as_hmmlearn(model, n_iter=1, tol=-np.inf).fit(flat, lengths)
    fitted = em(model, xs, n_iter=1, tol=0.0).model
    np.testing.assert_allclose(fitted.means, peer.means_, rtol=1e-6, atol=1e-9)
    shift = fitted.means - model.means
    outer = shift[..., :, None] * shift[..., None, :]
    extra = {
        "full": outer,
        "diag": shift**2,
        "spherical": (shift**2).mean(axis=-1),
        "tied": (fitted.weights[:, :, None, None] * outer).sum(axis=1),
    }[covariance_type]
    np.testing.assert_allclose(fitted.covars + extra, peer.covars_, rtol=1e-6, atol=1e-9)


def test_mixture_sampling_matches_weights():
    model = GMMHMM([1.0], [[1.0]], [[0.25, 0.75]], [[[-10.0], [10.0]]], [[1.0, 1.0]],
                   "spherical")  # fmt: skip
    _, x = model.sample(20_000, seed=0)
    assert (x > 0).mean() == pytest.approx(0.75, abs=0.01)
