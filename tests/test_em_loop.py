"""The one EM loop: its contract (n_iter, history, tol), structural zeros in every entry
point, additive statistics, the decrease guard, and baum_welch = em when the prior vanishes."""

import warnings

import numpy as np
import pytest

from pirho.hmm import (
    GMMHMM,
    BernoulliHMM,
    CategoricalHMM,
    GaussianHMM,
    PoissonHMM,
    baum_welch,
    casino,
    em,
    fit,
)
from pirho.hmm import sklearn as pirho_hmm
from pirho.hmm.base import ObservationBatch
from pirho.hmm.fitting.em_loop import EMMonitor, add_statistics, expected_statistics, run_em
from pirho.hmm.priors import EMPrior

BANDED_START = [0.7, 0.3, 0.0]
BANDED_TRANS = [[0.8, 0.2, 0.0], [0.0, 0.7, 0.3], [0.1, 0.0, 0.9]]


def zeros_kept(fitted, given) -> bool:
    """Every entry that is 0 in ``given`` is exactly 0 in ``fitted``."""
    return bool((np.asarray(fitted)[np.asarray(given) == 0] == 0).all())


def family_models():
    """One model of every family with structural zeros in start, trans and the emissions."""
    emit = [[0.5, 0.5, 0.0, 0.0], [0.0, 0.3, 0.7, 0.0], [0.2, 0.2, 0.2, 0.4]]
    return {
        "categorical": CategoricalHMM(BANDED_START, BANDED_TRANS, emit),
        "gaussian": GaussianHMM(
            BANDED_START, BANDED_TRANS, [[-2.0], [0.0], [3.0]], [1.0, 0.5, 2.0], "spherical"
        ),  # fmt: skip
        "poisson": PoissonHMM(BANDED_START, BANDED_TRANS, [[0.0, 1.0], [3.0, 2.0], [8.0, 0.5]]),
        "bernoulli": BernoulliHMM(
            BANDED_START, BANDED_TRANS, [[0.1, 0.9], [0.5, 0.5], [0.9, 0.2]]
        ),  # fmt: skip
        "gmm": GMMHMM(
            BANDED_START,
            BANDED_TRANS,
            [[0.5, 0.5], [1.0, 0.0], [0.3, 0.7]],
            [[[-3.0], [-1.0]], [[0.5], [0.0]], [[2.0], [4.0]]],
            [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]],
            "spherical",
        ),  # fmt: skip
    }


def perturbed(model, rng):
    """The same family and zero pattern, other nonzero values: EM has somewhere to go."""

    def jitter(p):
        p = np.where(np.asarray(p) > 0, np.asarray(p) * rng.uniform(0.5, 1.5, np.shape(p)), 0.0)
        return p / p.sum(axis=-1, keepdims=True)

    emission = model._emission_params()
    if "emit" in emission:
        emission["emit"] = jitter(emission["emit"])
    return model.with_parameters(jitter(model.start), jitter(model.trans), emission)


@pytest.mark.parametrize("family", list(family_models()))
def test_history_never_decreases_with_the_guard_off_and_zeros_stay(family):
    truth = family_models()[family]
    xs = [truth.sample(n, seed=s)[1] for s, n in enumerate([120, 80, 60])]
    start = perturbed(truth, np.random.default_rng(1))
    result = em(start, xs, n_iter=25, monitor=EMMonitor(-np.inf, guard=False))
    # guard off and tol = −inf: exactly n_iter M-steps, every step scored.
    assert result.history.shape == (26,) and result.n_iter == 25
    assert np.all(np.diff(result.history) >= -1e-9 * np.abs(result.history[:-1]))
    assert result.history[0] == pytest.approx(start.log_likelihood(xs).sum(), rel=1e-12)
    assert result.history[-1] == pytest.approx(result.model.log_likelihood(xs).sum(), rel=1e-12)
    assert zeros_kept(result.model.start, truth.start)
    assert zeros_kept(result.model.trans, truth.trans)
    if family == "categorical":
        assert zeros_kept(result.model.emit, truth.emit)


@pytest.mark.parametrize("family", list(family_models()))
def test_statistics_add_across_chunks(family):
    model = family_models()[family]
    xs = [model.sample(n, seed=s)[1] for s, n in enumerate([50, 30, 40])]
    whole = model._as_batch(xs)
    parts = [model._as_batch(xs[:2]), model._as_batch(xs[2:])]
    together = expected_statistics(model, whole.observations, whole.offsets)
    a, b = (expected_statistics(model, p.observations, p.offsets) for p in parts)
    summed = add_statistics(a, b)
    assert summed.log_likelihood == pytest.approx(together.log_likelihood, rel=1e-12)
    np.testing.assert_allclose(summed.trans, together.trans, rtol=1e-10, atol=1e-12)
    for key, value in together.emission.items():
        np.testing.assert_allclose(summed.emission[key], value, rtol=1e-9, atol=1e-9)


def test_baum_welch_keeps_structural_zeros_with_pseudocounts():
    truth = family_models()["categorical"]
    xs = [truth.sample(200, seed=s)[1] for s in range(3)]
    fitted = baum_welch(xs, 3, 4, init=perturbed(truth, np.random.default_rng(0)), n_iter=20)
    for got, given in ((fitted.model.start, truth.start), (fitted.model.trans, truth.trans),
                       (fitted.model.emit, truth.emit)):  # fmt: skip
        assert zeros_kept(got, given)  # exactly 0, not 3.6e-5 (and the rest stays positive)
        assert (got[np.asarray(given) > 0] > 0).all()


def test_baum_welch_without_pseudocount_is_em_from_the_same_start():
    truth = casino()
    _, rolls = truth.sample(2000, seed=3)
    start = CategoricalHMM([0.6, 0.4], [[0.7, 0.3], [0.2, 0.8]],
                           np.random.default_rng(0).dirichlet(np.ones(6), 2))  # fmt: skip
    bw = baum_welch(rolls, 2, 6, init=start, pseudocount=0.0, n_iter=30, tol=1e-8)
    ref = em(start, rolls, n_iter=30, tol=1e-8)
    np.testing.assert_allclose(bw.history, ref.history, rtol=1e-13)
    np.testing.assert_allclose(bw.model.trans, ref.model.trans, rtol=1e-12)
    np.testing.assert_allclose(bw.model.emit, ref.model.emit, rtol=1e-12)
    assert bw.n_iter == ref.n_iter and bw.converged == ref.converged


def test_the_guard_stops_a_decrease_and_without_it_the_decrease_shows():
    # A strong prior pulls the MAP step away from the likelihood's maximum: from the
    # maximum-likelihood fit, the first MAP step lowers the likelihood.
    _, rolls = casino().sample(500, seed=4)
    mle = em(casino(), rolls, n_iter=200, tol=1e-10).model
    prior = EMPrior(start=50.0, trans=50.0, emission=50.0)
    free = run_em(mle, rolls, prior=prior, n_iter=3, monitor=EMMonitor(-np.inf, guard=False))
    assert free.history[1] < free.history[0]
    guarded = run_em(mle, rolls, prior=prior, n_iter=3, monitor=EMMonitor(-np.inf))
    assert guarded.history.tolist() == [free.history[0]] and guarded.converged
    assert guarded.model is mle


def test_n_iter_zero_scores_the_start_only_everywhere():
    model = family_models()["poisson"]
    _, x = model.sample(50, seed=0)
    assert em(model, x, n_iter=0).history.shape == (1,)
    assert baum_welch([0, 1, 2], 3, 4, init=family_models()["categorical"], n_iter=0).n_iter == 0
    estimator = pirho_hmm.PoissonHMM(3, n_iter=0, random_state=0).fit(x)
    fresh = pirho_hmm.PoissonHMM(3, n_iter=1, random_state=0)
    fresh._init(*fresh._validate_X(x))
    np.testing.assert_array_equal(estimator.lambdas_, fresh.lambdas_)  # initialised only


def test_fit_keeps_structural_zeros_of_init_and_estimators_keep_theirs():
    truth = family_models()["gaussian"]
    _, x = truth.sample(300, seed=2)
    result = fit(x, init=perturbed(truth, np.random.default_rng(3)), n_iter=20)
    assert zeros_kept(result.model.trans, truth.trans)
    estimator = pirho_hmm.GaussianHMM(3, "spherical", init_params="mc", n_iter=20, tol=-1)
    estimator.startprob_, estimator.transmat_ = np.array(BANDED_START), np.array(BANDED_TRANS)
    estimator.fit(x)
    assert zeros_kept(estimator.transmat_, truth.trans)
    assert zeros_kept(estimator.startprob_, truth.start)


def test_unused_state_is_reported_not_left_as_a_zero_row():
    x = np.array([[0.0], [0.1], [5.0], [5.1]])
    model = pirho_hmm.GaussianHMM(2, n_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x)
    assert np.allclose(model.transmat_.sum(axis=1), 1.0)
    assert np.isfinite(model.score(x))  # its own score accepts the fitted model
    one_state_data = ObservationBatch(np.zeros((3, 1)), np.array([0, 3]), False)
    start = GaussianHMM([0.5, 0.5], [[1.0, 0.0], [0.0, 1.0]], [[0.0], [50.0]], [1.0, 1.0],
                        "spherical")  # fmt: skip
    with pytest.warns(RuntimeWarning, match=r"state\(s\) \[1\] have no expected transitions"):
        run_em(start, one_state_data, n_iter=2)


# -- errors that name the parameter (issue 22) ------------------------------------------------
def test_negative_prior_is_refused_up_front_naming_it():
    x = np.array([[0.0], [1.0], [5.0], [6.0]])
    with pytest.raises(ValueError, match=r"startprob_prior = -1.0 at index 0 must be finite"):
        pirho_hmm.GaussianHMM(2, startprob_prior=-1, random_state=0).fit(x)
    with pytest.raises(ValueError, match=r"lambdas_prior|transmat_prior = -2.0"):
        pirho_hmm.PoissonHMM(2, transmat_prior=-2.0, random_state=0).fit([[0], [3], [1]])


@pytest.mark.parametrize("name", ["GaussianHMM", "GMMHMM"])
def test_too_little_data_for_k_means_is_said_in_pirhos_words(name):
    estimator = getattr(pirho_hmm, name)
    with pytest.raises(ValueError, match=r"X has 1 observed row\(s\), too few .* means_ of 2"):
        estimator(2, random_state=0).fit([[1.0]])
    with pytest.raises(ValueError, match="X has no observed rows"):
        estimator(2, random_state=0).fit(np.full((5, 1), np.nan))


def test_bernoulli_probs_message_matches_the_check():
    BernoulliHMM([1.0], [[1.0]], [[1.0]])  # 1.0 is allowed: the interval is closed
    with pytest.raises(ValueError, match=r"probs\[0, 0\] = 1.5 is outside \[0.0, 1.0\]"):
        BernoulliHMM([1.0], [[1.0]], [[1.5]])


@pytest.mark.parametrize("name", ["GaussianHMM", "PoissonHMM", "CategoricalHMM"])
def test_nan_parameters_are_refused_before_use_and_on_load(name):
    model = getattr(pirho_hmm, name)(2, init_params="")
    model.startprob_, model.transmat_ = np.array([0.5, 0.5]), np.array([[0.9, 0.1], [0.2, 0.8]])
    attribute = {"GaussianHMM": "means_", "PoissonHMM": "lambdas_",
                 "CategoricalHMM": "emissionprob_"}[name]  # fmt: skip
    if name == "GaussianHMM":
        model.means_, model.covars_ = np.array([[0.0], [1.0]]), np.array([[1.0], [1.0]])
    elif name == "PoissonHMM":
        model.lambdas_ = np.array([[1.0], [2.0]])
    else:
        model.emissionprob_ = np.array([[0.5, 0.5], [0.1, 0.9]])
    document = model.to_dict()
    bad = np.array(getattr(model, attribute), dtype=float)
    bad[0, 0] = np.nan
    setattr(model, attribute, bad)
    x = np.array([[0], [1]])
    with pytest.raises(ValueError, match=rf"{attribute}.*\[?0"):
        model.predict(x)
    document["fitted"][attribute] = bad.tolist()
    with pytest.raises(ValueError, match=attribute):
        pirho_hmm.load_estimator(document)


def test_complex_observations_are_refused():
    model = GaussianHMM([1.0], [[1.0]], [[0.0]], [1.0], "spherical")
    with pytest.raises(TypeError, match="complex"):
        model.log_likelihood([[1 + 1j]])
    with pytest.raises(TypeError, match="complex"):
        pirho_hmm.GaussianHMM(1).fit(np.array([[1 + 1j], [2.0]]))


def test_poisson_log_pmf_of_a_huge_count_needs_no_table():
    model = PoissonHMM([1.0], [[1.0]], [[3.0]])
    count = 2.0**31  # log x! by lgamma: a table up to x would need 16 GiB
    expected = count * np.log(3.0) - 3.0 - __import__("math").lgamma(count + 1.0)
    assert model.log_likelihood([[count]]) == pytest.approx(expected, rel=1e-12)


# -- the semi-Markov model runs the same iteration (iterate_em) ------------------------------
def test_semi_markov_em_with_geometric_durations_takes_the_hmms_steps():
    # Geometric durations (negative binomial n = 1, D = 600 >> T) make the semi-Markov model
    # the ordinary HMM, so with start and emissions free (trans and durations frozen) both
    # EMs take the same steps: the same history, stopping point and verdict, through the one
    # loop (n_iter, tol, history and monitor mean the same).
    from pirho.hmm import SemiMarkovHMM, semi_markov_em

    hmm = family_models()["categorical"]
    xs = [hmm.sample(60, seed=s)[1] for s in range(3)]
    semi = SemiMarkovHMM.from_hmm(hmm, 600, "nbinom")
    for n_iter, tol in [(0, 1e-4), (4, 0.0), (200, 1e-3)]:
        ref = em(hmm, xs, params="se", n_iter=n_iter, tol=tol)
        monitor = EMMonitor(tol)
        got = semi_markov_em(semi, xs, params="se", n_iter=n_iter, monitor=monitor)
        np.testing.assert_allclose(got.history, ref.history, rtol=1e-11)
        assert (got.n_iter, got.converged) == (ref.n_iter, ref.converged)
        assert monitor.history == got.history.tolist()
        np.testing.assert_allclose(got.model.emissions.emit, ref.model.emit, atol=1e-11)
        np.testing.assert_allclose(got.model.start, ref.model.start, atol=1e-11)
    assert 4 < ref.n_iter < 200 and ref.converged  # the tol rule stopped both


def test_semi_markov_guard_stops_a_decrease_and_without_it_the_decrease_shows():
    from pirho.hmm import SemiMarkovHMM, semi_markov_em

    semi = SemiMarkovHMM.from_hmm(casino(), 50, "poisson")
    _, rolls = semi.sample(400, seed=4)
    mle = semi_markov_em(semi, rolls, n_iter=300, tol=1e-10).model
    prior = EMPrior(start=50.0, emission=50.0)  # the MAP step leaves the maximum
    free = semi_markov_em(mle, rolls, prior=prior, n_iter=3,
                          monitor=EMMonitor(-np.inf, guard=False))  # fmt: skip
    assert free.history[1] < free.history[0]
    guarded = semi_markov_em(mle, rolls, prior=prior, n_iter=3, monitor=EMMonitor(-np.inf))
    assert guarded.history.tolist() == [free.history[0]] and guarded.converged
    assert guarded.model is mle


def test_semi_markov_warns_about_an_unused_state_as_the_hmm_does():
    # symbol 2 comes only from state 2 and appears only at the end: state 2 is never left
    from pirho.hmm import SemiMarkovHMM, semi_markov_em

    hmm = CategoricalHMM([0.5, 0.5, 0.0], [[0.6, 0.3, 0.1], [0.3, 0.6, 0.1], [0.25, 0.25, 0.5]],
                         [[0.7, 0.3, 0.0], [0.2, 0.8, 0.0], [0.0, 0.0, 1.0]])  # fmt: skip
    x = np.array([0, 0, 1, 1, 0, 1, 2])
    caught = {}
    for name, run in [("hmm", lambda: em(hmm, x, n_iter=2)),
                      ("semi", lambda: semi_markov_em(SemiMarkovHMM.from_hmm(hmm, 20), x,
                                                      n_iter=2))]:  # fmt: skip
        with pytest.warns(RuntimeWarning, match=r"state\(s\) \[2\] have no expected") as w:
            run()
        caught[name] = w[0]
    assert str(caught["semi"].message) == str(caught["hmm"].message)
    assert caught["semi"].filename == __file__  # it points at the caller's line
