"""hmm-vs-rnn: exact metrics against brute force, causal/bidirectional taggers, the experiment."""

import json

import numpy as np
import pytest
import torch

from pirho.data.synthetic import random_hmm, sample_dataset
from pirho.experiments import hmm_vs_rnn as exp
from pirho.hmm import brute_force, casino

TINY = dict(n_train=24, n_val=8, n_test=6, length=30, hidden_size=6, epochs=2, max_lag=4)


def test_metric_functions_match_hand_values():
    probs = np.array([[[0.9, 0.1], [0.2, 0.8]], [[0.5, 0.5], [0.6, 0.4]]])
    states = np.array([[0, 0], [1, 0]])
    # argmax: 0, 1, 0 (tie -> first), 0 -> right, wrong, wrong, right
    assert exp.accuracy(probs, states) == 0.5
    expected_nll = -np.mean(np.log([0.9, 0.2, 0.5, 0.6]))
    assert exp.mean_nll(probs, states) == pytest.approx(expected_nll)
    reference = np.array([[[1.0, 0.0], [0.2, 0.8]], [[0.5, 0.5], [0.0, 1.0]]])
    assert exp.mean_tv(probs, reference) == pytest.approx(np.mean([0.1, 0.0, 0.0, 0.6]))


@pytest.mark.parametrize("model", [casino(), random_hmm(3, 4, seed=2)], ids=["casino", "random"])
def test_bayes_metrics_match_brute_force(model):
    data = sample_dataset(model, n_train=1, n_val=1, n_test=4, length=7, seed=11)
    states, symbols = data.test.states, data.test.symbols
    exact = exp.exact_posteriors(model, symbols)
    metrics = exp.bayes_metrics(exact, states)

    smoother, filt, viterbi = [], [], []
    for x in symbols:
        full = brute_force(model, x)
        smoother.append(full.posterior)
        viterbi.append(full.best_path)
        # the filter at t is the last row of the smoother of the prefix x_1..x_t
        filt.append([brute_force(model, x[: t + 1]).posterior[-1] for t in range(len(x))])
    smoother, filt, viterbi = np.array(smoother), np.array(filt), np.array(viterbi)
    np.testing.assert_allclose(exact["smoother"], smoother, atol=1e-10)
    np.testing.assert_allclose(exact["filter"], filt, atol=1e-10)
    assert metrics["smooth_acc"] == exp.accuracy(smoother, states)
    assert metrics["filter_acc"] == exp.accuracy(filt, states)
    assert metrics["viterbi_acc"] == pytest.approx(np.mean(viterbi == states))
    nll = -np.mean(np.log(np.take_along_axis(smoother, states[..., None], -1)))
    assert metrics["smooth_nll"] == pytest.approx(nll, abs=1e-10)


def test_lookahead_zero_is_the_filter_and_long_lag_the_smoother():
    model = casino()
    data = sample_dataset(model, n_train=1, n_val=1, n_test=5, length=25, seed=0)
    exact = exp.exact_posteriors(model, data.test.symbols)
    metrics = exp.bayes_metrics(exact, data.test.states)
    accs = exp.lookahead_accuracy(model, data.test.symbols, data.test.states, [0, 30])
    assert accs == [metrics["filter_acc"], metrics["smooth_acc"]]


def test_uni_tagger_is_causal_and_bi_tagger_reads_the_future():
    torch.manual_seed(0)
    x = torch.randint(0, 6, (2, 12))
    y = x.clone()
    y[:, 8:] = (y[:, 8:] + 1) % 6  # change the future from t = 8 on
    for cell in ("gru", "lstm"):
        uni = exp.StateTagger(6, 2, hidden_size=5, cell=cell, bidirectional=False)
        bi = exp.StateTagger(6, 2, hidden_size=5, cell=cell, bidirectional=True)
        with torch.no_grad():
            assert torch.equal(uni(x)[:, :8], uni(y)[:, :8])
            assert not torch.allclose(bi(x)[:, :8], bi(y)[:, :8])


def test_quick_run_returns_every_key_and_is_reproducible(tmp_path):
    first = exp.run(quick=True, seed=3, out=tmp_path, progress=False, **TINY)
    second = exp.run(quick=True, seed=3, progress=False, **TINY)
    keys = {
        "bayes": {"filter_acc", "smooth_acc", "viterbi_acc", "filter_nll", "smooth_nll"},
        "uni": {"acc", "nll", "tv_to_filter"},
        "bi": {"acc", "nll", "tv_to_smoother"},
    }
    for group, names in keys.items():
        assert names <= set(first.metrics[group])
    assert first.metrics["n_test_steps"] == TINY["n_test"] * TINY["length"]
    assert len(first.metrics["lookahead_acc"]) == TINY["max_lag"] + 1
    assert json.dumps(first.to_dict(), sort_keys=True) == json.dumps(
        second.to_dict(), sort_keys=True
    )
    assert sorted(p.name for p in first.figures) == [
        "hmm_vs_rnn_lookahead.png",
        "hmm_vs_rnn_sequence.png",
    ]
    assert all(p.stat().st_size > 1000 for p in first.figures)
    assert "exact smoother" in first.summary


def test_model_from_json_and_errors(tmp_path):
    path = tmp_path / "m.json"
    random_hmm(4, 6, seed=0).save(path)
    model, name = exp.load_model(str(path))
    assert model.n_states == 4 and name == str(path)
    with pytest.raises(TypeError, match="unknown hmm-vs-rnn option"):
        exp.run(quick=True, progress=False, n_layers=3)
    with pytest.raises(ValueError, match="cell"):
        exp.run(quick=True, progress=False, cell="transformer")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"epochs": 0}, "epochs must be >= 1, got 0"),
        ({"seed": -1}, "seed must be >= 0, got -1"),
        ({"lr": float("nan")}, "lr must be a finite number, got nan"),
        ({"n_train": 2.5}, "n_train must be an integer, got 2.5"),
        ({"threads": 0}, "threads must be >= 1, got 0"),
    ],
)
def test_bad_arguments_are_rejected_before_any_work(overrides, message, monkeypatch):
    def no_sampling(*args, **kwargs):
        raise AssertionError("work started before the arguments were checked")

    monkeypatch.setattr(exp, "sample_dataset", no_sampling)
    with pytest.raises((ValueError, TypeError), match=message):
        exp.run(quick=True, progress=False, **overrides)


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--epochs", "0"], "argument --epochs: expected an integer >= 1, got '0'"),
        (["--seed", "-1"], "argument --seed: expected a seed in [0, 4294967295], got '-1'"),
        (["--hidden-size", "x"], "argument --hidden-size: expected an integer, got 'x'"),
        (["--json", "{tmp}"], "argument --json: '{tmp}' is a directory"),
        (["--out", "{tmp}/file"], "argument --out: '{tmp}/file' is a file, not a folder"),
        (["--model", "{tmp}"], "argument --model: '{tmp}' is a directory, not a file"),
    ],
)
def test_cli_rejects_bad_options_with_exit_2_before_any_work(
    argv, named, tmp_path, monkeypatch, capsys
):
    from pirho.cli import main

    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setattr(exp, "run", lambda **kwargs: pytest.fail("the experiment started"))
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    with pytest.raises(SystemExit) as stop:
        main(["experiment", "hmm-vs-rnn", "--quick", *argv])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert "pirho: error: " + named.replace("{tmp}", str(tmp_path)) in error


def test_cli_runs_the_experiment_on_a_saved_model(tmp_path, capsys):
    from pirho.cli import main

    path = tmp_path / "m.json"
    random_hmm(3, 5, seed=1).save(path)
    out_json = tmp_path / "r.json"
    code = main(
        ["experiment", "hmm-vs-rnn", "--quick", "--model", str(path), "--epochs", "1",
         "--hidden-size", "4", "--n-train", "8", "--json", str(out_json)]
    )  # fmt: skip
    assert code == 0
    metrics = json.loads(out_json.read_text())
    assert metrics["model"] == str(path) and metrics["config"]["n_train"] == 8
    assert "exact filter" in capsys.readouterr().out


@pytest.mark.slow
def test_full_casino_run_meets_the_targets():
    r = exp.run(progress=False).metrics
    assert abs(r["bi"]["acc"] - r["bayes"]["smooth_acc"]) < 0.005
    assert abs(r["bi"]["nll"] - r["bayes"]["smooth_nll"]) < 0.01
    assert abs(r["uni"]["acc"] - r["bayes"]["filter_acc"]) < 0.005


def _numpy_filter_smoother_viterbi(start, trans, emit, x):
    """Plain numpy forward–backward (scaled) and log-space Viterbi for one sequence x (T,)."""
    steps, n_states = len(x), len(start)
    alpha = np.zeros((steps, n_states))
    alpha[0] = start * emit[:, x[0]]
    alpha[0] /= alpha[0].sum()
    for t in range(1, steps):
        alpha[t] = (alpha[t - 1] @ trans) * emit[:, x[t]]
        alpha[t] /= alpha[t].sum()
    beta = np.ones((steps, n_states))
    for t in range(steps - 2, -1, -1):
        beta[t] = trans @ (emit[:, x[t + 1]] * beta[t + 1])
        beta[t] /= beta[t].sum()
    smoother = alpha * beta
    smoother /= smoother.sum(1, keepdims=True)
    delta = np.log(start) + np.log(emit[:, x[0]])
    back = np.zeros((steps, n_states), dtype=int)
    for t in range(1, steps):
        candidates = delta[:, None] + np.log(trans)
        back[t] = candidates.argmax(0)
        delta = candidates.max(0) + np.log(emit[:, x[t]])
    path = [int(delta.argmax())]
    for t in range(steps - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return alpha, smoother, np.array(path[::-1])


def test_quick_run_numbers_equal_an_independent_recomputation(tmp_path, monkeypatch):
    """Every number of the reduced run, recomputed from the same sampled data with plain numpy
    (the Bayes taggers, the lookahead curve) and by retraining the taggers (same seed)."""
    from pirho.plots import thesis

    plotted = {}

    def keep(name, plot):
        def wrapper(*args, **kwargs):
            plotted[name] = (args, kwargs)
            return plot(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(
        thesis, "plot_tagger_sequence", keep("sequence", thesis.plot_tagger_sequence)
    )
    monkeypatch.setattr(thesis, "plot_lookahead", keep("lookahead", thesis.plot_lookahead))
    result = exp.run(quick=True, seed=3, out=tmp_path, progress=False, **TINY)
    m = result.metrics

    model = casino()
    data = sample_dataset(
        model, n_train=TINY["n_train"], n_val=TINY["n_val"], n_test=TINY["n_test"],
        length=TINY["length"], seed=3,
    )  # fmt: skip
    states, symbols = data.test.states, data.test.symbols
    reference = [
        _numpy_filter_smoother_viterbi(model.start, model.trans, model.emit, x) for x in symbols
    ]
    filt = np.array([r[0] for r in reference])
    smoother = np.array([r[1] for r in reference])
    viterbi = np.array([r[2] for r in reference])
    n_steps = states.size
    assert m["n_test_steps"] == n_steps
    # hand counts of right guesses
    assert m["bayes"]["filter_acc"] == np.sum(filt.argmax(-1) == states) / n_steps
    assert m["bayes"]["smooth_acc"] == np.sum(smoother.argmax(-1) == states) / n_steps
    assert m["bayes"]["viterbi_acc"] == np.sum(viterbi == states) / n_steps
    truth = states[..., None]
    for name, probs in (("filter_nll", filt), ("smooth_nll", smoother)):
        nll = -np.log(np.take_along_axis(probs, truth, -1)).mean()
        assert m["bayes"][name] == pytest.approx(nll, rel=1e-9)
    # fixed lag L: the smoother of the prefix x_1..x_{t+L}, read at t
    for entry in m["lookahead_acc"]:
        lag, right = entry["lag"], 0
        for x, h in zip(symbols, states, strict=True):
            for t in range(len(x)):
                prefix = x[: min(t + lag + 1, len(x))]
                _, posterior, _ = _numpy_filter_smoother_viterbi(
                    model.start, model.trans, model.emit, prefix
                )
                right += int(posterior[t].argmax() == h[t])
        assert entry["acc"] == right / n_steps, entry

    # the taggers, retrained with the same seed, give the reported numbers exactly
    sizes = {k: exp.QUICK[k] for k in ("num_layers", "batch_size", "lr")}
    for direction, bidirectional, exact, tv_key in (
        ("uni", False, filt, "tv_to_filter"),
        ("bi", True, smoother, "tv_to_smoother"),
    ):
        tagger, _ = exp.train_tagger(
            data, bidirectional=bidirectional, cell="gru", hidden_size=TINY["hidden_size"],
            epochs=TINY["epochs"], seed=3, progress=False, **sizes,
        )  # fmt: skip
        probs = tagger.predict_proba(symbols)
        assert m[direction]["acc"] == np.sum(probs.argmax(-1) == states) / n_steps
        nll = -np.log(np.take_along_axis(probs, truth, -1)).mean()
        assert m[direction]["nll"] == pytest.approx(nll, rel=1e-9)
        tv = 0.5 * np.abs(probs - exact).sum(-1).mean()
        assert m[direction][tv_key] == pytest.approx(tv, rel=1e-9)
        plotted_probs = plotted["sequence"][0][1][f"{direction}-gru"]
        np.testing.assert_allclose(plotted_probs, probs[0])

    # what the figures draw: the first test sequence, and the lookahead curve
    args, kwargs = plotted["sequence"]
    assert args[0].tolist() == states[0].tolist()
    np.testing.assert_allclose(args[1]["exact filter"], filt[0], atol=1e-10)
    np.testing.assert_allclose(args[1]["exact smoother"], smoother[0], atol=1e-10)
    args, kwargs = plotted["lookahead"]
    assert list(args[0]) == list(range(TINY["max_lag"] + 1))
    assert list(args[1]) == [e["acc"] for e in m["lookahead_acc"]]
    assert kwargs["smooth_acc"] == m["bayes"]["smooth_acc"]
    assert kwargs["learned"] == {"uni-gru": m["uni"]["acc"], "bi-gru": m["bi"]["acc"]}
