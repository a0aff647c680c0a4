"""fit / em / fit_supervised / select_n_states: behaviour and every bad input."""

import numpy as np
import pytest

from pirho.hmm import (
    GMMHMM,
    BernoulliHMM,
    CategoricalHMM,
    GaussianHMM,
    PoissonHMM,
    aic,
    bic,
    em,
    fit,
    fit_supervised,
    n_parameters,
    select_n_states,
)
from pirho.hmm.fitting import SelectionRow, lowest_bic
from pirho.hmm.fitting.em_loop import EMMonitor


def two_regimes():
    return GaussianHMM([0.6, 0.4], [[0.95, 0.05], [0.1, 0.9]], [[0.0, 0.0], [5.0, -5.0]],
                       [[[1.0, 0.3], [0.3, 1.0]], [[2.0, 0.0], [0.0, 0.5]]], "full")  # fmt: skip


@pytest.fixture(scope="module")
def regime_data():
    model = two_regimes()
    return model, [model.sample(n, seed=s)[1] for s, n in ((0, 400), (1, 300))]


def test_fit_recovers_the_regimes_and_restarts_keep_the_best(regime_data):
    truth, xs = regime_data
    result = fit(
        xs,
        2,
        "gaussian",
        covariance_type="full",
        n_restarts=3,
        seed=0,
        monitor=EMMonitor(1e-4, guard=False),
    )  # the guard would hide a decrease
    assert result.restart_log_likelihoods.shape == (3,)
    assert result.log_likelihood == result.restart_log_likelihoods.max()
    order = np.argsort(result.model.means[:, 0])
    np.testing.assert_allclose(result.model.means[order], truth.means, atol=0.2)
    np.testing.assert_allclose(result.model.trans[np.ix_(order, order)], truth.trans, atol=0.05)
    # the guard is off: a real decrease fails here; round-off at the optimum may not
    assert np.all(np.diff(result.history) >= -1e-12 * np.abs(result.history[:-1]))
    again = fit(xs, 2, "gaussian", covariance_type="full", n_restarts=3, seed=0)
    np.testing.assert_array_equal(again.model.means, result.model.means)


def test_n_iter_is_a_hard_maximum_and_tol_stops(regime_data):
    _, xs = regime_data
    short = fit(xs, 2, covariance_type="diag", n_iter=2, seed=1, n_restarts=1)
    assert short.n_iter <= 2 and short.history.shape == (short.n_iter + 1,)
    loose = fit(xs, 2, covariance_type="diag", tol=1e6, seed=1, n_restarts=1)
    assert loose.converged and loose.n_iter == 1


def test_frozen_parameters_stay_exactly(regime_data):
    truth, xs = regime_data
    start = GaussianHMM([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], [[1.0, 1.0], [4.0, -4.0]],
                        [[[1.0, 0.0], [0.0, 1.0]]] * 2, "full")  # fmt: skip
    result = em(start, xs, params="m", n_iter=5)
    assert np.array_equal(result.model.trans, start.trans)
    assert np.array_equal(result.model.start, start.start)
    assert np.array_equal(result.model.covars, start.covars)
    assert not np.allclose(result.model.means, start.means)


def test_init_values_are_never_overwritten_unless_asked(regime_data):
    _, xs = regime_data
    init = GaussianHMM([0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]], [[1.0, 1.0], [4.0, -4.0]],
                       [[2.0, 2.0], [2.0, 2.0]], "diag")  # fmt: skip
    # Default init_params="" : EM starts from init exactly.
    result = fit(xs, init=init, n_iter=3)
    assert result.history[0] == pytest.approx(init.log_likelihood(xs).sum(), rel=1e-12)
    # init_params="m" redraws the means only; covars (frozen by params) stay init's.
    result = fit(xs, init=init, init_params="m", params="m", n_iter=0, seed=0)
    assert np.array_equal(result.model.covars, init.covars)
    assert np.array_equal(result.model.trans, init.trans)
    assert not np.array_equal(result.model.means, init.means)


def test_semi_supervised_labels_pin_the_state_names(regime_data):
    truth, xs = regime_data
    states = [truth.sample(n, seed=s)[0] for s, n in ((0, 400), (1, 300))]
    labels = [np.where(np.arange(len(s)) % 10 == 0, s, -1) for s in states]
    result = fit(xs, 2, covariance_type="full", labels=labels, seed=3, n_restarts=1)
    # With labels the states cannot swap: state 0 is the one labelled 0.
    np.testing.assert_allclose(result.model.means, truth.means, atol=0.2)
    post = np.concatenate(result.model.posterior(xs))
    accuracy = (post.argmax(axis=1) == np.concatenate(states)).mean()
    assert accuracy > 0.95


def test_supervised_fit_is_the_closed_form_counts():
    truth = two_regimes()
    states, x = truth.sample(3000, seed=4)
    result = fit_supervised(x, states, covariance_type="full")
    model = result.model
    pairs = np.zeros((2, 2))
    np.add.at(pairs, (states[:-1], states[1:]), 1)
    np.testing.assert_allclose(model.trans, pairs / pairs.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(model.start, np.eye(2)[states[0]])
    for k in range(2):
        np.testing.assert_allclose(model.means[k], x[states == k].mean(axis=0), rtol=1e-10)
        np.testing.assert_allclose(model.covars[k], np.cov(x[states == k].T, bias=True),
                                   rtol=1e-9)  # fmt: skip
    poisson = PoissonHMM([0.5, 0.5], [[0.9, 0.1], [0.2, 0.8]], [[1.0, 3.0], [8.0, 0.5]])
    states, counts = poisson.sample(2000, seed=5)
    rates = fit_supervised(counts, states, "poisson").model.rates
    np.testing.assert_allclose(rates[1], counts[states == 1].mean(axis=0), rtol=1e-12)


def test_supervised_pseudocount_is_add_k_smoothed_relative_frequency():
    # states A=0, B=1 (C=2 never seen); symbols x=0, y=1, z=2
    states = [np.array([0, 0, 1]), np.array([1, 0])]
    symbols = [np.array([0, 1, 2]), np.array([2, 0])]
    result = fit_supervised(symbols, states, "categorical", n_states=3, pseudocount=0.5)
    model = result.model
    np.testing.assert_allclose(model.start, np.array([1.5, 1.5, 0.5]) / 3.5, rtol=1e-12)
    np.testing.assert_allclose(model.trans, [np.array([1.5, 1.5, 0.5]) / 3.5,
                                             np.array([1.5, 0.5, 0.5]) / 2.5,
                                             np.full(3, 1 / 3)], rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(model.emit, [np.array([2.5, 1.5, 0.5]) / 4.5,
                                            np.array([0.5, 0.5, 2.5]) / 3.5,
                                            np.full(3, 1 / 3)], rtol=1e-12)  # fmt: skip
    assert result.n_iter <= 2  # a one-hot posterior: one M-step, a second confirms it
    with pytest.raises(ValueError, match="pseudocount"):
        fit_supervised(symbols, states, "categorical", pseudocount=-0.1)


@pytest.mark.parametrize("seed", [20, 95, 113, 151, 152, 0, 1])
def test_supervised_pseudocount_ignores_a_start_more_likely_than_the_answer(seed):
    # From these seeds the random start has a higher likelihood than the smoothed counts (the
    # pseudocount pulls away from the maximum-likelihood answer): a decrease guard used to
    # stop there and return the random start instead of the counts.
    model = fit_supervised([0, 1, 1], [0, 0, 1], "categorical", pseudocount=1.0, seed=seed).model
    np.testing.assert_allclose(model.emit, [[0.5, 0.5], [1 / 3, 2 / 3]], rtol=1e-12)
    np.testing.assert_allclose(model.trans, [[0.5, 0.5], [0.5, 0.5]], rtol=1e-12)


@pytest.mark.parametrize(
    ("family", "covariance_type"),
    [("gmm", "diag"), ("gmm", "full"), ("gaussian", "tied"), ("poisson", "diag"),
     ("bernoulli", "diag"), ("categorical", "diag")],
)  # fmt: skip
def test_fit_runs_every_family_with_missing_data(family, covariance_type):
    rng = np.random.default_rng(6)
    if family == "categorical":
        truth = CategoricalHMM([0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]],
                               [[0.7, 0.2, 0.1], [0.1, 0.2, 0.7]])  # fmt: skip
    elif family == "poisson":
        truth = PoissonHMM([0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]], [[1.0], [6.0]])
    elif family == "bernoulli":
        truth = BernoulliHMM([0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]], [[0.1, 0.8], [0.9, 0.2]])
    elif family == "gaussian":
        truth = GaussianHMM([0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]], [[-2.0], [2.0]], [[1.0]], "tied")
    else:
        truth = GMMHMM([0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]], [[0.5, 0.5], [0.5, 0.5]],
                       [[[-4.0], [-2.0]], [[2.0], [4.0]]], np.ones((2, 2, 1)), "diag")  # fmt: skip
    _, x = truth.sample(600, seed=7)
    x = np.array(x, dtype=np.int64 if family == "categorical" else np.float64)
    holes = rng.random(600) < 0.1
    x[holes] = -1 if family == "categorical" else np.nan
    result = fit(x, 2, family, seed=0, n_restarts=2, covariance_type=covariance_type,
                 n_mix=2, n_iter=30, monitor=EMMonitor(1e-4, guard=False))  # fmt: skip
    # the guard is off: a real decrease fails here; round-off at the optimum may not
    assert np.all(np.diff(result.history) >= -1e-12 * np.abs(result.history[:-1]))
    assert np.isfinite(result.log_likelihood)
    assert result.log_likelihood == pytest.approx(result.model.log_likelihood(x), rel=1e-9)


def test_aic_bic_and_selection_table(regime_data):
    truth, xs = regime_data
    total = truth.log_likelihood(xs).sum()
    p = n_parameters(truth)
    assert p == 1 + 2 + 4 + 6
    assert aic(truth, xs) == pytest.approx(-2 * total + 2 * p)
    assert bic(truth, xs) == pytest.approx(-2 * total + p * np.log(700))
    rows = select_n_states(xs, 3, covariance_type="full", seed=0, n_restarts=2)
    assert [r.n_states for r in rows] == [1, 2, 3]
    assert min(rows, key=lambda r: r.bic).n_states == 2
    for row in rows:
        assert row.bic == pytest.approx(-2 * row.log_likelihood + row.n_parameters * np.log(700))


def test_select_n_states_runs_a_given_fitter_per_k_and_reports_each_row_as_it_goes(regime_data):
    _, xs = regime_data
    seen, reported = [], []

    def fitter(x, n_states):  # the rows of fit itself, so the table must come out the same
        seen.append((x is xs, n_states))
        result = fit(x, n_states, covariance_type="full", seed=0, n_restarts=2)
        return SelectionRow(n_states, result.log_likelihood, n_parameters(result.model),
                            result.aic(), result.bic(), result)  # fmt: skip

    rows = select_n_states(xs, 3, k_min=2, fitter=fitter, on_row=reported.append)
    assert seen == [(True, 2), (True, 3)] and reported == rows
    plain = select_n_states(xs, 3, k_min=2, covariance_type="full", seed=0, n_restarts=2)
    assert [r[:5] for r in rows] == [r[:5] for r in plain]
    assert lowest_bic(rows).n_states == 2
    with pytest.raises(TypeError, match="seed"):
        select_n_states(xs, 3, fitter=fitter, seed=0)


def test_lowest_bic_keeps_the_first_of_equal_bics_and_refuses_no_rows():
    rows = [SelectionRow(k, 0.0, 0, 0.0, b, None) for k, b in [(1, 5.0), (2, 3.0), (3, 3.0)]]
    assert lowest_bic(rows).n_states == 2
    assert lowest_bic(rows[::-1]).n_states == 3  # the first of equals in the given order
    with pytest.raises(ValueError, match="no rows"):
        lowest_bic([])


GOOD = dict(start=[0.5, 0.5], trans=[[0.9, 0.1], [0.2, 0.8]])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: GaussianHMM(**GOOD, means=[[0.0], [1.0]], covars=[[[1.0]], [[-1.0]]]),
         r"covars\[1\] is not positive definite"),
        (lambda: GaussianHMM(**GOOD, means=[[0.0, 0.0], [1.0, 1.0]],
                             covars=[[[1.0, 2.0], [0.0, 1.0]]] * 2),
         r"covars\[0\] is not symmetric"),
        (lambda: GaussianHMM(**GOOD, means=[[0.0], [np.nan]], covars=[1.0, 1.0],
                             covariance_type="spherical"), r"means\[1, 0\] is nan"),
        (lambda: GaussianHMM(**GOOD, means=[[0.0], [1.0]], covars=[1.0, 0.0],
                             covariance_type="spherical"), r"covars\[1\] = 0.0 must be > 0"),
        (lambda: GaussianHMM(**GOOD, means=[[0.0], [1.0]], covars=[[1.0]], covariance_type="tied",
                             ), None),
        (lambda: GaussianHMM(**GOOD, means=[[0.0], [1.0]], covars=[1.0, 1.0],
                             covariance_type="round"), r"covariance_type='round' is not one of"),
        (lambda: GaussianHMM(**GOOD, means=[[0.0], [1.0], [2.0]], covars=[1.0, 1.0, 1.0],
                             covariance_type="spherical"), r"means must have shape \(2, 1\)"),
        (lambda: GaussianHMM(**GOOD, means=[[0.0], [1.0]], covars=[1.0, 1.0, 1.0],
                             covariance_type="spherical"),
         r"covars for covariance_type='spherical' must have shape \(2,\)"),
        (lambda: PoissonHMM(**GOOD, rates=[[1.0], [-0.5]]), r"rates\[1, 0\] = -0.5 is outside"),
        (lambda: BernoulliHMM(**GOOD, probs=[[0.5], [1.5]]), r"probs\[1, 0\] = 1.5 is outside"),
        (lambda: GMMHMM(**GOOD, weights=[[0.5, 0.6], [0.5, 0.5]], means=np.zeros((2, 2, 1)),
                        covars=np.ones((2, 2, 1)), covariance_type="diag"), r"weights row 0 sums"),
        (lambda: GaussianHMM([0.5, np.nan], [[1.0, 0.0], [0.0, 1.0]], [[0.0], [1.0]], [1.0, 1.0],
                             "spherical"), r"start has an invalid probability nan"),
    ],
)  # fmt: skip
def test_bad_parameters_name_the_entry(make, message):
    if message is None:
        make()  # a valid tied model (control)
        return
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_observations_name_the_position():
    gauss = GaussianHMM(**GOOD, means=[[0.0, 0.0], [1.0, 1.0]],
                        covars=[[[1.0, 0.0], [0.0, 1.0]]] * 2)  # fmt: skip
    with pytest.raises(ValueError, match="D = 3 features, the model has D = 2"):
        gauss.log_likelihood(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="position 1 is partially missing"):
        gauss.posterior([[0.0, 0.0], [np.nan, 1.0]])
    with pytest.raises(ValueError, match="position 2, feature 0 is infinite"):
        gauss.log_likelihood([[0.0, 0.0], [0.0, 1.0], [np.inf, 0.0]])
    with pytest.raises(ValueError, match="sequence 1: sequence is empty"):
        gauss.log_likelihood([np.zeros((2, 2)), np.zeros((0, 2))])
    with pytest.raises(TypeError, match="got str"):
        gauss.log_likelihood("abc")
    diag = GaussianHMM(**GOOD, means=[[0.0, 0.0], [1.0, 1.0]], covars=np.ones((2, 2)),
                       covariance_type="diag")  # fmt: skip
    # diag marginalises a partially missing row: equal to the one-feature model on that row
    one = GaussianHMM(**GOOD, means=[[0.0], [1.0]], covars=np.ones((2, 1)), covariance_type="diag")
    np.testing.assert_allclose(diag.emission_log_likelihood([[np.nan, 0.3]]),
                               one.emission_log_likelihood([0.3]))  # fmt: skip
    poisson = PoissonHMM(**GOOD, rates=[[1.0], [2.0]])
    with pytest.raises(
        ValueError, match=r"observation 1.5 at position 1, feature 0 is not a count"
    ):
        poisson.log_likelihood([1, 1.5])
    with pytest.raises(ValueError, match=r"sequence 1: observation -1.0 at position 0"):
        poisson.log_likelihood([np.array([1.0]), np.array([-1.0])])
    bern = BernoulliHMM(**GOOD, probs=[[0.1], [0.9]])
    with pytest.raises(ValueError, match=r"observation 2.0 at position 0, feature 0 is not binary"):
        bern.log_likelihood([2, 0])


def test_bad_fit_arguments(regime_data):
    truth, xs = regime_data
    with pytest.raises(ValueError, match=r"params='mz' has 'z', not a parameter of GaussianHMM"):
        em(truth, xs, params="mz")
    with pytest.raises(ValueError, match="n_iter must be >= 0, got -1"):
        em(truth, xs, n_iter=-1)
    with pytest.raises(ValueError, match="tol must be >= 0.0"):
        em(truth, xs, tol=-1.0)
    with pytest.raises(ValueError, match="labels has 1 sequences, x has 2"):
        em(truth, xs, labels=[np.zeros(400, int)])
    with pytest.raises(ValueError, match=r"labels of sequence 1: label 2 at position 0"):
        em(truth, xs, labels=[np.zeros(400, int), np.full(300, 2)])
    with pytest.raises(ValueError, match=r"labels of sequence 0 must have shape \(400,\)"):
        em(truth, xs, labels=[np.zeros(3, int), np.zeros(300, int)])
    with pytest.raises(ValueError, match="family='hmm' is not one of"):
        fit(xs, 2, "hmm")
    with pytest.raises(ValueError, match="init_params='m' leaves parameters without a value"):
        fit(xs, 2, init_params="m")
    with pytest.raises(ValueError, match="n_states=3 but init has K = 2"):
        fit(xs, 3, init=truth)
    with pytest.raises(TypeError, match="n_restarts must be an integer"):
        fit(xs, 2, n_restarts=1.5)
    with pytest.raises(ValueError, match="fit_supervised needs every step labelled"):
        fit_supervised(xs[0], np.full(400, -1))
    impossible = PoissonHMM([1.0, 0.0], [[1.0, 0.0], [0.0, 1.0]], [[0.0], [1.0]])
    with pytest.raises(ValueError, match="sequence 0 has probability 0 under the model"):
        em(impossible, [np.array([1.0, 0.0])])
