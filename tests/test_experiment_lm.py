"""lm-leak and cloze experiments: reduced configurations return every JSON key and plot."""

import json

import pytest

from pirho.cli import main
from pirho.experiments import load_experiment


@pytest.fixture(autouse=True)
def time_machine_available(time_machine, one_torch_thread):
    """Every test here trains on The Time Machine (found by conftest's fixture, else skipped)."""


LEAK_KEYS = {"train_ppl", "heldout_teacher_forced_ppl", "heldout_causal_ppl", "sample"}


def test_lm_leak_reduced_returns_every_key_and_the_uni_model_has_no_gap(tmp_path):
    experiment = load_experiment("lm-leak")
    result = experiment.run(
        quick=True,
        epochs=2,
        hidden_size=16,
        max_tokens=2_000,
        heldout_tokens=400,
        eval_every=1,
        n_chars=10,
        out=tmp_path,
        progress=False,
    )
    for name in ("uni", "bi"):
        block = result.metrics[name]
        assert LEAK_KEYS <= set(block)
        assert all(block[k] > 1 for k in LEAK_KEYS - {"sample"})
        assert block["sample"].startswith("time traveller") and len(block["sample"]) == 24
        assert len(block["history"]) == 2 and block["best_curve_epoch"] in (1, 2)
    uni, bi = result.metrics["uni"], result.metrics["bi"]
    assert uni["heldout_teacher_forced_ppl"] == pytest.approx(uni["heldout_causal_ppl"], rel=1e-5)
    # the leak: reading the whole window helps the bidirectional model, even after 2 epochs
    assert bi["heldout_teacher_forced_ppl"] < bi["heldout_causal_ppl"]
    assert sorted(p.name for p in result.figures) == ["lm_leak_bars.png", "lm_leak_curves.png"]
    assert all(p.stat().st_size > 1000 for p in result.figures)
    assert "held-out causal" in result.summary
    with pytest.raises(TypeError, match="unknown lm-leak option"):
        experiment.run(quick=True, hiden_size=3)


def test_cloze_reduced_returns_every_key(tmp_path):
    result = load_experiment("cloze").run(
        quick=True,
        epochs=1,
        hidden_size=16,
        embedding_dim=8,
        max_tokens=3_000,
        heldout_tokens=500,
        eval_every=1,
        out=tmp_path,
        progress=False,
    )
    metrics = result.metrics
    assert {"left_acc", "right_acc", "both_acc", "n_masked"} <= set(metrics)
    assert metrics["n_masked"] == 7 * 69  # 7 windows of 71, inner characters
    # the learning curve scores the same held-out text as the bars: its last point is the bar
    last = metrics["history"][-1]
    assert [last[k] for k in ("left_acc", "right_acc", "both_acc")] == [
        metrics[k] for k in ("left_acc", "right_acc", "both_acc")
    ]
    # chance: the held-out tail's most frequent character, counted here from the raw tokens
    from pirho.data import load_time_machine

    tokens, _ = load_time_machine(max_tokens=None)
    tail = tokens[-500:]
    assert metrics["chance_acc"] == max(tail.count(t) for t in set(tail)) / 500
    assert set(metrics["examples"]) == set(metrics["config"]["queries"])
    assert len(result.figures) == 2


def test_experiment_cli_writes_the_json(tmp_path, capsys):
    path = tmp_path / "leak.json"
    argv = [
        "experiment",
        "lm-leak",
        "--quick",
        "--epochs",
        "1",
        "--hidden-size",
        "8",
        "--max-tokens",
        "1500",
        "--heldout-tokens",
        "300",
        "--json",
        str(path),
    ]
    assert main([*argv, "--no-progress"]) == 0
    data = json.loads(path.read_text())
    assert LEAK_KEYS <= set(data["uni"]) and LEAK_KEYS <= set(data["bi"])
    captured = capsys.readouterr()
    assert "train ppl" in captured.out and "it/s" not in captured.err  # no progress bar


@pytest.mark.parametrize("name", ["lm-leak", "cloze"])
@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--epochs", "0"], "argument --epochs: expected an integer >= 1, got '0'"),
        (["--lr", "nan"], "argument --lr: expected a finite number, got 'nan'"),
        (["--max-tokens", "-1"], "argument --max-tokens: expected an integer >= 1, got '-1'"),
        (["--text", "{tmp}/missing.txt"], "argument --text: '{tmp}/missing.txt' does not exist"),
    ],
)
def test_cli_rejects_bad_options_before_loading_text(
    name, argv, named, tmp_path, capsys, monkeypatch
):
    def no_loading(*args, **kwargs):
        raise AssertionError("work started before the options were checked")

    monkeypatch.setattr(load_experiment(name), "load_lm_text", no_loading)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    with pytest.raises(SystemExit) as stop:
        main(["experiment", name, "--quick", *argv])
    assert stop.value.code == 2
    assert "pirho: error: " + named.replace("{tmp}", str(tmp_path)) in capsys.readouterr().err
