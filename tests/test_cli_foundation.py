import subprocess
import sys

import pytest

from pirho.cli import main
from pirho.experiments import EXPERIMENTS, load_experiment
from pirho.experiments.common import to_jsonable, write_json


def test_version_prints_package_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert "pirho 0.1.0" in capsys.readouterr().out


def test_unknown_experiment_is_a_value_error():
    with pytest.raises(ValueError, match="unknown experiment 'nope'"):
        load_experiment("nope")
    assert "brute-vs-dp" in EXPERIMENTS


def test_write_json_is_atomic_and_handles_numpy(tmp_path):
    import json

    import numpy as np

    path = write_json(
        {"a": {"b": np.float64(0.5)}, "c": np.arange(3), "d": float("-inf")},
        tmp_path / "x" / "r.json",
    )
    assert json.loads(path.read_text()) == {"a": {"b": 0.5}, "c": [0, 1, 2], "d": "-inf"}
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]
    assert to_jsonable((1, 2)) == [1, 2]


def test_console_script_runs_as_module():
    done = subprocess.run(
        [sys.executable, "-m", "pirho", "--help"], capture_output=True, text=True, check=True
    )
    assert "experiment" in done.stdout
