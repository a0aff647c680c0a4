"""lm-leak and cloze experiments: reduced configurations return every JSON key and plot."""

import json

import pytest

from pirho.cli import main
from pirho.experiments import load_experiment


@pytest.fixture(autouse=True)
def time_machine_available(one_torch_thread):
    from pirho.data import resolve_time_machine

    try:
        resolve_time_machine()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


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
    uni = result.metrics["uni"]
    assert uni["heldout_teacher_forced_ppl"] == pytest.approx(uni["heldout_causal_ppl"], rel=1e-5)
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
    assert all(0 <= metrics[k] <= 1 for k in ("left_acc", "right_acc", "both_acc"))
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
    assert main(argv) == 0
    data = json.loads(path.read_text())
    assert LEAK_KEYS <= set(data["uni"]) and LEAK_KEYS <= set(data["bi"])
    assert "train ppl" in capsys.readouterr().out
