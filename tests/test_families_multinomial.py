"""MultinomialHMM: against CategoricalHMM (one trial), a hand-written log-pmf, and hmmlearn."""

import math

import numpy as np
import pytest

from pirho.hmm import CategoricalHMM, em
from pirho.hmm import sklearn as pirho_hmm
from pirho.hmm.families import MultinomialHMM
from pirho.hmm.fitting.em_loop import EMMonitor

hmmlearn_hmm = pytest.importorskip("hmmlearn.hmm")

START, TRANS = [0.6, 0.4], [[0.8, 0.2], [0.3, 0.7]]
PROBS = [[0.5, 0.3, 0.2, 0.0], [0.1, 0.1, 0.4, 0.4]]


def test_one_trial_is_the_categorical_model():
    multinomial = MultinomialHMM(START, TRANS, PROBS)
    categorical = CategoricalHMM(START, TRANS, PROBS)
    symbols = np.array([0, 2, 2, 3, 1, 0])
    one_hot = np.eye(4)[symbols]
    assert multinomial.log_likelihood(one_hot) == pytest.approx(
        categorical.log_likelihood(symbols), rel=1e-12
    )
    np.testing.assert_allclose(multinomial.posterior(one_hot), categorical.posterior(symbols),
                               rtol=1e-10)  # fmt: skip


def test_log_pmf_matches_the_formula_and_zero_probabilities_are_impossible():
    model = MultinomialHMM([1.0, 0.0], [[1.0, 0.0], [0.0, 1.0]], PROBS)
    counts = np.array([[3.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 2.0]])
    log_lik = model.emission_log_likelihood(counts)
    for t, row in enumerate(counts):
        for k, probs in enumerate(PROBS):
            if any(c > 0 and p == 0 for c, p in zip(row, probs, strict=True)):
                assert log_lik[t, k] == -np.inf
                continue
            expected = math.lgamma(row.sum() + 1) + sum(
                c * math.log(p) - math.lgamma(c + 1)
                for c, p in zip(row, probs, strict=True) if c > 0
            )  # fmt: skip
            assert log_lik[t, k] == pytest.approx(expected, rel=1e-12)


def test_em_is_monotone_and_keeps_the_zero():
    truth = MultinomialHMM(START, TRANS, PROBS, n_trials=6)
    _, x = truth.sample(400, seed=0)
    assert (x.sum(axis=1) == 6).all()
    start = MultinomialHMM(START, TRANS, [[0.4, 0.3, 0.3, 0.0], [0.25, 0.25, 0.25, 0.25]])
    result = em(start, x, n_iter=30, monitor=EMMonitor(0.0, guard=False))
    assert np.all(np.diff(result.history) >= -1e-12 * np.abs(result.history[:-1]))
    assert result.model.probs[0, 3] == 0.0
    np.testing.assert_allclose(result.model.probs, PROBS, atol=0.06)


def test_estimator_gives_hmmlearns_numbers():
    rng = np.random.default_rng(1)
    X = rng.multinomial(5, [0.4, 0.3, 0.2, 0.1], size=60)
    models = []
    for module in (pirho_hmm, hmmlearn_hmm):
        model = module.MultinomialHMM(2, n_trials=5, n_iter=8, init_params="", tol=-1)
        model.startprob_, model.transmat_ = np.array(START), np.array(TRANS)
        model.emissionprob_ = np.array([[0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]])
        models.append(model)
    ours, theirs = models
    assert ours.score(X) == pytest.approx(theirs.score(X), rel=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-9)
    ours.fit(X)
    theirs.fit(X)
    np.testing.assert_allclose(ours.emissionprob_, theirs.emissionprob_, rtol=1e-8)
    np.testing.assert_allclose(ours.transmat_, theirs.transmat_, rtol=1e-8)
    np.testing.assert_allclose(ours.monitor_.history, theirs.monitor_.history, rtol=1e-10)
    with pytest.raises(ValueError, match="sums to 4, not n_trials"):
        ours.score(np.array([[1, 1, 1, 1], [2, 1, 1, 1]]))
