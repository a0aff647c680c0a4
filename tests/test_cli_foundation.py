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


def test_output_path_checks_name_the_users_path(tmp_path):
    import argparse

    from pirho.cli._options import check_output_paths, output_dir, output_file

    a_file = tmp_path / "f.txt"
    a_file.write_text("x")
    assert output_file(str(tmp_path / "new" / "deeper" / "r.json")).endswith("r.json")
    with pytest.raises(argparse.ArgumentTypeError, match="is a directory"):
        output_file(str(tmp_path))
    with pytest.raises(argparse.ArgumentTypeError, match="f.txt' is a file, not a folder"):
        output_file(str(a_file / "r.json"))
    with pytest.raises(argparse.ArgumentTypeError, match="f.txt' is a file, not a folder"):
        output_dir(str(a_file))
    with pytest.raises(ValueError, match=r"'\.' is a directory.*f.txt' is a file"):
        check_output_paths(files=[".", None], dirs=[a_file])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]  # nothing was created


def test_ctrl_c_names_the_checkpoint_and_the_resume_command(tmp_path, capsys, monkeypatch):
    import argparse

    from pirho.cli import interrupted_message

    (tmp_path / "lm.pt").write_bytes(b"x")
    args = argparse.Namespace(resumable=True, checkpoint=str(tmp_path / "lm.pt"))
    message = interrupted_message(args, ["lm", "train", "--epochs", "5"])
    assert message.splitlines() == [
        "pirho: interrupted",
        f"last checkpoint: {tmp_path / 'lm.pt'}",
        "resume with: pirho lm train --epochs 5 --resume",
    ]

    def interrupt(args):
        raise KeyboardInterrupt

    monkeypatch.setattr("pirho.cli.lm.cmd_lm_train", interrupt)
    monkeypatch.chdir(tmp_path)
    assert main(["lm", "train", "--resume"]) == 130
    assert "resume with: pirho lm train --resume\n" in capsys.readouterr().err
