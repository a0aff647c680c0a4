"""The command line's file and input rules, one test per rule, every command as a case.

Each refused case checks the exit code (2), that the message names the option or file, and
that no file in the folder changed (the work was never started). Rules: an output that is an
input; two outputs on one path; an existing checkpoint without --resume/--overwrite; an
unwritable output; an unknown plot format; an input that is not UTF-8, a folder, binary,
truncated or an object .npy; a file that is not a checkpoint; options that do not apply;
data too short; divergence; resuming with another seed; --strict; degenerate tagging data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pirho.cli import main
from pirho.hmm import casino

ROLLS = "1 6 6 2\n3 6 6 6 1\n"
WORD_TAG = "".join(f"w{i % 4}/T{i % 3} w{(i + 1) % 4}/T{(i + 1) % 3}\n" for i in range(30))
TINY_LM = ["--hidden-size", "8", "--num-layers", "1", "--epochs", "1", "--max-tokens", "400",
           "--heldout-tokens", "100", "--batch-size", "4", "--num-steps", "10",
           "--no-progress", "--device", "cpu", "--precision", "fp32"]  # fmt: skip


def run(capsys, *argv) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``pirho ARGV``; a refusal while parsing counts too."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (to prove a refused command touched none)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def files(tmp_path, monkeypatch):
    """A folder with one input of every kind, as the current folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rolls.txt").write_text(ROLLS, encoding="utf-8")
    casino().save(tmp_path / "casino.json")
    (tmp_path / "corpus.txt").write_text(WORD_TAG, encoding="utf-8")
    (tmp_path / "text.txt").write_text("the time machine by h g wells " * 40, encoding="utf-8")
    (tmp_path / "data.csv").write_text(
        "a\n" + "".join(f"{x}\n" for x in np.random.default_rng(0).normal(size=40)),
        encoding="utf-8",
    )
    (tmp_path / "notes.txt").write_text("my notes, not JSON\n", encoding="utf-8")
    (tmp_path / "keep_me.pt").write_bytes(b"PK\x03\x04 a checkpoint the user keeps")
    return tmp_path


def assert_refused(capsys, folder: Path, argv, *named: str) -> str:
    before = snapshot(folder)
    code, out, err = run(capsys, *argv)
    assert code == 2, (code, out, err)
    assert "pirho: error:" in err
    for word in named:
        assert word in err, (word, err)
    assert "Traceback" not in err and ".tmp" not in err
    assert snapshot(folder) == before, "a refused command changed a file"
    return err


# --------------------------------------------------------------------------------------------
# Outputs


@pytest.mark.parametrize(
    "argv, option, path",
    [
        (["hmm", "fit", "rolls.txt", "--states", "2", "-o", "rolls.txt"], "-o", "rolls.txt"),
        (["hmm", "fit", "rolls.txt", "--states", "2", "-o", "./sub/../rolls.txt"], "-o", "rolls"),
        (["hmm", "decode", "rolls.txt", "--model", "casino.json", "-o", "rolls.txt"], "-o",
         "rolls.txt"),
        (["hmm", "decode", "rolls.txt", "--model", "casino.json", "-o", "casino.json"], "-o",
         "casino.json"),
        (["hmm", "fit", "data.csv", "--emission", "gaussian", "--states", "2", "-o", "data.csv"],
         "-o", "data.csv"),
        (["tag", "predict", "--checkpoint", "keep_me.pt", "corpus.txt", "-o", "corpus.txt"],
         "--output", "corpus.txt"),
        (["tag", "predict", "--checkpoint", "keep_me.pt", "corpus.txt", "-o", "keep_me.pt"],
         "--output", "keep_me.pt"),
        (["lm", "train", "--text", "text.txt", "--json", "text.txt", *TINY_LM], "--json",
         "text.txt"),
        (["lm", "train", "--text", "text.txt", "--checkpoint", "text.txt", *TINY_LM],
         "--checkpoint", "text.txt"),
        (["explore", "--model", "casino.json", "--out", "casino.json"], "--out", "casino.json"),
        (["tag", "train", "--corpus", "corpus.txt", "--checkpoint", "corpus.txt"],
         "--checkpoint", "corpus.txt"),
    ],
)  # fmt: skip
def test_an_output_that_is_an_input_is_refused(files, capsys, argv, option, path):
    err = assert_refused(capsys, files, argv, option, path)
    assert "is the input" in err


def test_an_output_that_is_a_file_of_an_input_folder_is_refused(files, capsys):
    (files / "runs").mkdir()
    (files / "data.csv").rename(files / "runs" / "a.csv")
    argv = ["hmm", "fit", "runs", "--emission", "gaussian", "--states", "1", "-o", "runs/a.csv"]
    assert_refused(capsys, files, argv, "runs/a.csv", "input folder")


def test_an_output_that_is_an_input_through_a_symlink_is_refused(files, capsys):
    os.symlink(files / "rolls.txt", files / "link.txt")
    argv = ["hmm", "fit", "link.txt", "--states", "2", "-o", "rolls.txt"]
    assert "is the input" in assert_refused(capsys, files, argv, "-o", "rolls.txt")


@pytest.mark.parametrize(
    "argv",
    [
        ["lm", "train", "--checkpoint", "x.pt", "--json", "x.pt", *TINY_LM],
        ["lm", "train", "--checkpoint", "x.pt", "--json", "./x.pt", *TINY_LM],
        ["hmm", "casino", "--rolls", "10", "--plot", "x.png", "--json", "x.png"],
        ["hmm", "brute-vs-dp", "--max-steps", "2", "--plot", "x.png", "--json", "x.png"],
        ["hmm", "decode", "data.csv", "--model", "casino.json", "-o", "x.png", "--plot", "x.png"],
    ],
)
def test_two_outputs_on_one_path_are_refused(files, capsys, argv):
    assert_refused(capsys, files, argv, "x.png" if "x.png" in argv else "x.pt", "same file")


@pytest.mark.parametrize(
    "argv, resumable",
    [
        (["lm", "train", "--text", "text.txt", "--checkpoint", "keep_me.pt", *TINY_LM], True),
        (["cloze", "train", "--text", "text.txt", "--checkpoint", "keep_me.pt", *TINY_LM], True),
        (["tag", "train", "--corpus", "corpus.txt", "--model", "mft", "--checkpoint",
          "keep_me.pt"], False),
        (["experiment", "cloze", "--quick", "--checkpoint", "keep_me.pt"], False),
        (["lm", "train", "--text", "text.txt", "--checkpoint", "casino.json", *TINY_LM], True),
    ],
)  # fmt: skip
def test_an_existing_checkpoint_is_never_replaced_silently(files, capsys, argv, resumable):
    err = assert_refused(capsys, files, argv, "--checkpoint", "already exists", "--overwrite")
    assert ("--resume" in err) == resumable


def test_resume_and_overwrite_together_are_refused(files, capsys):
    argv = ["lm", "train", "--checkpoint", "keep_me.pt", "--resume", "--overwrite", *TINY_LM]
    assert_refused(capsys, files, argv, "--resume", "--overwrite")


def test_outputs_follow_symlinks_and_write_devices_in_place(files, capsys):
    # -o through a symlink replaces its target and keeps the link; -o /dev/null is written
    # in place (renaming a temporary file over a device would replace the device)
    os.symlink("model.json", files / "link.json")
    code, _, err = run(capsys, "hmm", "fit", "rolls.txt", "--states", "2", "-o", "link.json")
    assert code == 0, err
    assert (files / "link.json").is_symlink() and json.loads((files / "model.json").read_text())
    code, _, err = run(capsys, "hmm", "decode", "rolls.txt", "--model", "model.json",
                       "-o", os.devnull)  # fmt: skip
    assert code == 0, err
    assert Path(os.devnull).exists() and not Path(os.devnull).is_file()


def test_overwrite_replaces_an_existing_checkpoint(files, capsys):
    argv = ["lm", "train", "--text", "text.txt", "--checkpoint", "keep_me.pt", *TINY_LM]
    code, _, err = run(capsys, *argv, "--overwrite")
    assert code == 0, err
    assert (files / "keep_me.pt").read_bytes()[:4] == b"PK\x03\x04"
    assert b"a checkpoint the user keeps" not in (files / "keep_me.pt").read_bytes()


@pytest.mark.parametrize(
    "argv",
    [
        ["hmm", "casino", "--rolls", "10", "--json", "notes.txt"],
        ["hmm", "fit", "rolls.txt", "--states", "2", "-o", "notes.txt"],
        ["experiment", "casino", "--quick", "--json", "notes.txt"],
    ],
)
def test_a_json_output_never_replaces_a_file_that_is_not_json(files, capsys, argv):
    assert_refused(capsys, files, argv, "notes.txt", "is not a JSON file", "--overwrite")


@pytest.mark.parametrize(
    "argv, words",
    [
        (["hmm", "decode", "rolls.txt", "--model", "casino.json", "-o", "keep_me.pt"],
         ("keep_me.pt", "not a text file")),
        (["tag", "predict", "--checkpoint", "casino.json", "corpus.txt", "-o", "keep_me.pt"],
         ("keep_me.pt", "not a text file")),
        (["hmm", "casino", "--rolls", "10", "--plot", "data.png"], ("data.png", "not a .png")),
        (["hmm", "brute-vs-dp", "--max-steps", "2", "--plot", "data.png"], ("data.png",)),
    ],
)  # fmt: skip
def test_an_output_never_replaces_a_file_of_another_kind(files, capsys, argv, words):
    (files / "data.png").write_text("1 2 3\n", encoding="utf-8")  # a data file, not an image
    assert_refused(capsys, files, argv, *words, "--overwrite")


def test_overwrite_replaces_a_file_of_another_kind(files, capsys):
    (files / "faces.txt").write_text("0 5 5 1\n2 3\n", encoding="utf-8")
    argv = ["hmm", "decode", "faces.txt", "--model", "casino.json", "-o", "keep_me.pt"]
    code, _, err = run(capsys, *argv, "--overwrite")
    assert code == 0, err
    assert (files / "keep_me.pt").read_text(encoding="utf-8").count("\n") == 2


@pytest.mark.parametrize(
    "argv",
    [
        ["hmm", "casino", "--rolls", "10", "--json", "rolls.txt/x.json"],
        ["hmm", "casino", "--rolls", "10", "--plot", "rolls.txt/x.png"],
        ["hmm", "decode", "rolls.txt", "--model", "casino.json", "-o", "rolls.txt/out.txt"],
        ["lm", "train", "--checkpoint", "rolls.txt/lm.pt", *TINY_LM],
        ["tag", "train", "--corpus", "corpus.txt", "--checkpoint", "rolls.txt/t.pt"],
        ["tag", "predict", "--checkpoint", "keep_me.pt", "corpus.txt", "-o", "rolls.txt/o"],
        ["explore", "--out", "rolls.txt/x.html"],
        ["demo", "--out", "rolls.txt"],
        ["experiment", "casino", "--quick", "--out", "rolls.txt"],
    ],
)
def test_an_output_under_a_file_is_refused_naming_the_file(files, capsys, argv):
    assert_refused(capsys, files, argv, "rolls.txt", "is a file")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_an_output_in_a_read_only_folder_is_refused(files, capsys):
    locked = files / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        for argv in (
            ["hmm", "decode", "rolls.txt", "--model", "casino.json", "-o", "locked/out.txt"],
            ["tag", "train", "--corpus", "corpus.txt", "--checkpoint", "locked/t.pt"],
            ["hmm", "casino", "--rolls", "10", "--plot", "locked/p.png"],
        ):
            assert_refused(capsys, files, argv, "locked", "not writable")
    finally:
        locked.chmod(0o755)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
@pytest.mark.parametrize(
    "argv",
    [
        ["hmm", "decode", "rolls.txt", "--model", "casino.json", "-o", "locked.txt"],
        ["tag", "predict", "--checkpoint", "keep_me.pt", "corpus.txt", "-o", "locked.txt"],
        ["hmm", "casino", "--rolls", "10", "--json", "locked.txt"],
    ],
)
def test_a_read_only_output_file_is_refused_even_for_root(files, capsys, argv):
    (files / "locked.txt").write_text("{}", encoding="utf-8")
    (files / "locked.txt").chmod(0o444)
    assert_refused(capsys, files, argv, "locked.txt", "read-only")


@pytest.mark.parametrize(
    "argv",
    [
        ["lm", "train", "--threads", "100000", *TINY_LM],
        ["experiment", "cloze", "--quick", "--threads", "100000"],
    ],
)
def test_thread_counts_far_above_the_cpus_are_refused_while_parsing(files, capsys, argv):
    assert_refused(capsys, files, argv, "--threads", "100000")


@pytest.mark.parametrize(
    "argv",
    [
        ["hmm", "casino", "--rolls", "10", "--plot", "x.txt"],
        ["hmm", "brute-vs-dp", "--max-steps", "2", "--plot", "x.txt"],
        ["hmm", "decode", "data.csv", "--model", "casino.json", "--plot", "x.txt"],
        ["hmm", "casino", "--rolls", "10", "--plot", "noext"],
    ],
)
def test_a_plot_format_matplotlib_cannot_write_is_refused_while_parsing(files, capsys, argv):
    assert_refused(capsys, files, argv, "--plot", "matplotlib cannot write")


def test_plot_suffixes_are_the_formats_matplotlib_writes():
    import matplotlib.pyplot as plt

    from pirho._files import PLOT_SUFFIXES

    fig = plt.figure()
    try:
        supported = {"." + s for s in fig.canvas.get_supported_filetypes()}
    finally:
        plt.close(fig)
    assert set(PLOT_SUFFIXES) <= supported


def test_a_plot_that_fails_while_drawing_leaves_no_csv(files, capsys, monkeypatch):
    from pirho.cli import hmm_fit
    from pirho.hmm import sklearn as hmm

    model = hmm.GaussianHMM(1, init_params="")
    model.startprob_, model.transmat_ = np.array([1.0]), np.array([[1.0]])
    model.means_, model.covars_ = np.array([[0.0]]), np.ones((1, 1))
    (files / "g.json").write_text(json.dumps(model.to_dict()), encoding="utf-8")

    def broken_plot(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(hmm_fit, "plot_regimes", broken_plot)
    argv = ["hmm", "decode", "data.csv", "--model", "g.json", "-o", "s.csv", "--plot", "s.png"]
    assert_refused(capsys, files, argv, "disk full")


@pytest.mark.parametrize(
    "argv", [["demo", "--out", ""], ["explore", "--out", ""], ["hmm", "casino", "--json", ""]]
)
def test_an_empty_output_path_is_refused(files, capsys, argv):
    assert_refused(capsys, files, argv, "empty path")


# --------------------------------------------------------------------------------------------
# Inputs


def _latin1(folder: Path, name: str, text: str = "caf\xe9 1 2\n") -> str:
    (folder / name).write_bytes(text.encode("latin-1"))
    return name


@pytest.mark.parametrize(
    "argv_of",
    [
        lambda f: ["hmm", "fit", _latin1(f, "in.txt"), "--states", "2", "-o", "m.json"],
        lambda f: ["hmm", "decode", _latin1(f, "in.txt"), "--model", "casino.json"],
        lambda f: ["hmm", "fit", _latin1(f, "in.csv", "a\n1\n\xe9\n"), "--emission", "gaussian",
                   "--states", "1", "-o", "m.json"],
        lambda f: ["hmm", "decode", "rolls.txt", "--model", _latin1(f, "m.json", '{"\xe9": 1}')],
        lambda f: ["tag", "train", "--corpus", _latin1(f, "c.txt", "caf\xe9/N\n" * 12)],
        lambda f: ["tag", "train", "--corpus", _latin1(f, "c.conllu", "1\tcaf\xe9\n")],
        lambda f: ["explore", "--model", _latin1(f, "m.json", '{"\xe9": 1}')],
        lambda f: ["lm", "train", "--text", _latin1(f, "t.txt"), *TINY_LM],
    ],
)  # fmt: skip
def test_non_utf8_input_names_the_file_and_byte_offset(files, capsys, argv_of):
    argv = argv_of(files)
    err = assert_refused(capsys, files, argv, "not UTF-8 text", "offset")
    latin = [a for a in argv if Path(a).suffix and (files / a).is_file() and a != "keep_me.pt"]
    assert any(name in err for name in latin), err


@pytest.mark.parametrize(
    "read",
    [
        lambda p: __import__("pirho.hmm", fromlist=["x"]).CategoricalHMM.load(p),
        lambda p: __import__("pirho.hmm.io", fromlist=["x"]).TokenHMM.load(p),
        lambda p: __import__("pirho.hmm.io", fromlist=["x"]).read_token_file(p),
        lambda p: __import__("pirho.data.sequences", fromlist=["x"]).read_sequences(p),
        lambda p: __import__("pirho.data.corpora", fromlist=["x"]).read_word_tag(p),
    ],
)
def test_every_reader_names_the_file_for_non_utf8_and_binary_input(tmp_path, read):
    from pirho._files import InputFileError

    for name, data, words in (
        ("latin.csv", "a\n1\ncaf\xe9\n".encode("latin-1"), ("not UTF-8 text", "offset")),
        ("nul.csv", b"a\n1\n\x00\x01\x02", ("not a text file", "NUL")),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(InputFileError) as info:
            read(path)
        assert str(path) in str(info.value) and all(w in str(info.value) for w in words)


def test_binary_standard_input_is_refused(files, capsys, monkeypatch):
    import io

    code, _, err = run(capsys, "tag", "train", "--corpus", "corpus.txt", "--model", "mft",
                       "--checkpoint", "t.pt")  # fmt: skip
    assert code == 0, err
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"w1 \xff\x00\x01 w2\n")))
    argv = ["tag", "predict", "--checkpoint", "t.pt", "-"]
    assert_refused(capsys, files, argv, "standard input", "not a text file")


@pytest.mark.parametrize(
    "argv",
    [
        ["tag", "train", "--corpus", "sub"],
        ["hmm", "decode", "rolls.txt", "--model", "sub"],
        ["explore", "--model", "sub"],
        ["lm", "train", "--text", "sub", *TINY_LM],
        ["lm", "generate", "--checkpoint", "sub"],
        ["tag", "predict", "--checkpoint", "keep_me.pt", "sub"],
        ["hmm", "fit", "sub", "--states", "2", "-o", "m.json"],
    ],
)
def test_a_folder_given_as_a_file_says_so(files, capsys, argv):
    (files / "sub").mkdir()
    (files / "sub" / "x.txt").write_text("a b\n", encoding="utf-8")
    err = assert_refused(capsys, files, argv, "sub")
    assert "is a directory" in err or "is a folder" in err
    assert "no such file" not in err


NPY_DAMAGE = {
    "truncated": lambda good: good[:-7],
    "random bytes": lambda good: bytes(np.random.default_rng(1).integers(0, 256, 300, np.uint8)),
    "header only": lambda good: good[:10],
}


@pytest.mark.parametrize("damage", sorted(NPY_DAMAGE))
def test_a_damaged_npy_names_the_file(files, capsys, damage):
    np.save(files / "x.npy", np.arange(40.0))
    (files / "x.npy").write_bytes(NPY_DAMAGE[damage]((files / "x.npy").read_bytes()))
    argv = ["hmm", "fit", "x.npy", "--emission", "gaussian", "--states", "1", "-o", "m.json"]
    err = assert_refused(capsys, files, argv, "x.npy")
    assert "pickle" not in err.lower() or "never" in err


def test_an_object_npy_is_refused_without_unpickling(files, capsys):
    np.save(files / "obj.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    argv = ["hmm", "fit", "obj.npy", "--emission", "gaussian", "--states", "1", "-o", "m.json"]
    assert_refused(capsys, files, argv, "obj.npy", "Python objects")


def test_a_complex_npy_is_refused(files, capsys):
    np.save(files / "c.npy", np.array([1 + 1j, 2.0, 3.0, 4.0]))
    argv = ["hmm", "fit", "c.npy", "--emission", "gaussian", "--states", "1", "-o", "m.json"]
    assert_refused(capsys, files, argv, "c.npy", "complex")


@pytest.mark.parametrize(
    "argv",
    [
        ["hmm", "decode", "rolls.txt", "--model", "cut.json"],
        ["explore", "--model", "cut.json"],
        ["hmm", "decode", "data.csv", "--model", "cut.json", "--columns", "a"],
    ],
)
def test_truncated_json_names_the_file_not_an_option(files, capsys, argv):
    text = json.dumps({"format": "pirho.sklearn", "class": "GaussianHMM", "x": [1, 2, 3]})
    (files / "cut.json").write_text(text[: len(text) // 2], encoding="utf-8")
    err = assert_refused(capsys, files, argv, "cut.json", "not valid JSON", "truncated")
    assert "--columns" not in err


@pytest.mark.parametrize("content", [b'{"a": 1}\n', b"\x00\x01garbage" * 10, b"PK\x03\x04xx"])
@pytest.mark.parametrize(
    "argv",
    [
        ["lm", "generate", "--checkpoint", "c.pt"],
        ["lm", "evaluate", "--checkpoint", "c.pt"],
        ["cloze", "fill", "--checkpoint", "c.pt", "a_c"],
        ["tag", "predict", "--checkpoint", "c.pt", "rolls.txt"],
    ],
)
def test_a_file_that_is_not_a_checkpoint_says_so_and_never_suggests_unsafe_loading(
    files, capsys, argv, content
):
    (files / "c.pt").write_bytes(content)
    err = assert_refused(capsys, files, argv, "c.pt", "is not a pirho checkpoint")
    assert "weights_only" not in err


# --------------------------------------------------------------------------------------------
# Options and data that do not fit


@pytest.mark.parametrize(
    "extra, option",
    [
        (["--covariance-type", "full"], "--covariance-type"),
        (["--n-mix", "3"], "--n-mix"),
        (["--columns", "x"], "--columns"),
        (["--sequence-column", "y"], "--sequence-column"),
    ],
)
def test_options_that_do_not_apply_to_a_token_file_are_errors_naming_both(
    files, capsys, extra, option
):
    argv = ["hmm", "fit", "rolls.txt", "--states", "2", "-o", "m.json", *extra]
    assert_refused(capsys, files, argv, option, "rolls.txt", "token file")


@pytest.mark.parametrize(
    "argv, option",
    [
        (["hmm", "casino", "--rolls", "10", "--plot-steps", "5"], "--plot-steps"),
        (["tag", "train", "--corpus", "corpus.txt", "--tagset", "ud"], "--tagset"),
        (["experiment", "tagging", "--quick", "--corpus", "corpus.txt", "--tagset", "ud"],
         "--tagset"),
        (["lm", "train", "--lowercase", "--checkpoint", "new.pt", *TINY_LM], "--lowercase"),
        (["lm", "generate", "--checkpoint", "lm.pt", "--seed", "3"], "--seed"),
    ],
)  # fmt: skip
def test_options_that_do_not_apply_to_the_command_are_errors(tiny_lm, capsys, argv, option):
    assert_refused(capsys, tiny_lm.parent, argv, option, "applies to")


def test_options_of_another_family_are_errors(files, capsys):
    argv = ["hmm", "fit", "data.csv", "--emission", "poisson", "--states", "2", "-o", "m.json"]
    assert_refused(capsys, files, [*argv, "--n-mix", "3"], "--n-mix", "gmm", "poisson")
    assert_refused(capsys, files, [*argv, "--covariance-type", "full"], "--covariance-type")


@pytest.mark.parametrize("bad", [["--covariance-type", "banana"], ["--n-mix", "0"]])
def test_bad_family_option_values_are_refused_while_parsing(files, capsys, bad):
    argv = ["hmm", "fit", "data.csv", "--emission", "gmm", "--states", "2", "-o", "m.json", *bad]
    assert_refused(capsys, files, argv, bad[0])


def test_data_that_does_not_suit_the_family_names_the_file(files, capsys):
    (files / "neg.csv").write_text("a\n" + "".join(f"{v}\n" for v in range(-1, 20)))
    argv = ["hmm", "fit", "neg.csv", "--emission", "poisson", "--states", "2", "-o", "m.json"]
    assert_refused(capsys, files, argv, "DATA neg.csv", "poisson")


def test_a_gaussian_fit_on_too_few_rows_says_the_data_is_too_short(files, capsys):
    (files / "four.csv").write_text("a\n0.1\n2.0\n0.3\n1.9\n", encoding="utf-8")
    argv = ["hmm", "fit", "four.csv", "--emission", "gaussian", "--states", "2", "-o", "m.json"]
    err = assert_refused(capsys, files, argv, "four.csv", "too short for 2 states")
    assert "transmat_" not in err


@pytest.mark.parametrize(
    "argv, words",
    [
        (["hmm", "fit", "rolls.txt", "--states", "100", "-o", "m.json"], ("too short",)),
        (["hmm", "fit", "big.txt", "--states", "100000", "-o", "m.json"], ("GiB", "--states")),
        (["hmm", "casino", "--rolls", "99999999999999999999"], ("--rolls", "at most", "20,000")),
    ],
)
def test_sizes_beyond_the_data_or_the_machine_are_refused_up_front(files, capsys, argv, words):
    (files / "big.txt").write_text("1 2 3 4 5 6\n" * 20000, encoding="utf-8")
    words = tuple(w for w in words if w != "at most")
    assert_refused(capsys, files, argv, *words)


# --------------------------------------------------------------------------------------------
# Training


@pytest.fixture
def tiny_lm(files, capsys):
    code, _, err = run(capsys, "lm", "train", "--text", "text.txt", "--checkpoint", "lm.pt",
                       *TINY_LM)  # fmt: skip
    assert code == 0, err
    return files / "lm.pt"


def test_a_diverging_small_model_stops_with_exit_2_and_writes_no_checkpoint(files, capsys):
    argv = ["lm", "train", "--text", "text.txt", "--checkpoint", "d.pt", "--lr", "1000",
            *TINY_LM[:6], "--epochs", "3", "--max-tokens", "400", "--heldout-tokens", "100",
            "--batch-size", "4", "--num-steps", "10", "--no-progress"]  # fmt: skip
    code, _, err = run(capsys, *argv)
    assert code == 2 and "training diverged" in err and "d.pt" in err, err
    assert not (files / "d.pt").exists()


def test_lm_evaluate_names_a_non_utf8_text(tiny_lm, capsys):
    _latin1(tiny_lm.parent, "t.txt")
    argv = ["lm", "evaluate", "--checkpoint", "lm.pt", "--text", "t.txt"]
    assert_refused(capsys, tiny_lm.parent, argv, "t.txt", "not UTF-8 text", "offset 3")


def test_divergence_keeps_the_last_good_checkpoint(tmp_path):
    import torch

    from pirho.checkpoint import load_checkpoint
    from pirho.train import TrainConfig, train

    torch.manual_seed(0)
    model = torch.nn.Linear(1, 1, bias=False)
    calls = {"n": 0}

    def loss_fn(net, batch, state):
        calls["n"] += 1
        scale = 1.0 if calls["n"] <= 3 else 50.0  # finite, but far above max_loss from step 4
        return scale * (net(batch) ** 2).mean() + scale, 4, None

    path = tmp_path / "c.pt"
    config = TrainConfig(epochs=2, lr=0.01, checkpoint=str(path), checkpoint_every=1,
                         progress=False, max_loss=5.0)  # fmt: skip
    with pytest.raises(FloatingPointError, match="above 5"):
        train(model, lambda epoch: [torch.ones(4, 1)] * 3, loss_fn, config)
    assert load_checkpoint(path)["progress"]["step"] == 3


def test_resume_with_another_seed_is_refused_naming_the_option(tiny_lm, capsys):
    argv = ["lm", "train", "--text", "text.txt", "--checkpoint", "lm.pt", "--resume",
            *TINY_LM[:4], "--epochs", "2", *TINY_LM[6:], "--seed", "7"]  # fmt: skip
    assert_refused(capsys, tiny_lm.parent, argv, "--seed", "0 in the checkpoint, 7 now")


@pytest.mark.parametrize("prefix", ["TIME!! 你好", "time-traveller", "42"])
def test_strict_refuses_characters_the_model_never_saw(tiny_lm, capsys, prefix):
    argv = ["lm", "generate", "--checkpoint", "lm.pt", prefix, "--strict"]
    err = assert_refused(capsys, tiny_lm.parent, argv)
    assert "never saw" in err or "not in the vocabulary" in err


@pytest.mark.parametrize("text", ["TIME!! 你好", "time-traveller", "the 42"])
def test_strict_refuses_what_time_machine_normalisation_would_erase(text):
    from pirho.data import Vocab
    from pirho.data.text import encode_query

    vocab = Vocab("abcdefghijklmnopqrstuvwxyz ")
    erased = [ch for ch in text if not (ch.isascii() and ch.isalpha()) and ch != " "]
    with pytest.raises(ValueError, match="never saw") as info:
        encode_query(text, vocab, "d2l", unknown="error")
    assert all(repr(ch) in str(info.value) for ch in erased)
    assert len(encode_query(text, vocab, "d2l", unknown="warn")) > 0  # without --strict: kept


def test_strict_cloze_queries_are_checked_before_normalisation():
    from pirho.data import Vocab
    from pirho.data.text import encode_cloze_query

    with pytest.raises(ValueError, match=r"'你' \(at 0\), '好' \(at 2\)"):
        encode_cloze_query("你_好", Vocab("abc "), "d2l", unknown="error")
    assert encode_cloze_query("a_c", Vocab("abc "), "d2l", unknown="error")[1] == [1]


@pytest.mark.parametrize("temperature", ["1e-300", "1e300"])
def test_extreme_temperatures_sample_finite_text(tiny_lm, capsys, temperature):
    code, out, err = run(capsys, "lm", "generate", "--checkpoint", "lm.pt", "the",
                         "--n-chars", "30", "--temperature", temperature)  # fmt: skip
    assert code == 0, err
    assert len(out.rstrip("\n")) == 3 + 30 and "<unk>" not in out


def test_generate_streams_exactly_what_generate_returns(tiny_lm):
    from pirho.nn.models import load_model

    model = load_model(tiny_lm, expected_kind="rnnlm")
    pieces = list(model.stream("the", 25, temperature=0.7, seed=3))
    assert len(pieces) == 26 and "".join(pieces) == model.generate("the", 25, 0.7, seed=3)


def test_lm_evaluate_help_shows_defaults(capsys):
    code, out, _ = run(capsys, "lm", "evaluate", "--help")
    assert code == 0 and "(default: lm.pt)" in out and "(default: None)" not in out


# --------------------------------------------------------------------------------------------
# Tagging on degenerate data


@pytest.mark.parametrize("model", ["mft", "hmm", "bicrf"])
def test_a_corpus_too_small_to_split_is_a_clear_error(files, capsys, model):
    (files / "one.txt").write_text("佢/r 去/v\n", encoding="utf-8")
    argv = ["tag", "train", "--corpus", "one.txt", "--model", model, "--checkpoint", "t.pt"]
    assert_refused(capsys, files, argv, "one.txt", "too small to split")


@pytest.mark.parametrize("model", ["mft", "bicrf"])
def test_tag_predict_on_an_empty_input_is_a_clear_error(files, capsys, model):
    code, _, err = run(capsys, "tag", "train", "--corpus", "corpus.txt", "--model", model,
                       "--epochs", "1", "--checkpoint", "t.pt", "--no-progress")  # fmt: skip
    assert code == 0, err
    (files / "empty.txt").write_text("\n  \n", encoding="utf-8")
    assert_refused(capsys, files, ["tag", "predict", "--checkpoint", "t.pt", "empty.txt"],
                   "empty.txt", "no words to tag")  # fmt: skip


# --------------------------------------------------------------------------------------------
# The compile notice


def test_the_compile_notice_is_silent_with_a_warm_cache(tmp_path):
    # a two-state posterior uses one of three posterior kernels: once it is cached, nothing
    # may be printed even though the other two were never compiled
    code = "from pirho.hmm import casino\ncasino().posterior([0, 5, 5, 1] * 5)\n"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                           text=True, env=env) for _ in range(2)]  # fmt: skip
    assert runs[0].stderr.count("compiling the HMM kernels") == 1
    assert runs[1].stderr == ""
