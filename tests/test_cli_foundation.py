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


def test_write_json_gives_the_file_the_usual_permissions(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        path = write_json({"a": 1}, tmp_path / "r.json")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_atomic_open_keeps_the_old_file_when_writing_fails(tmp_path):
    import doctest

    import pirho._atomic
    from pirho._atomic import atomic_open

    assert doctest.testmod(pirho._atomic).failed == 0
    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_open(target, "w") as handle:
        handle.write("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_resolve_config_overrides_and_rejects_unknown_keys():
    import doctest

    import pirho.experiments.common
    from pirho.experiments.common import resolve_config

    assert doctest.testmod(pirho.experiments.common).failed == 0
    full, quick = {"epochs": 500, "lr": 1.0}, {"epochs": 40, "lr": 2.0}
    assert resolve_config("x", full, quick, False, {"lr": None}) == full
    with pytest.raises(TypeError, match=r"unknown x option\(s\) \['epoch'\]"):
        resolve_config("x", full, quick, True, {"epoch": 3})
