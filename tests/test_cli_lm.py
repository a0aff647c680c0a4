"""``pirho lm`` and ``pirho cloze`` end to end on a small UTF-8 text (tiny models)."""

import re
from pathlib import Path

import pytest

from pirho.cli import main

TEXT = (
    "the quick brown fox jumps over the lazy dog. the dog sleeps and the fox runs. "
    "a time machine travels through time and the traveller returns home. "
) * 12


@pytest.fixture(autouse=True)
def in_text_folder(one_torch_thread, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "text.txt").write_text(TEXT, encoding="utf-8")


TINY = [
    "--text",
    "text.txt",
    "--hidden-size",
    "16",
    "--num-layers",
    "1",
    "--batch-size",
    "8",
    "--num-steps",
    "10",
    "--heldout-tokens",
    "150",
    "--no-progress",
    "--eval-every",
    "1",
]


def test_lm_train_generate_evaluate_resume(capsys):
    assert main(["lm", "train", *TINY, "--epochs", "2", "--lr", "2"]) == 0
    out = capsys.readouterr().out
    tf = float(re.search(r"teacher-forced\s+([\d.]+)", out).group(1))
    causal = float(re.search(r"causal\s+([\d.]+)", out).group(1))
    assert tf == pytest.approx(causal, rel=1e-4)  # unidirectional: no gap
    assert "checkpoint: lm.pt" in out

    assert main(["lm", "generate", "the ", "--n-chars", "15"]) == 0
    line = capsys.readouterr().out.removesuffix("\n")
    assert line.startswith("the ") and len(line) == 19
    assert main(["lm", "generate", "the ", "--n-chars", "15"]) == 0
    assert capsys.readouterr().out.removesuffix("\n") == line  # greedy: deterministic

    assert main(["lm", "evaluate", "--text", "text.txt", "--heldout-tokens", "150"]) == 0
    out = capsys.readouterr().out
    assert f"{tf:8.3f}" in out

    assert main(["lm", "train", *TINY, "--epochs", "3", "--lr", "2", "--resume"]) == 0
    assert "epochs 3" in capsys.readouterr().out

    # resuming with other settings, or without more epochs, lists every difference
    changed = ["--epochs", "3", "--lr", "1", "--hidden-size", "8", "--resume"]
    assert main(["lm", "train", *TINY, *changed]) == 2
    err = capsys.readouterr().err
    assert "pirho: error: cannot resume lm.pt: --hidden-size: 16 in the checkpoint, 8 now" in err
    assert "--lr: 2.0 in the checkpoint, 1.0 now" in err
    assert "--epochs: the checkpoint has trained 3 epochs; give more than 3" in err
    assert "training" not in err  # refused before loading the text into a run


def test_lm_generate_unknown_characters_warn_or_fail_with_strict(capsys):
    assert main(["lm", "train", *TINY, "--epochs", "1"]) == 0
    capsys.readouterr()
    assert main(["lm", "generate", "Zebra", "--n-chars", "3"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("<unk>ebra")
    assert "pirho: warning: text has characters not in the vocabulary: 'Z'" in captured.err
    assert main(["lm", "generate", "Zebra", "--strict"]) == 2
    assert "not in the vocabulary: 'Z'" in capsys.readouterr().err


def test_cloze_train_and_fill_print_candidates_with_probabilities(capsys):
    assert main(["cloze", "train", *TINY, "--epochs", "2", "--embedding-dim", "8"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"both\s+accuracy\s+[\d.]+%", out)
    assert main(["cloze", "fill", "the qu_ck brown", "--top-k", "3"]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert len(rows) == 3
    from pirho.nn.models import load_model

    # the printed table is the library's answer, to the printed precision
    expected = load_model("cloze.pt").fill("the qu_ck brown", top_k=3)
    assert [row.rsplit(maxsplit=1) for row in rows] == [
        [f.text.rstrip(), f"{f.probability:.3f}"] for f in expected
    ]


def test_cli_errors_are_clear(capsys):
    assert main(["cloze", "train", *TINY, "--epochs", "1", "--embedding-dim", "8"]) == 0
    assert main(["lm", "train", *TINY, "--epochs", "1"]) == 0
    capsys.readouterr()
    assert main(["cloze", "fill", "no blank here"]) == 2
    assert "has no blank" in capsys.readouterr().err
    assert main(["cloze", "fill", "--checkpoint", "lm.pt", "a_c"]) == 2
    assert "holds a 'rnnlm' model, expected 'cloze'" in capsys.readouterr().err
    assert main(["lm", "generate", "--checkpoint", "cloze.pt"]) == 2
    assert "holds a 'cloze' model, expected 'rnnlm'" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2"):
        main(["lm", "generate", "--checkpoint", "missing.pt"])
    assert "argument --checkpoint: 'missing.pt' does not exist" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["lm", "train", "--seed", "-1"],
            "argument --seed: expected a seed in [0, 4294967295], got '-1'",
        ),
        (["lm", "train", "--epochs", "0"], "argument --epochs: expected an integer >= 1, got '0'"),
        (["lm", "train", "--lr", "nan"], "argument --lr: expected a finite number, got 'nan'"),
        (["lm", "train", "--lr", "0"], "argument --lr: expected a number > 0, got '0'"),
        (
            ["lm", "train", "--clip", "0"],
            "argument --clip: expected a number > 0 or 'none', got '0'",
        ),
        (["lm", "train", "--max-tokens", "-1"], "argument --max-tokens: expected an integer >= 0"),
        (
            ["lm", "train", "--hidden-size", "2.5"],
            "argument --hidden-size: expected an integer, got '2.5'",
        ),
        (["lm", "train", "--checkpoint", "."], "argument --checkpoint: '.' is a directory"),
        (
            ["lm", "train", "--checkpoint", "text.txt/x.pt"],
            "argument --checkpoint: 'text.txt/x.pt': 'text.txt' is a file, not a folder",
        ),
        (["lm", "train", "--text", "."], "argument --text: '.' is a directory, not a file"),
        (
            ["lm", "generate", "--temperature", "nan"],
            "argument --temperature: expected a finite number, got 'nan'",
        ),
        (
            ["lm", "generate", "--checkpoint", "."],
            "argument --checkpoint: '.' is a directory, not a file",
        ),
        (
            ["lm", "evaluate", "--num-steps", "0"],
            "argument --num-steps: expected an integer >= 1, got '0'",
        ),
        (
            ["cloze", "fill", "a_c", "--beam-size", "0"],
            "argument --beam-size: expected an integer >= 1, got '0'",
        ),
        (
            ["cloze", "train", "--heldout-tokens", "0"],
            "argument --heldout-tokens: expected an integer >= 1",
        ),
    ],
)
def test_bad_options_stop_before_any_work_with_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"pirho: error: {message}" in err


def test_read_only_checkpoint_folder_is_detected_up_front(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(SystemExit, match="2"):
            main(["lm", "train", *TINY, "--checkpoint", str(locked / "lm.pt")])
    finally:
        locked.chmod(0o755)
    assert f"folder {str(locked)!r} is not writable" in capsys.readouterr().err
    assert list(locked.iterdir()) == []


def test_clip_none_is_accepted_and_help_shows_defaults(capsys):
    assert main(["lm", "train", *TINY, "--epochs", "1", "--clip", "none"]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit, match="0"):
        main(["lm", "train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for shown in (
        "(default: 500)",
        "(default: 1.0)",
        "(default: sgd)",
        "(default: 32)",
        "(default: 0)",
        "(default: 25)",
    ):
        assert shown in help_text


def test_empty_or_non_utf8_text_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    assert main(["lm", "train", "--text", "empty.txt", "--epochs", "1"]) == 2
    assert "empty.txt: the file is empty" in capsys.readouterr().err
    assert main(["cloze", "train", "--text", "latin1.txt", "--epochs", "1"]) == 2
    assert "latin1.txt is not UTF-8 text" in capsys.readouterr().err


@pytest.mark.parametrize(
    "options",
    [
        ["--lr", "1000"],
        ["--lr", "1e6", "--clip", "1e9"],
        ["--lr", "1e4", "--optimizer", "adam"],
    ],
)
def test_diverging_training_exits_2_naming_lr_and_keeps_a_finite_checkpoint(options, capsys):
    import torch

    from pirho.checkpoint import load_checkpoint

    argv = ["lm", "train", *TINY, "--epochs", "5", "--checkpoint-every", "1", *options]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "pirho: error: training diverged" in err and "Traceback" not in err
    assert f"lr={float(options[1]):g}," in err
    assert "the last checkpoint written before it is kept in lm.pt" in err
    state = load_checkpoint("lm.pt")["model_state"]
    assert all(torch.isfinite(value).all() for value in state.values())


def test_heldout_tokens_beyond_the_text_is_an_error_before_training(capsys):
    assert main(["lm", "train", *TINY, "--heldout-tokens", "1000"]) == 2
    err = capsys.readouterr().err
    assert "pirho: error: heldout_tokens=1000 is more than a tenth of text.txt" in err
    assert "training" not in err and not list(Path(".").glob("*.pt"))
