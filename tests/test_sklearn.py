"""pirho.hmm.sklearn against hmmlearn 0.3.3: one user script, two imports, the same numbers."""

from __future__ import annotations

import itertools
import logging

import numpy as np
import pytest

from pirho.hmm import sklearn as pirho_hmm

hmmlearn_hmm = pytest.importorskip("hmmlearn.hmm")
logging.getLogger("hmmlearn").setLevel(logging.ERROR)

START = np.array([0.5, 0.3, 0.2])
TRANS = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7]])
MEANS = np.array([[0.0, 0.0], [3.0, 1.0], [-2.0, 4.0]])
COVARS = {
    "diag": np.array([[1.0, 0.5], [2.0, 1.0], [0.3, 0.7]]),
    "spherical": np.array([1.0, 2.0, 0.5]),
    "full": np.array([[[1, 0.3], [0.3, 1]], [[2, -0.5], [-0.5, 1]], [[0.5, 0.1], [0.1, 0.4]]]),
    "tied": np.array([[1.0, 0.3], [0.3, 2.0]]),
}
LENGTHS = [40, 110, 50]


def gaussian_data():
    return np.random.default_rng(0).normal(size=(200, 2)) * 2.0


def set_gaussian(model, covariance_type):
    model.startprob_, model.transmat_ = START, TRANS
    model.means_, model.covars_ = MEANS, COVARS[covariance_type]


def set_categorical(model, _):
    model.startprob_, model.transmat_ = START, TRANS
    model.emissionprob_ = np.array([[0.5, 0.2, 0.2, 0.1], [0.1, 0.1, 0.4, 0.4], [0.25] * 4])


def set_poisson(model, _):
    model.startprob_, model.transmat_ = START, TRANS
    model.lambdas_ = np.array([[1.0, 5.0], [4.0, 2.0], [9.0, 0.5]])


GMM_COVARS = {
    "diag": np.array(
        [[[1.0, 0.5], [2.0, 1.0]], [[0.3, 0.7], [1.0, 1.0]], [[0.6, 0.6], [1.5, 0.5]]]
    ),
    "spherical": np.array([[1.0, 2.0], [0.5, 1.5], [0.8, 1.2]]),
    "full": np.tile([[1.0, 0.3], [0.3, 1.5]], (3, 2, 1, 1)),
    "tied": np.tile([[1.0, 0.3], [0.3, 1.5]], (3, 1, 1)),
}


def set_gmm(model, covariance_type):
    model.startprob_, model.transmat_ = START, TRANS
    model.weights_ = np.array([[0.3, 0.7], [0.5, 0.5], [0.9, 0.1]])
    model.means_ = np.stack([MEANS, MEANS[::-1] + 1.0], axis=1)
    model.covars_ = GMM_COVARS[covariance_type]


CASES = {
    **{f"gaussian-{ct}": ("GaussianHMM", {"covariance_type": ct}, set_gaussian, gaussian_data)
       for ct in COVARS},  # fmt: skip
    **{f"gmm-{ct}": ("GMMHMM", {"covariance_type": ct, "n_mix": 2}, set_gmm, gaussian_data)
       for ct in GMM_COVARS},  # fmt: skip
    "categorical": ("CategoricalHMM", {}, set_categorical,
                    lambda: np.random.default_rng(1).integers(0, 4, size=(200, 1))),
    "poisson": ("PoissonHMM", {}, set_poisson,
                lambda: np.random.default_rng(2).poisson(3.0, size=(200, 2))),
}  # fmt: skip


def user_script(hmm, case: str) -> dict:
    """What a user writes against hmmlearn; only the module `hmm` changes."""
    class_name, kwargs, set_params, data = CASES[case]
    X = data()
    covariance_type = kwargs.get("covariance_type")
    model = getattr(hmm, class_name)(n_components=3, init_params="", n_iter=6, tol=-1, **kwargs)
    set_params(model, covariance_type)
    out = {
        "score": model.score(X, LENGTHS),
        "score_samples": model.score_samples(X, LENGTHS),
        "predict_proba": model.predict_proba(X, LENGTHS),
        "viterbi": model.decode(X, LENGTHS),
        "map": model.decode(X, LENGTHS, algorithm="map"),
        "predict": model.predict(X, LENGTHS),
        "aic": model.aic(X, LENGTHS),
        "bic": model.bic(X, LENGTHS),
    }
    model.fit(X, LENGTHS)
    out["history"] = np.array(model.monitor_.history)
    out["startprob_"], out["transmat_"] = model.startprob_, model.transmat_
    if class_name == "GaussianHMM":
        out["means_"] = model.means_
        # hmmlearn's spherical covars_ getter breaks after fit; read the stored variances.
        stored = np.asarray(model._covars_)
        out["covars"] = (
            stored[:, 0] if covariance_type == "spherical" and stored.ndim == 2 else stored
        )
    elif class_name == "GMMHMM":
        out["weights_"], out["means_"], out["covars"] = model.weights_, model.means_, model.covars_
    else:
        name = "emissionprob_" if class_name == "CategoricalHMM" else "lambdas_"
        out[name] = getattr(model, name)
    # hmmlearn 0.3.3's spherical GaussianHMM.covars_ getter breaks after fit, and sample reads it
    if not (class_name == "GaussianHMM" and covariance_type == "spherical"):
        out["sample"] = model.sample(7, random_state=3)
    return out


def assert_same(ours, theirs, rtol):
    assert ours.keys() == theirs.keys()
    for key in ours:
        for mine, ref in zip(_flat(ours[key]), _flat(theirs[key]), strict=True):
            np.testing.assert_allclose(mine, ref, rtol=rtol, atol=1e-12, err_msg=key)


def _flat(value):
    return value if isinstance(value, tuple) else (value,)


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_user_script_gives_hmmlearns_numbers(case):
    ours, theirs = user_script(pirho_hmm, case), user_script(hmmlearn_hmm, case)
    inference_keys = ("score", "score_samples", "predict_proba", "viterbi", "map", "predict")
    inference = {k: v for k, v in ours.items() if k in (*inference_keys, "aic", "bic")}
    assert_same(inference, {k: theirs[k] for k in inference}, rtol=1e-9)
    fitted = {k: v for k, v in ours.items() if k not in inference}
    assert_same(fitted, {k: theirs[k] for k in fitted}, rtol=1e-6)


@pytest.mark.parametrize("name", ["GaussianHMM", "GMMHMM", "CategoricalHMM", "PoissonHMM"])
def test_fit_with_hmmlearns_own_initialisation_matches(name):
    X = CASES["categorical"][3]() if name == "CategoricalHMM" else CASES["poisson"][3]()
    if name in ("GaussianHMM", "GMMHMM"):
        X = gaussian_data()
    options = {"n_mix": 2} if name == "GMMHMM" else {}
    ours = getattr(pirho_hmm, name)(3, random_state=4, n_iter=5, **options).fit(X, LENGTHS)
    theirs = getattr(hmmlearn_hmm, name)(3, random_state=4, n_iter=5, **options).fit(X, LENGTHS)
    np.testing.assert_allclose(ours.transmat_, theirs.transmat_, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(
        np.array(ours.monitor_.history), np.array(theirs.monitor_.history), rtol=1e-9
    )


def brute_force_posterior(start, trans, log_emission):
    """P(h_t = k | x) by enumerating all K^T paths (log_emission (T, K))."""
    n_steps, n_states = log_emission.shape
    post = np.zeros((n_steps, n_states))
    total = 0.0
    for path in itertools.product(range(n_states), repeat=n_steps):
        p = start[path[0]] * np.exp(log_emission[0, path[0]])
        for t in range(1, n_steps):
            p *= trans[path[t - 1], path[t]] * np.exp(log_emission[t, path[t]])
        total += p
        post[np.arange(n_steps), path] += p
    return post / total, np.log(total)


def diag_gaussian_log_density(X, means, variances):
    return -0.5 * (
        np.log(2 * np.pi * variances).sum(axis=1)
        + (((X[:, None, :] - means[None]) ** 2) / variances[None]).sum(axis=2)
    )


def test_missing_row_has_likelihood_one_in_every_state():
    model = pirho_hmm.GaussianHMM(3, "diag", init_params="")
    set_gaussian(model, "diag")
    X = gaussian_data()[:6]
    X[2] = np.nan
    X[5] = np.nan
    log_emission = diag_gaussian_log_density(np.nan_to_num(X), MEANS, COVARS["diag"])
    log_emission[[2, 5]] = 0.0  # a missing step constrains nothing
    post, log_total = brute_force_posterior(START, TRANS, log_emission)
    np.testing.assert_allclose(model.predict_proba(X), post, rtol=1e-9, atol=1e-14)
    assert model.score(X) == pytest.approx(log_total, rel=1e-12)


def test_missing_symbol_is_minus_one_for_categorical():
    model = pirho_hmm.CategoricalHMM(3, init_params="")
    set_categorical(model, None)
    X = np.array([[0], [-1], [3], [2], [-1]])
    log_emission = np.log(model.emissionprob_.T[np.maximum(X[:, 0], 0)])
    log_emission[X[:, 0] == -1] = 0.0
    post, log_total = brute_force_posterior(START, TRANS, log_emission)
    np.testing.assert_allclose(model.predict_proba(X), post, rtol=1e-9, atol=1e-14)
    assert model.score(X) == pytest.approx(log_total, rel=1e-12)


def test_fit_skips_missing_rows_in_the_emission_update():
    X = gaussian_data()
    with_gaps = X.copy()
    with_gaps[::7] = np.nan
    model = pirho_hmm.GaussianHMM(3, "diag", init_params="", params="m", n_iter=1)
    set_gaussian(model, "diag")
    model.fit(with_gaps)
    weights = model.__class__(3, "diag", init_params="")
    set_gaussian(weights, "diag")
    post = weights.predict_proba(with_gaps)
    observed = ~np.isnan(with_gaps[:, 0])
    expected = (post[observed].T @ X[observed]) / post[observed].sum(axis=0)[:, None]
    np.testing.assert_allclose(model.means_, expected, rtol=1e-10)


@pytest.mark.parametrize("lag", [0, 1, 3])
def test_predict_proba_lag_is_the_posterior_of_the_prefix(lag):
    model = pirho_hmm.GaussianHMM(3, "full", init_params="")
    reference = hmmlearn_hmm.GaussianHMM(3, "full", init_params="")
    set_gaussian(model, "full")
    set_gaussian(reference, "full")
    X = gaussian_data()[:30]
    ours = model.predict_proba(X, lag=lag)
    for t in range(0, 30, 4):  # P(h_t | x_1..x_{t+lag}) = smoothing posterior of that prefix
        prefix = X[: min(t + lag + 1, 30)]
        np.testing.assert_allclose(ours[t], reference.predict_proba(prefix)[t], rtol=1e-9)


def test_full_labels_give_the_supervised_estimates():
    model = pirho_hmm.GaussianHMM(3, "diag", init_params="")
    set_gaussian(model, "diag")
    X, states = model.sample(300, random_state=5)
    fitted = pirho_hmm.GaussianHMM(3, "diag", init_params="", n_iter=1)
    set_gaussian(fitted, "diag")
    fitted.fit(X, y=states)
    counts = np.zeros((3, 3))
    np.add.at(counts, (states[:-1], states[1:]), 1)
    np.testing.assert_allclose(fitted.transmat_, counts / counts.sum(1, keepdims=True), rtol=1e-9)
    means = np.array([X[states == k].mean(axis=0) for k in range(3)])
    np.testing.assert_allclose(fitted.means_, means, rtol=1e-9)


def test_partial_labels_are_clamped_and_em_never_decreases():
    model = pirho_hmm.GaussianHMM(3, "diag", init_params="")
    set_gaussian(model, "diag")
    X, states = model.sample(400, random_state=6)
    y = np.full(400, -1)
    y[::10] = states[::10]
    fitted = pirho_hmm.GaussianHMM(3, "diag", init_params="", n_iter=15, tol=-1)
    set_gaussian(fitted, "diag")
    fitted.fit(X, y=y)
    assert np.all(np.diff(np.array(fitted.monitor_.history)) >= -1e-8)
    # after fitting, clamping is an E-step device: a labelled step's clamped posterior is one-hot
    clamped = fitted._likelihoods(*fitted._validate_X(X), labels=y).table
    assert (clamped[y >= 0].argmax(axis=1) == y[y >= 0]).all()
    assert (np.count_nonzero(clamped[y >= 0], axis=1) == 1).all()


def test_structural_zeros_survive_em():
    model = pirho_hmm.GaussianHMM(3, "diag", init_params="mc", n_iter=10, random_state=0)
    model.startprob_ = np.array([1.0, 0.0, 0.0])
    model.transmat_ = np.array([[0.9, 0.1, 0.0], [0.0, 0.9, 0.1], [0.0, 0.0, 1.0]])
    model.fit(np.concatenate([np.zeros((30, 1)), np.ones((30, 1)) * 4, np.ones((30, 1)) * 8]))
    assert model.startprob_[1:].tolist() == [0.0, 0.0]
    assert model.transmat_[np.tril_indices(3, -1)].tolist() == [0.0, 0.0, 0.0]
    assert model.transmat_[0, 2] == 0.0


def test_get_set_params_clone_and_grid_search():
    sklearn_base = pytest.importorskip("sklearn.base")
    model_selection = pytest.importorskip("sklearn.model_selection")
    model = pirho_hmm.GaussianHMM(n_components=2, covariance_type="full", n_iter=3)
    assert model.get_params()["covariance_type"] == "full"
    model.set_params(n_components=4)
    copy = sklearn_base.clone(model)
    assert copy.get_params() == model.get_params() and copy is not model
    X = gaussian_data()
    search = model_selection.GridSearchCV(
        pirho_hmm.GaussianHMM(n_iter=5, random_state=0),
        {"n_components": [1, 2, 3]},
        cv=model_selection.KFold(2),
    )
    search.fit(X)
    # GridSearchCV's score is the estimator's own score on each held-out half
    halves = (X[100:], X[:100]), (X[:100], X[100:])
    expected = np.mean(
        [pirho_hmm.GaussianHMM(search.best_params_["n_components"], n_iter=5, random_state=0)
         .fit(train).score(test) for train, test in halves]
    )  # fmt: skip
    assert search.best_score_ == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m, X: m.score(X, lengths=[10, 10]), "lengths sum to 20"),
        (lambda m, X: m.score(X[:, :1]), "1 features per row"),
        (lambda m, X: m.predict_proba(X, lag=-1), "lag must be >= 0"),
        (lambda m, X: m.decode(X, algorithm="best"), "algorithm='best'"),
        (lambda m, X: m.fit(X, y=np.full(len(X), 3)), r"y\[0\] = 3"),
        (lambda m, X: m.score(np.where(np.eye(len(X), 2) > 0, np.nan, X)), "row 0 is partly NaN"),
    ],
)
def test_bad_input_names_the_argument(call, message):
    model = pirho_hmm.GaussianHMM(3, "diag", init_params="")
    set_gaussian(model, "diag")
    with pytest.raises(ValueError, match=message):
        call(model, gaussian_data())


def test_unfitted_model_says_what_to_do():
    with pytest.raises(ValueError, match="call fit"):
        pirho_hmm.PoissonHMM(2).score([[1], [2]])


def test_import_does_not_pull_torch():
    import subprocess
    import sys

    code = "import sys, pirho.hmm.sklearn; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_works_without_scikit_learn():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "import numpy as np\n"
        "from pirho.hmm import sklearn as hmm\n"
        "X = np.r_[np.zeros((30, 1)), np.full((30, 1), 6.0)]\n"
        "X = X + np.random.default_rng(0).normal(0, 0.2, X.shape)\n"
        "m = hmm.GaussianHMM(2, random_state=0).set_params(n_iter=20).fit(X)\n"
        "print(sorted(abs(m.means_.ravel().round(0)).tolist()), m.get_params()['n_iter'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[0.0, 6.0] 20"


def test_bernoulli_estimator_matches_the_bernoulli_model():
    from pirho.hmm.families.bernoulli import BernoulliHMM as BernoulliModel

    probs = np.array([[0.1, 0.8, 0.5], [0.9, 0.2, 0.0], [0.5, 0.5, 1.0]])
    model = pirho_hmm.BernoulliHMM(3, init_params="", params="e", n_iter=1)
    model.startprob_, model.transmat_, model.emissionprob_ = START, TRANS, probs
    reference = BernoulliModel(START, TRANS, probs)
    X = (np.random.default_rng(7).random((60, 3)) < 0.5).astype(float)
    # state 0 has no 0 or 1 entry, so every step stays possible; states 1 and 2 rule some out
    X[10] = np.nan
    assert model.score(X) == pytest.approx(reference.log_likelihood(X), rel=1e-12)
    post = reference.posterior(X)
    np.testing.assert_allclose(model.predict_proba(X), post, rtol=1e-9, atol=1e-14)
    np.testing.assert_array_equal(model.predict(X), reference.viterbi(X).path)
    model.fit(X)
    observed = ~np.isnan(X[:, 0])
    expected = post[observed].T @ X[observed] / post[observed].sum(axis=0)[:, None]
    np.testing.assert_allclose(model.emissionprob_, expected, rtol=1e-9)
