"""``pirho hmm fit --emission`` and ``pirho hmm decode`` on users' data files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pirho.cli import main
from pirho.hmm import sklearn as hmm

NILE = Path(__file__).resolve().parents[1] / "examples" / "data" / "nile.csv"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def two_regime_model():
    model = hmm.GaussianHMM(2, "diag", init_params="")
    model.startprob_, model.transmat_ = np.array([0.5, 0.5]), np.array([[0.95, 0.05], [0.1, 0.9]])
    model.means_, model.covars_ = np.array([[0.0, 0.0], [4.0, -2.0]]), np.ones((2, 2))
    return model


@pytest.fixture
def csv_data(tmp_path):
    model = two_regime_model()
    path = tmp_path / "obs.csv"
    with open(path, "w") as f:
        f.write("run,a,b\n")
        for run, n in (("r1", 120), ("r2", 80)):
            X, _ = model.sample(n, random_state=len(run) + n)
            f.writelines(f"{run},{float(a)!r},{float(b)!r}\n" for a, b in X)
    return path


def test_fit_range_prints_the_table_and_keeps_the_lowest_bic(csv_data, tmp_path, capsys):
    out = tmp_path / "m.json"
    argv = ["hmm", "fit", "--emission", "gaussian", "--states", "1-3", "--sequence-column", "run",
            "--seed", "0", "--iter", "50", str(csv_data), "-o", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    document = json.loads(out.read_text())
    rows = document["training"]["selection"]
    assert [r["states"] for r in rows] == [1, 2, 3]
    best = min(rows, key=lambda r: r["bic"])
    assert document["training"]["chosen_states"] == best["states"] == 2
    # the table's numbers are the model's own: refit K = 2 the same way and compare
    from pirho.data.sequences import read_sequences

    data = read_sequences(csv_data, sequence_column="run")
    refit = hmm.GaussianHMM(2, n_iter=50, tol=1e-6, random_state=0).fit(data.X, data.lengths)
    assert best["bic"] == pytest.approx(refit.bic(data.X, data.lengths), rel=1e-12)
    assert f"{best['bic']:.3f}" in printed and "lowest BIC" in printed


def test_decode_writes_states_and_lagged_posteriors(csv_data, tmp_path):
    model_path, states_path, plot = tmp_path / "m.json", tmp_path / "s.csv", tmp_path / "p.png"
    model = two_regime_model()
    model_path.write_text(json.dumps(model.to_dict()))
    argv = ["hmm", "decode", "--model", str(model_path), "--sequence-column", "run", "--lag", "2",
            "--plot", str(plot), str(csv_data), "-o", str(states_path)]  # fmt: skip
    assert main(argv) == 0
    rows = [line.split(",") for line in states_path.read_text().splitlines()]
    assert rows[0] == ["sequence", "step", "state", "p0", "p1"]
    from pirho.data.sequences import read_sequences

    data = read_sequences(csv_data, sequence_column="run")
    assert [r[0] for r in rows[1:]] == ["r1"] * 120 + ["r2"] * 80
    np.testing.assert_array_equal(
        [int(r[2]) for r in rows[1:]], model.predict(data.X, data.lengths)
    )
    lagged = model.predict_proba(data.X, data.lengths, lag=2)
    np.testing.assert_allclose([[float(p) for p in r[3:]] for r in rows[1:]], lagged, atol=1e-6)
    assert plot.read_bytes()[:8] == PNG_MAGIC


def test_nile_example_finds_the_1899_change(tmp_path, capsys):
    model_path, states_path = tmp_path / "nile.json", tmp_path / "nile.csv"
    fit = ["hmm", "fit", "--emission", "gaussian", "--states", "1-3", "--columns", "volume",
           "--iter", "200", str(NILE), "-o", str(model_path)]  # fmt: skip
    assert main(fit) == 0
    assert json.loads(model_path.read_text())["training"]["chosen_states"] == 2
    decode = ["hmm", "decode", "--model", str(model_path), "--columns", "volume", str(NILE),
              "-o", str(states_path)]  # fmt: skip
    assert main(decode) == 0
    states = [int(line.split(",")[2]) for line in states_path.read_text().splitlines()[1:]]
    change = [1871 + t for t in range(1, 100) if states[t] != states[t - 1]]
    assert change == [1899]  # Cobb (1978): the flow drops after 1898


def test_poisson_and_categorical_from_npy(tmp_path):
    counts = np.random.default_rng(0).poisson(np.repeat([1.0, 8.0, 1.0], 40))
    np.save(tmp_path / "counts.npy", counts)
    for emission in ("poisson", "categorical"):
        data = counts if emission == "poisson" else np.minimum(counts, 5)
        np.save(tmp_path / f"{emission}.npy", data)
        out = tmp_path / f"{emission}.json"
        argv = ["hmm", "fit", "--emission", emission, "--states", "2", "--seed", "1",
                str(tmp_path / f"{emission}.npy"), "-o", str(out)]  # fmt: skip
        assert main(argv) == 0
        model = hmm.load_estimator(json.loads(out.read_text()))
        inputs = data[:, None] if emission == "poisson" else data[:, None].astype(np.int64)
        fitted = type(model)(2, random_state=1, n_iter=100, tol=1e-6).fit(inputs)
        assert model.score(inputs) == pytest.approx(fitted.score(inputs), rel=1e-9)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fit", "--emission", "gaussian", "--states", "0"],
         "argument --states: expected an integer >= 1, got '0'"),
        (["fit", "--emission", "gaussian", "--states", "2", "--covariance-type", "round"],
         "argument --covariance-type: invalid choice: 'round'"),
        (["fit", "--emission", "gaussian", "--states", "2", "--iter", "0"],
         "argument --iter: expected an integer >= 1"),
        (["fit", "--states", "1-3"], "a range needs --emission"),
        (["fit", "--emission", "gmm", "--states", "2", "--n-mix", "0"],
         "argument --n-mix: expected an integer >= 1"),
        (["fit", "--emission", "poisson", "--states", "2", "--columns", ","], "--columns ','"),
    ],
)  # fmt: skip
def test_bad_fit_options_exit_2_naming_the_option(argv, message, tmp_path, capsys):
    data = tmp_path / "x.csv"
    data.write_text("1\n2\n3\n")
    try:
        code = main(["hmm", *argv, str(data), "-o", str(tmp_path / "m.json")])
    except SystemExit as exc:  # argparse rejects a badly typed option while parsing
        code = exc.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()


def test_bad_states_text_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["hmm", "fit", "--emission", "gaussian", "--states", "two", "x.csv", "-o", "m.json"])
    assert exit_info.value.code == 2
    assert "--states" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--lag", "-1"], "argument --lag: expected an integer >= 0, got '-1'"),
        (["--plot", "x.txt"], "matplotlib cannot write '.txt' files"),
        (["--dask", "localhost"], "--dask 'localhost'"),
    ],
)
def test_bad_decode_options_exit_2_before_reading_data(extra, message, tmp_path, capsys):
    model_path = tmp_path / "m.json"
    model_path.write_text(json.dumps(two_regime_model().to_dict()))
    data = tmp_path / "unreadable.csv"
    data.write_text("not,numbers\n\x00\x01\n")  # reading it would fail with another message
    argv = ["hmm", "decode", "--model", str(model_path), *extra, str(data)]
    try:
        code = main(argv)
    except SystemExit as exc:  # refused while parsing
        code = exc.code
    assert code == 2
    assert message in capsys.readouterr().err


def test_token_model_rejects_the_new_options(tmp_path, capsys):
    from pirho.hmm import casino

    model_path = tmp_path / "casino.json"
    casino().save(model_path)
    (tmp_path / "rolls.txt").write_text("0 1 5\n")
    argv = ["hmm", "decode", "--model", str(model_path), "--lag", "1", str(tmp_path / "rolls.txt")]
    assert main(argv) == 2
    assert "--lag needs a model written by `pirho hmm fit --emission`" in capsys.readouterr().err
