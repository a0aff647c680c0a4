"""``pirho hmm casino | brute-vs-dp | fit | decode`` through pirho.cli.main."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pirho.cli import main
from pirho.hmm import CategoricalHMM, casino

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def reference_forward_backward(model, symbols):
    """Scaled forward-backward in plain numpy, written independently of pirho.hmm.

    Returns (log P(x), filter (T, K), posterior (T, K)).
    """
    start, trans, emit = np.asarray(model.start), np.asarray(model.trans), np.asarray(model.emit)
    lik = emit[:, symbols].T
    alpha = np.empty_like(lik)
    log_px = 0.0
    message = start * lik[0]
    for t in range(len(symbols)):
        if t:
            message = (alpha[t - 1] @ trans) * lik[t]
        norm = message.sum()
        log_px += np.log(norm)
        alpha[t] = message / norm
    beta = np.ones_like(lik)
    for t in range(len(symbols) - 2, -1, -1):
        b = trans @ (lik[t + 1] * beta[t + 1])
        beta[t] = b / b.sum()
    post = alpha * beta
    return log_px, alpha, post / post.sum(axis=1, keepdims=True)


def reference_viterbi(model, symbols):
    log_start, log_trans = np.log(model.start), np.log(model.trans)
    log_lik = np.log(np.asarray(model.emit)[:, symbols].T)
    score = log_start + log_lik[0]
    back = np.zeros(log_lik.shape, dtype=np.int64)
    for t in range(1, len(symbols)):
        candidates = score[:, None] + log_trans
        back[t] = candidates.argmax(axis=0)
        score = candidates.max(axis=0) + log_lik[t]
    path = np.empty(len(symbols), dtype=np.int64)
    path[-1] = score.argmax()
    for t in range(len(symbols) - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def run_cli(capsys, *argv):
    try:
        code = main(["hmm", *map(str, argv)])
    except SystemExit as exc:  # argparse rejects an option while parsing
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ------------------------------------------------------------------------------ casino


def test_casino_json_matches_independent_forward_backward(tmp_path, capsys):
    out_json, out_png = tmp_path / "casino.json", tmp_path / "casino.png"
    code, out, err = run_cli(
        capsys, "casino", "--rolls", 3000, "--seed", 7, "--json", out_json, "--plot", out_png
    )
    assert code == 0, err
    figures = json.loads(out_json.read_text())
    states, rolls = casino().sample(3000, seed=7)
    log_px, filtered, posterior = reference_forward_backward(casino(), np.asarray(rolls))
    states = np.asarray(states)
    assert figures["n_rolls"] == 3000 and figures["seed"] == 7
    assert figures["log_likelihood"] == pytest.approx(log_px, rel=1e-10)
    acc = figures["accuracy"]
    assert figures["loaded_fraction"] == pytest.approx(np.mean(states == 1), abs=1e-12)
    assert acc["posterior"] == pytest.approx(np.mean(posterior.argmax(1) == states), abs=1e-12)
    assert acc["filter"] == pytest.approx(np.mean(filtered.argmax(1) == states), abs=1e-12)
    viterbi_path = reference_viterbi(casino(), np.asarray(rolls))
    assert acc["viterbi"] == pytest.approx(np.mean(viterbi_path == states), abs=1e-12)
    assert acc["always_fair"] == pytest.approx(np.mean(states == 0), abs=1e-12)
    # The printed table shows the same numbers.
    assert f"log P(X) = {log_px:.4f}" in out
    assert f"{acc['posterior']:8.4f}" in out and f"{acc['viterbi']:8.4f}" in out
    assert out_png.read_bytes()[:8] == PNG_MAGIC


FIT = ["fit", "in.txt", "-o", "m.json"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["casino", "--rolls", 0], "argument --rolls: expected an integer in [1, 20,000,000]"),
        (["casino", "--seed", -1], "argument --seed: expected a seed in [0, 4294967295], got '-1'"),
        (["casino", "--plot-steps", "x"], "argument --plot-steps: expected an integer, got 'x'"),
        (["brute-vs-dp", "--max-steps", 0], "argument --max-steps: expected an integer >= 1"),
        (["brute-vs-dp", "--time-budget", "nan"], "argument --time-budget: expected a finite"),
        ([*FIT, "--states", 0], "argument --states: expected an integer >= 1"),
        ([*FIT, "--states", 2, "--iter", 0], "argument --iter: expected an integer >= 1"),
        ([*FIT, "--states", 2, "--restarts", 0], "argument --restarts: expected an integer >= 1"),
        ([*FIT, "--states", 2, "--tol", -1], "argument --tol: expected a number >= 0"),
        ([*FIT, "--states", 2, "--seed", -1], "argument --seed: expected a seed"),
    ],
)  # fmt: skip
def test_bad_options_are_exit_2_naming_option_and_value(
    tmp_path, monkeypatch, capsys, argv, message
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text("a b\n", encoding="utf-8")
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and f"pirho: error: {message}" in err and out == ""
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize(
    "command, option",
    [("casino", "--json"), ("casino", "--plot"), ("brute-vs-dp", "--json"),
     ("brute-vs-dp", "--plot"), ("fit", "-o"), ("decode", "-o")],
)  # fmt: skip
def test_unwritable_outputs_are_exit_2_before_any_work(tmp_path, capsys, command, option):
    # A folder where a file is wanted, and a path under a file: both named, nothing run.
    (tmp_path / "in.txt").write_text("a b\n", encoding="utf-8")
    (tmp_path / "m.json").write_text("{}", encoding="utf-8")
    args = {
        "casino": ["casino", "--rolls", 10],
        "brute-vs-dp": ["brute-vs-dp", "--max-steps", 2],
        "fit": ["fit", tmp_path / "in.txt", "--states", 2],
        "decode": ["decode", tmp_path / "in.txt", "--model", tmp_path / "m.json"],
    }[command]
    for bad, problem in ((tmp_path, "is a directory"), (tmp_path / "in.txt" / "x", "is a file")):
        code, out, err = run_cli(capsys, *args, option, bad)
        assert code == 2 and problem in err and str(bad) in err and out == ""


# ------------------------------------------------------------------------------ brute-vs-dp


def test_brute_vs_dp_command_prints_table_and_writes_json(tmp_path, capsys):
    out_json, out_png = tmp_path / "b.json", tmp_path / "b.png"
    code, out, err = run_cli(
        capsys,
        "brute-vs-dp",
        "--max-steps",
        6,
        "--time-budget",
        30,
        "--json",
        out_json,
        "--plot",
        out_png,
    )
    assert code == 0, err
    metrics = json.loads(out_json.read_text())
    measured = [r for r in metrics["rows"] if not r["extrapolated"]]
    assert [r["T"] for r in measured] == [1, 2, 3, 4, 5, 6]
    assert metrics["stopped_because"] == "max_steps"
    row_100 = next(r for r in metrics["rows"] if r["T"] == 100)
    assert row_100["n_paths"] == 2**100 and row_100["dp_ops"] == 400
    assert metrics["max_abs_diff"] < 1e-10
    assert "1.27e+30" in out and "400" in out
    assert out_png.read_bytes()[:8] == PNG_MAGIC


# ------------------------------------------------------------------------------ fit / decode


def write_casino_tokens(path, n_lines: int, length: int, seed: int):
    """Casino rolls as a token file with faces "1".."6"; returns the true states per line."""
    states_per_line, lines = [], []
    for i in range(n_lines):
        states, rolls = casino().sample(length, seed=seed + i)
        states_per_line.append(np.asarray(states))
        lines.append(" ".join(str(int(r) + 1) for r in rolls))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return states_per_line


def relabelled_accuracy(true_states, decoded):
    """Accuracy of a 2-state decoding under the better of the two labellings."""
    true_states, decoded = np.concatenate(true_states), np.concatenate(decoded)
    same = np.mean(true_states == decoded)
    return max(same, 1 - same)


def test_fit_then_decode_recovers_the_loaded_die(tmp_path, capsys):
    data, model_path, decoded_path = tmp_path / "rolls.txt", tmp_path / "m.json", tmp_path / "d"
    true_states = write_casino_tokens(data, n_lines=10, length=2000, seed=100)
    code, out, err = run_cli(
        capsys,
        "fit",
        data,
        "--states",
        2,
        "--iter",
        200,
        "--seed",
        0,
        "--restarts",
        3,
        "-o",
        model_path,
    )
    assert code == 0, err
    document = json.loads(model_path.read_text())
    assert document["format"] == "pirho.TokenHMM" and document["version"] == 1
    assert document["tokens"] == ["1", "2", "3", "4", "5", "6"]
    assert document["training"]["n_sequences"] == 10
    assert document["training"]["n_tokens"] == 20_000
    fitted = CategoricalHMM.from_dict(document["model"])
    # The loaded state is the one that rolls more sixes; it shows about 1/2 sixes.
    loaded = int(np.argmax(fitted.emit[:, 5]))
    assert fitted.emit[loaded, 5] == pytest.approx(0.5, abs=0.08)
    assert fitted.emit[1 - loaded, 5] == pytest.approx(1 / 6, abs=0.05)
    assert f"wrote {model_path}" in out

    code, out, err = run_cli(capsys, "decode", data, "--model", model_path, "-o", decoded_path)
    assert code == 0, err
    decoded = [np.array(line.split(), dtype=int) for line in decoded_path.read_text().splitlines()]
    assert [len(d) for d in decoded] == [2000] * 10
    assert relabelled_accuracy(true_states, decoded) > 0.75
    # The CLI's output is exactly the fitted model's Viterbi path of each line.
    first_line = np.array(data.read_text().splitlines()[0].split(), dtype=int) - 1
    np.testing.assert_array_equal(decoded[0], reference_viterbi(fitted, first_line))


def test_decode_posterior_with_a_plain_model_json_to_stdout(tmp_path, capsys):
    model_path, data = tmp_path / "casino.json", tmp_path / "x.txt"
    casino().save(model_path)
    rolls = [np.asarray(casino().sample(n, seed=n)[1]) for n in (5, 40, 1)]
    data.write_text("\n".join(" ".join(map(str, r)) for r in rolls) + "\n\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "decode", data, "--model", model_path, "--method", "posterior")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 3
    for line, symbols in zip(lines, rolls, strict=True):
        _, _, posterior = reference_forward_backward(casino(), symbols)
        np.testing.assert_array_equal(np.array(line.split(), dtype=int), posterior.argmax(1))


# ------------------------------------------------------------------------------ bad input


@pytest.fixture
def token_model(tmp_path, capsys):
    """A fitted token model over the tokens a, b, c."""
    data = tmp_path / "train.txt"
    data.write_text("a b c a b\nc c a\nb a\n", encoding="utf-8")
    path = tmp_path / "model.json"
    code, _, err = run_cli(capsys, "fit", data, "--states", 2, "--iter", 5, "-o", path)
    assert code == 0, err
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),  # missing file
        (b"\n  \n\t\n", "has no sequences"),
        (b"", "has no sequences"),
        (b"a b \xff\xfe c\n", "not UTF-8 text: byte 0xff at offset 4"),
    ],
)
@pytest.mark.parametrize("command", ["fit", "decode"])
def test_unreadable_or_empty_input_is_exit_2(
    tmp_path, capsys, token_model, command, content, message
):
    path = tmp_path / "input.txt"
    if content is not None:
        path.write_bytes(content)
    extra = (
        ["--states", 2, "-o", tmp_path / "m.json"] if command == "fit" else ["--model", token_model]
    )
    code, out, err = run_cli(capsys, command, path, *extra)
    assert code == 2
    assert "pirho: error: " in err and message in err and str(path) in err
    assert out == ""


def test_input_that_is_a_directory_is_exit_2(tmp_path, capsys):
    code, _, err = run_cli(capsys, "fit", tmp_path, "--states", 2, "-o", tmp_path / "m.json")
    assert code == 2 and str(tmp_path) in err and "is a folder, not a file" in err


def test_decode_names_unknown_token_and_its_line(tmp_path, capsys, token_model):
    data = tmp_path / "x.txt"
    data.write_text("a b\n\nc zebra a\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "decode", data, "--model", token_model)
    assert code == 2
    assert "token 'zebra' on line 3 is not in the model's vocabulary (3 tokens: a b c)" in err
    assert out == ""


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"format": "other", "version": 1}', "is neither a token model"),
        ('{"format": "pirho.TokenHMM", "version": 9}', "has version 9"),
        ('{"format": "pirho.TokenHMM", "version": 1, "model": {}}', "lacks the key 'tokens'"),
    ],
)
def test_malformed_model_json_is_exit_2(tmp_path, capsys, document, message):
    model, data = tmp_path / "m.json", tmp_path / "x.txt"
    model.write_text(document, encoding="utf-8")
    data.write_text("a\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "decode", data, "--model", model)
    assert code == 2 and message in err and str(model) in err


def test_model_json_with_invalid_parameters_or_token_count_is_exit_2(tmp_path, capsys, token_model):
    data = tmp_path / "x.txt"
    data.write_text("a b\n", encoding="utf-8")
    document = json.loads(token_model.read_text())

    too_few = dict(document, tokens=["a", "b"])
    (tmp_path / "few.json").write_text(json.dumps(too_few))
    code, _, err = run_cli(capsys, "decode", data, "--model", tmp_path / "few.json")
    assert code == 2 and "2 tokens for a model with 3 symbols" in err

    negative = json.loads(token_model.read_text())
    negative["model"]["trans"][0] = [1.5, -0.5]
    (tmp_path / "neg.json").write_text(json.dumps(negative))
    code, _, err = run_cli(capsys, "decode", data, "--model", tmp_path / "neg.json")
    assert code == 2 and "is malformed" in err and "trans" in err

    missing = tmp_path / "absent.json"
    code, _, err = run_cli(capsys, "decode", data, "--model", missing)
    assert code == 2 and "argument --model" in err and "does not exist" in err


def test_decode_rejects_a_line_with_probability_zero(tmp_path, capsys):
    # State 0 emits only "x", state 1 only "y", and state 1 never returns to 0.
    model = CategoricalHMM([1.0, 0.0], [[0.5, 0.5], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]])
    model_path, data = tmp_path / "m.json", tmp_path / "x.txt"
    model_path.write_text(
        json.dumps(
            {
                "format": "pirho.TokenHMM",
                "version": 1,
                "tokens": ["x", "y"],
                "model": model.to_dict(),
            }
        )
    )
    data.write_text("x x y\n\ny x\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "decode", data, "--model", model_path)
    assert code == 2 and "line 3" in err and "probability 0" in err


def test_hmm_without_a_command_prints_help_and_exits_2(capsys):
    code, out, _ = run_cli(capsys)
    assert code == 2 and "casino" in out and "brute-vs-dp" in out


@pytest.mark.parametrize("module", ["pirho.hmm.io", "pirho.experiments.casino"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    failures, tried = doctest.testmod(importlib.import_module(module))
    assert tried > 0 and failures == 0


def test_fit_iter_is_a_hard_maximum_with_restarts(tmp_path, capsys):
    # --iter 5 with 5 random starts used to run 10 iterations; now the fit stops at 5.
    data, model_path = tmp_path / "rolls.txt", tmp_path / "m.json"
    write_casino_tokens(data, n_lines=2, length=500, seed=3)
    code, out, err = run_cli(
        capsys, "fit", data, "--states", 2, "--iter", 5, "--tol", 0, "-o", model_path
    )
    assert code == 0, err
    training = json.loads(model_path.read_text())["training"]
    assert training["n_iterations"] == 5 and training["n_restarts"] == 5
    assert "after 5 iterations" in out


def test_casino_experiment_follows_the_protocol_and_matches_the_cli(tmp_path, capsys):
    from pirho.experiments import casino as experiment

    result = experiment.run(quick=True, seed=3, out=tmp_path, progress=False)
    assert result.metrics["n_rolls"] == experiment.QUICK["n_rolls"] == 300
    assert [p.name for p in result.figures] == [experiment.FIGURE_NAME]
    assert result.figures[0].read_bytes()[:8] == PNG_MAGIC
    code, out, err = run_cli(capsys, "casino", "--rolls", 300, "--seed", 3)
    assert code == 0, err
    assert out.strip() == result.summary == experiment.summary(result.metrics)
    acc = result.metrics["accuracy"]
    assert experiment.headline(result.metrics) == (
        f"accuracy: filter {acc['filter']:.3f}, smoother {acc['posterior']:.3f}, "
        f"Viterbi {acc['viterbi']:.3f}"
    )
    assert experiment.requirements() is None and experiment.TITLE and experiment.EXPLANATION
    with pytest.raises(TypeError, match="unknown casino option"):
        experiment.run(quick=True, n_roll=5)
    with pytest.raises(ValueError, match="n_rolls must be >= 1, got 0"):
        experiment.run(n_rolls=0)
