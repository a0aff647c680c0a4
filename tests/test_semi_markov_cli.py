"""``pirho hmm fit --durations … --max-duration D``: a semi-Markov fit from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pirho.cli import main
from pirho.hmm import Durations, PoissonHMM, SemiMarkovHMM

NILE = Path(__file__).resolve().parents[1] / "examples" / "data" / "nile.csv"


@pytest.fixture
def counts_csv(tmp_path):
    emissions = PoissonHMM([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], [[1.0], [7.0]])
    truth = SemiMarkovHMM([0.5, 0.5], [[0, 1], [1, 0]], Durations.poisson([5.0, 12.0], 40),
                          emissions)  # fmt: skip
    path = tmp_path / "counts.csv"
    with open(path, "w") as f:
        f.write("run,count\n")
        for run in range(3):
            _, x = truth.sample(300, seed=run)
            f.writelines(f"r{run},{int(v)}\n" for v in x[:, 0])
    return path


def test_fit_writes_a_semi_markov_model_whose_numbers_are_printed(counts_csv, tmp_path, capsys):
    out = tmp_path / "m.json"
    argv = ["hmm", "fit", "--emission", "poisson", "--states", "2", "--durations", "poisson",
            "--max-duration", "40", "--sequence-column", "run", "--seed", "0",
            str(counts_csv), "-o", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    document = json.loads(out.read_text())
    model = SemiMarkovHMM.from_dict(document)
    assert model.max_duration == 40 and model.durations.family == "poisson"
    from pirho.data.sequences import read_sequences

    data = read_sequences(counts_csv, sequence_column="run")
    xs = np.split(data.X, np.cumsum(data.lengths)[:-1])
    total = float(model.log_likelihood(xs).sum())
    assert total == pytest.approx(document["training"]["log_likelihood"], rel=1e-12)
    assert f"log-likelihood {total:.3f}" in printed
    assert sorted(model.durations.mean().round(0).tolist()) == [6.0, 13.0]


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--emission", "gaussian", "--states", "1-3", "--durations", "table",
          "--max-duration", "5"], "--durations fits one K"),
        (["--states", "2", "--durations", "table", "--max-duration", "5"],
         "--durations needs --emission"),
        (["--emission", "gaussian", "--states", "2", "--max-duration", "5"],
         "--durations and --max-duration go together"),
        (["--emission", "gaussian", "--states", "1", "--durations", "poisson",
          "--max-duration", "5"], "--states >= 2"),
    ],
)  # fmt: skip
def test_options_that_do_not_apply_are_refused(extra, message, tmp_path, capsys):
    assert main(["hmm", "fit", *extra, str(NILE), "-o", str(tmp_path / "m.json")]) != 0
    assert message in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize("option,value", [("--durations", "weibull"), ("--max-duration", "0")])
def test_bad_values_are_refused_while_parsing(option, value, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["hmm", "fit", "--emission", "gaussian", "--states", "2", option, value,
              str(NILE), "-o", str(tmp_path / "m.json")])  # fmt: skip
    assert option in capsys.readouterr().err


def test_decode_writes_the_segmentation_and_posteriors(counts_csv, tmp_path):
    model_path, states_path = tmp_path / "m.json", tmp_path / "s.csv"
    assert main(["hmm", "fit", "--emission", "poisson", "--states", "2", "--durations", "table",
                 "--max-duration", "30", "--sequence-column", "run", "--iter", "20",
                 str(counts_csv), "-o", str(model_path)]) == 0  # fmt: skip
    assert main(["hmm", "decode", "--model", str(model_path), "--sequence-column", "run",
                 str(counts_csv), "-o", str(states_path)]) == 0  # fmt: skip
    model = SemiMarkovHMM.from_dict(json.loads(model_path.read_text()))
    from pirho.data.sequences import read_sequences

    data = read_sequences(counts_csv, sequence_column="run")
    xs = np.split(data.X, np.cumsum(data.lengths)[:-1])
    table = np.loadtxt(states_path, delimiter=",", skiprows=1, usecols=(1, 2, 3, 4))
    np.testing.assert_allclose(table[:, 2:], np.concatenate(model.posterior(xs)), atol=1e-6)
    best = np.concatenate([b.states for b in model.viterbi(xs)])
    assert table[:, 1].astype(int).tolist() == best.tolist()
    assert main(["hmm", "decode", "--model", str(model_path), "--lag", "1",
                 str(counts_csv)]) != 0  # fmt: skip
