"""polysemy: the logistic probe against scikit-learn, scoring by hand, the reduced experiment."""

import json

import numpy as np
import pytest

from pirho.data.synthetic import EVIDENCE
from pirho.experiments import polysemy as exp

TINY = dict(n_lm_sequences=60, n_probe_sequences=120, length=30, hidden_size=8, epochs=2)


def test_fit_logistic_matches_scikit_learn():
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(0)
    features = rng.normal(size=(400, 5)) * [1.0, 3.0, 0.5, 2.0, 1.0] + [0, 1, 0, -2, 0]
    logits = features @ np.array([1.0, -0.5, 2.0, 0.0, 0.3]) + 0.2
    labels = (rng.random(400) < 1 / (1 + np.exp(-logits))).astype(int)
    l2 = 1e-2
    params = fit_params = exp.fit_logistic(features, labels, l2=l2)
    w, b, mean, scale = fit_params
    standardised = (features - mean) / scale
    # pirho minimises Σ log-loss + l2·n·|w|²/2; scikit-learn Σ log-loss·C + |w|²/2
    reference = linear_model.LogisticRegression(
        C=1 / (l2 * len(labels)), tol=1e-10, max_iter=10_000
    )
    reference.fit(standardised, labels)
    np.testing.assert_allclose(w, reference.coef_[0], atol=1e-5)
    assert b == pytest.approx(reference.intercept_[0], abs=1e-5)
    np.testing.assert_allclose(
        exp.predict_logistic(params, features), reference.predict_proba(standardised)[:, 1],
        atol=1e-6,
    )  # fmt: skip


def test_constant_features_give_the_majority_class():
    features = np.ones((50, 3))
    labels = np.array([1] * 30 + [0] * 20)
    params = exp.fit_logistic(features, labels)
    p = exp.predict_logistic(params, np.ones((4, 3)))
    np.testing.assert_allclose(p, 0.6, atol=1e-6)


def test_fit_logistic_rejects_bad_labels():
    with pytest.raises(ValueError, match="labels"):
        exp.fit_logistic(np.zeros((3, 2)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="do not match"):
        exp.fit_logistic(np.zeros((3, 2)), np.array([0, 1]))


def test_score_predictions_by_hand():
    sense = np.array([0, 0, 1, 1, 0])
    evidence = np.array([1, 1, 2, 3, 3])
    metrics = exp.score_predictions(
        {"majority": np.zeros(5, int), "both": np.array([0, 1, 1, 1, 0])}, sense, evidence
    )
    assert metrics["majority_acc"] == 0.6 and metrics["both_acc"] == 0.8
    by = metrics["by_position"]
    assert list(by) == list(EVIDENCE)
    assert by["none"] == {"n": 0, "majority_acc": None, "both_acc": None}
    assert by["before"] == {"n": 2, "majority_acc": 1.0, "both_acc": 0.5}
    assert by["after"] == {"n": 1, "majority_acc": 0.0, "both_acc": 1.0}
    assert by["both"] == {"n": 2, "majority_acc": 0.5, "both_acc": 1.0}


def test_reduced_run_returns_every_key_and_is_reproducible(tmp_path):
    first = exp.run(quick=True, seed=2, out=tmp_path, progress=False, **TINY)
    second = exp.run(quick=True, seed=2, progress=False, **TINY)
    m = first.metrics
    names = [f"{method}_acc" for method in exp.METHODS]
    assert set(names) <= set(m)
    assert set(m["by_position"]) == set(EVIDENCE)
    for position in EVIDENCE:
        assert set(names) <= set(m["by_position"][position])
    # the static embedding of "bank" is one vector: its probe can only predict the majority
    assert m["static_acc"] == m["majority_acc"]
    assert 0.5 < m["bayes_acc"] <= 1.0
    assert m["n_test_occurrences"] > 50
    assert json.dumps(first.to_dict(), sort_keys=True) == json.dumps(
        second.to_dict(), sort_keys=True
    )
    assert [p.name for p in first.figures] == ["polysemy_probes.png"]
    assert "bayes" in first.summary


@pytest.mark.slow
def test_full_run_meets_the_targets():
    m = exp.run(progress=False).metrics
    assert abs(m["both_acc"] - m["bayes_acc"]) <= 0.02
    after = m["by_position"]["after"]
    assert after["both_acc"] - after["forward_acc"] >= 0.10
    assert m["static_acc"] == m["majority_acc"]


def _numpy_smoother(start, trans, emit, x):
    """P(h_t | x_1..x_T) (T, K) by plain scaled forward–backward."""
    alpha = np.zeros((len(x), len(start)))
    alpha[0] = start * emit[:, x[0]]
    alpha[0] /= alpha[0].sum()
    for t in range(1, len(x)):
        alpha[t] = (alpha[t - 1] @ trans) * emit[:, x[t]]
        alpha[t] /= alpha[t].sum()
    beta = np.ones_like(alpha)
    for t in range(len(x) - 2, -1, -1):
        beta[t] = trans @ (emit[:, x[t + 1]] * beta[t + 1])
        beta[t] /= beta[t].sum()
    posterior = alpha * beta
    return posterior / posterior.sum(1, keepdims=True)


def test_reduced_run_bayes_majority_and_figure_equal_an_independent_recount(tmp_path, monkeypatch):
    """From the same probe corpus: the Bayes guess by plain numpy forward–backward, the true
    sense and the evidence sides read off the hidden states, the majority by a hand count."""
    from pirho.data.synthetic import SENSES, polysemy_hmm, sample_polysemy
    from pirho.plots import thesis

    drawn = {}

    def keep(by_position, path, **kwargs):
        drawn.update(by_position=by_position, methods=kwargs["methods"])
        return plot(by_position, path, **kwargs)

    plot = thesis.plot_probe_accuracy
    monkeypatch.setattr(thesis, "plot_probe_accuracy", keep)
    m = exp.run(quick=True, seed=2, out=tmp_path, progress=False, **TINY).metrics

    spec = polysemy_hmm()
    _, probe_seed = np.random.SeedSequence(2).spawn(2)
    n_probe = TINY["n_probe_sequences"]
    corpus = sample_polysemy(n_probe, TINY["length"], seed=probe_seed)
    roles = np.array(spec.state_role)
    model = spec.model
    rows = []  # (is_train, true sense, Bayes guess, evidence code) per "bank"
    for n, (x, h) in enumerate(zip(corpus.symbols, corpus.states, strict=True)):
        banks = np.flatnonzero(x == spec.bank)
        if not banks.size:
            continue
        posterior = _numpy_smoother(model.start, model.trans, model.emit, x)
        for t in banks:
            sense_posterior = [
                posterior[t, spec.state_sense == s].sum() for s in range(len(SENSES))
            ]
            ends = np.flatnonzero(roles[h] == "end")
            first = ends[ends < t].max() + 1 if (ends < t).any() else 0
            last = ends[ends > t].min() if (ends > t).any() else len(x)
            before = "cue_before" in roles[h[first:t]]
            after = "cue_after" in roles[h[t + 1 : last]]
            rows.append(
                (n < n_probe // 2, spec.state_sense[h[t]], int(np.argmax(sense_posterior)),
                 int(before) + 2 * int(after))
            )  # fmt: skip
    is_train, sense, bayes, evidence = (np.array(column) for column in zip(*rows, strict=True))
    test = ~is_train
    assert m["n_train_occurrences"] == is_train.sum() and m["n_test_occurrences"] == test.sum()
    majority = np.bincount(sense[is_train], minlength=2).argmax()
    assert m["majority_acc"] == np.sum(sense[test] == majority) / test.sum()
    assert m["bayes_acc"] == np.sum(sense[test] == bayes[test]) / test.sum()
    for code, position in enumerate(EVIDENCE):
        here = test & (evidence == code)
        entry = m["by_position"][position]
        assert entry["n"] == here.sum(), position
        if here.any():
            assert entry["bayes_acc"] == np.sum(sense[here] == bayes[here]) / here.sum()
            assert entry["majority_acc"] == np.sum(sense[here] == majority) / here.sum()
    # the probes: the same BiLM retrained (same seed), its states at each "bank", and
    # scikit-learn's logistic regression with the same penalty (l2·n·|w|²/2 is C = 1/(l2·n))
    linear_model = pytest.importorskip("sklearn.linear_model")
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    assert corpus.sense.tolist() == sense.tolist()  # the occurrences in the same order
    lm_seed, _ = np.random.SeedSequence(2).spawn(2)
    lm_corpus = sample_polysemy(TINY["n_lm_sequences"], TINY["length"], seed=lm_seed)
    config = {**exp.QUICK, **TINY}
    lm, _ = exp.train_bilm(
        lm_corpus, cell="lstm", seed=2, progress=False,
        **{k: config[k] for k in ("embedding_dim", "hidden_size", "num_layers", "epochs",
                                  "batch_size", "lr")},
    )  # fmt: skip
    representations = exp.bank_representations(lm, corpus)
    for name in ("forward", "backward", "both"):
        scaler = preprocessing.StandardScaler().fit(representations[name][is_train])
        probe = linear_model.LogisticRegression(
            C=1 / (config["probe_l2"] * is_train.sum()), tol=1e-10, max_iter=10_000
        ).fit(scaler.transform(representations[name][is_train]), sense[is_train])
        guess = probe.predict(scaler.transform(representations[name][test]))
        assert m[f"{name}_acc"] == np.sum(guess == sense[test]) / test.sum(), name
    # the figure draws every accuracy of the metrics, for "all" and each non-empty position
    shown = [p for p in EVIDENCE if m["by_position"][p]["n"]]
    assert list(drawn["by_position"]) == ["all", *shown] and drawn["methods"] == exp.METHODS
    for method in exp.METHODS:
        key = f"{method}_acc"
        assert drawn["by_position"]["all"][key] == m[key]
        for position in shown:
            assert drawn["by_position"][position][key] == m["by_position"][position][key]
