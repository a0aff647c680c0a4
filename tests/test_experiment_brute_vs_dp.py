"""The brute-vs-dp experiment: the DP column equals brute force, and the counts are K^T, T·K²."""

from __future__ import annotations

import doctest
import itertools
import json

import numpy as np
import pytest

from pirho.cli import main
from pirho.experiments import brute_vs_dp
from pirho.hmm import casino

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ROW_KEYS = {
    "T",
    "n_paths",
    "brute_seconds",
    "brute_years",
    "dp_ops",
    "dp_seconds",
    "max_abs_diff",
    "log_likelihood_brute",
    "log_likelihood_dp",
    "extrapolated",
}


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("brute")
    return brute_vs_dp.run(quick=True, max_steps=8, time_budget=60.0, progress=False, out=out)


def enumerate_log_likelihood(model, symbols):
    """log P(x) by summing every path with itertools, independent of pirho's brute_force."""
    start, trans, emit = model.start, model.trans, model.emit
    total = 0.0
    for path in itertools.product(range(model.n_states), repeat=len(symbols)):
        p = start[path[0]] * emit[path[0], symbols[0]]
        for t in range(1, len(symbols)):
            p *= trans[path[t - 1], path[t]] * emit[path[t], symbols[t]]
        total += p
    return np.log(total)


def test_dp_column_equals_brute_force_to_1e_10(result):
    measured = [row for row in result.metrics["rows"] if not row["extrapolated"]]
    assert [row["T"] for row in measured] == list(range(1, 9))
    _, symbols = casino().sample(max(brute_vs_dp.EXTRAPOLATED_STEPS), seed=0)
    for row in measured:
        assert abs(row["log_likelihood_dp"] - row["log_likelihood_brute"]) <= 1e-10
        assert row["max_abs_diff"] <= 1e-10
        reference = enumerate_log_likelihood(casino(), np.asarray(symbols[: row["T"]]))
        assert row["log_likelihood_dp"] == pytest.approx(reference, rel=1e-12)
    assert result.metrics["max_abs_diff"] == max(row["max_abs_diff"] for row in measured)


def test_n_paths_is_k_to_the_t_and_dp_ops_is_t_k_squared(result):
    k = result.metrics["k"]
    assert k == 2
    for row in result.metrics["rows"]:
        assert row["n_paths"] == k ** row["T"]
        assert row["dp_ops"] == row["T"] * k * k
    row_100 = next(row for row in result.metrics["rows"] if row["T"] == 100)
    assert row_100["n_paths"] == 2**100 and row_100["dp_ops"] == 400


def test_extrapolated_rows_scale_the_last_measured_time(result):
    rows, c = result.metrics["rows"], result.metrics["seconds_per_path_step"]
    last = [row for row in rows if not row["extrapolated"]][-1]
    assert c == pytest.approx(last["brute_seconds"] / (last["T"] * 2 ** last["T"]))
    extrapolated = [row for row in rows if row["extrapolated"]]
    assert [row["T"] for row in extrapolated] == list(brute_vs_dp.EXTRAPOLATED_STEPS)
    for row in extrapolated:
        assert row["brute_seconds"] == pytest.approx(c * row["T"] * 2.0 ** row["T"])
        assert row["brute_years"] == pytest.approx(row["brute_seconds"] / (365.25 * 86400))
        assert row["max_abs_diff"] is None and row["dp_seconds"] > 0


def test_metrics_json_has_the_documented_keys(result, tmp_path):
    path = result.write_json(tmp_path / "r.json")
    metrics = json.loads(path.read_text())
    assert {"k", "rows", "max_abs_diff", "seconds_per_path_step", "stopped_because"} <= set(metrics)
    assert metrics["stopped_because"] == "max_steps"
    for row in metrics["rows"]:
        assert set(row) == ROW_KEYS
    assert metrics["rows"][-1]["n_paths"] == 2**100  # exact integer survives the JSON


def test_plot_is_written_into_out(result):
    assert [p.name for p in result.figures] == ["brute_vs_dp.png"]
    assert result.figures[0].read_bytes()[:8] == PNG_MAGIC


def test_growth_stops_once_brute_force_exceeds_the_time_budget():
    result = brute_vs_dp.run(max_steps=10, time_budget=1e-12, progress=False)
    measured = [row for row in result.metrics["rows"] if not row["extrapolated"]]
    assert [row["T"] for row in measured] == [1]
    assert result.metrics["stopped_because"] == "time_budget"


def test_experiment_cli_writes_json_and_plot(tmp_path, capsys):
    code = main(
        [
            "experiment",
            "brute-vs-dp",
            "--quick",
            "--max-steps",
            "4",
            "--json",
            str(tmp_path / "m.json"),
            "--out",
            str(tmp_path / "figs"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    rows = json.loads((tmp_path / "m.json").read_text())["rows"]
    assert [row["T"] for row in rows if not row["extrapolated"]] == [1, 2, 3, 4]
    assert (tmp_path / "figs" / "brute_vs_dp.png").read_bytes()[:8] == PNG_MAGIC
    assert "2^T paths" in out and "extrapolated" in out


def test_growth_stops_at_the_path_budget_without_calling_brute_force_past_it(monkeypatch):
    monkeypatch.setattr(brute_vs_dp, "DEFAULT_MAX_PATHS", 16)
    result = brute_vs_dp.run(max_steps=10, time_budget=60.0, progress=False)
    measured = [row for row in result.metrics["rows"] if not row["extrapolated"]]
    assert [row["T"] for row in measured] == [1, 2, 3, 4]
    assert result.metrics["stopped_because"] == "path_budget"
    assert "T = 5 is over brute_force's path budget" in result.summary
    assert result.summary == brute_vs_dp.summary(result.metrics)
    assert brute_vs_dp.headline(result.metrics).startswith(
        f"brute force = DP to {result.metrics['max_abs_diff']:.1e} (T ≤ 4); T = 100: "
    )


@pytest.mark.parametrize(
    ("max_steps", "time_budget", "error", "message"),
    [
        (0, 1.0, ValueError, "max_steps must be >= 1, got 0"),
        (2.5, 1.0, TypeError, "max_steps must be an integer, got 2.5"),
        (5, 0.0, ValueError, "time_budget must be > 0.0, got 0.0"),
        (5, float("nan"), ValueError, "time_budget must be a finite number, got nan"),
    ],
)
def test_bad_settings_name_the_argument(max_steps, time_budget, error, message):
    with pytest.raises(error, match=message):
        brute_vs_dp.run(max_steps=max_steps, time_budget=time_budget, progress=False)
    with pytest.raises(ValueError, match="seed must be >= 0, got -1"):
        brute_vs_dp.run(quick=True, seed=-1, progress=False)


def test_docstring_examples_run():
    import pirho.plots.hmm

    for module in (brute_vs_dp, pirho.plots.hmm):
        failures, tried = doctest.testmod(module)
        assert tried > 0 and failures == 0
