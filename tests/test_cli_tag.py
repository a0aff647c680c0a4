"""``pirho tag train|predict`` end to end on a small word/TAG corpus, and bad inputs."""

import numpy as np
import pytest

from pirho.cli import main
from pirho.tagging import TrainedTagger

PRONOUNS, VERBS, NOUNS, PARTICLES = (
    ["我", "你", "佢"],
    ["食", "飲", "買"],
    ["飯", "茶", "書"],
    ["啊", "喎"],
)


@pytest.fixture(autouse=True)
def in_corpus_folder(one_torch_thread, monkeypatch, tmp_path):
    """A toy corpus: PRON VERB NOUN [PART], 200 sentences, and a file to tag."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    lines = []
    for _ in range(200):
        tokens = [f"{rng.choice(PRONOUNS)}/r", f"{rng.choice(VERBS)}/v", f"{rng.choice(NOUNS)}/n"]
        if rng.random() < 0.5:
            tokens.append(f"{rng.choice(PARTICLES)}/y")
        lines.append(" ".join(tokens))
    (tmp_path / "toy.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "in.txt").write_text("佢 食 飯 啊\n\n我 買 書\n", encoding="utf-8")


@pytest.mark.parametrize("model", ["mft", "hmm", "bicrf"])
def test_train_then_predict_round_trip(model, capsys):
    code = main(
        [
            "tag",
            "train",
            "--corpus",
            "toy.txt",
            "--model",
            model,
            "--checkpoint",
            "t.pt",
            "--epochs",
            "3",
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "160 sentences" in out.split("dev")[0]  # 200 sentences, 20 blocks: 16 train
    test_accuracy = float(out.split(f"{model} test accuracy ")[1].split()[0])
    assert test_accuracy >= (0.9 if model != "bicrf" else 0.5)
    assert main(["tag", "predict", "--checkpoint", "t.pt", "in.txt"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[1] == ""
    assert [t.rsplit("/", 1)[0] for t in lines[0].split()] == ["佢", "食", "飯", "啊"]
    if model != "bicrf":  # the counting taggers know this toy grammar exactly
        assert lines == ["佢/r 食/v 飯/n 啊/y", "", "我/r 買/v 書/n"]
    info = TrainedTagger.load("t.pt").info
    assert info["corpus"] == "toy.txt"
    if model == "bicrf":  # how it was trained, document dropout included, is in the checkpoint
        assert info["training"]["word_dropout"] == "document"
        assert info["training"]["epochs"] == 3 and info["training"]["seed"] == 0
        assert 1 <= info["training"]["best_epoch"] <= 3
    elif model == "hmm":
        assert info["training"] == {"smoothing": 0.1, "hmm_min_count": 2}


def test_predict_writes_conllu(capsys, tmp_path):
    assert (
        main(
            [
                "tag",
                "train",
                "--corpus",
                "toy.txt",
                "--model",
                "hmm",
                "--checkpoint",
                "h.pt",
                "--no-progress",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        main(["tag", "predict", "--checkpoint", "h.pt", "in.txt", "--conllu", "-o", "out.conllu"])
        == 0
    )
    blocks = (tmp_path / "out.conllu").read_text(encoding="utf-8").split("\n\n")
    assert blocks[-1] == ""
    rows = [line.split("\t") for line in blocks[0].splitlines()]
    assert [(r[0], r[1], r[4]) for r in rows] == [
        ("1", "佢", "r"),
        ("2", "食", "v"),
        ("3", "飯", "n"),
        ("4", "啊", "y"),
    ]
    assert all(len(r) == 10 for r in rows) and len(blocks) == 3


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["tag", "train", "--corpus", "toy.txt", "--epochs", "0"],
            "argument --epochs: expected an integer >= 1, got '0'",
        ),
        (["tag", "train", "--corpus", "nope.txt"], "argument --corpus: 'nope.txt' does not exist"),
        (
            ["tag", "train", "--corpus", "toy.txt", "--seed", "-1"],
            "argument --seed: expected a seed",
        ),
        (
            ["tag", "train", "--corpus", "toy.txt", "--checkpoint", "."],
            "argument --checkpoint: '.' is a directory",
        ),
        (["tag", "train", "--corpus", "toy.txt", "--checkpoint", "toy.txt/x.pt"], "is a file"),
        (
            ["tag", "predict", "--checkpoint", "toy.txt", "missing.txt"],
            "argument FILE: 'missing.txt' does not exist",
        ),
        (["tag", "predict", "--checkpoint", "toy.txt", "in.txt"], "toy.txt"),
        (
            ["tag", "predict", "--checkpoint", "none.pt", "in.txt"],
            "argument --checkpoint: 'none.pt' does not exist",
        ),
    ],
)
def test_bad_inputs_exit_2_naming_the_option(argv, message, capsys, tmp_path):
    try:
        code = main(argv)
    except SystemExit as exc:  # refused while parsing
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert "pirho: error:" in err and message in err, err
    assert not (tmp_path / "tagger.pt").exists()


def test_embed_train_then_tag_with_embeddings_from_the_tagger_file_alone(capsys, tmp_path):
    import json

    (tmp_path / "raw.txt").write_text(
        "".join(line.split("/")[0] + "\n" for line in ["我 食 飯 啊"] * 40)
        + "佢 飲 茶\n你 買 書 喎\n" * 40,
        encoding="utf-8",
    )
    code = main(
        [
            "embed", "train", "--corpus", "raw.txt", "--checkpoint", "cse.pt", "--quick",
            "--hidden-size", "8", "--batch-size", "4", "--num-steps", "10", "--max-steps", "5",
            "--precision", "fp32", "--json", "cse.json", "--no-progress",
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    report = json.loads((tmp_path / "cse.json").read_text(encoding="utf-8"))
    assert report["steps"] == 5 and report["tokens_per_s"] > 0
    assert report["forward_bpc"] > 0 and report["backward_bpc"] > 0
    assert set(report["predictions"]["我哋今日"]) == {"forward", "backward"}
    assert "held-out bits per character: forward" in out
    args = ["tag", "train", "--corpus", "toy.txt", "--model", "bi", "--embeddings", "cse.pt"]
    assert main([*args, "--checkpoint", "t.pt", "--epochs", "2", "--no-progress"]) == 0
    assert "bi+cse test accuracy" in capsys.readouterr().out
    (tmp_path / "cse.pt").unlink()  # the tagger file carries the embeddings
    assert main(["tag", "predict", "--checkpoint", "t.pt", "in.txt"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [t.rsplit("/", 1)[0] for t in lines[0].split()] == ["佢", "食", "飯", "啊"]
    assert main(["tag", "train", "--corpus", "toy.txt", "--model", "bicrf+cse"]) == 2
    assert "needs --embeddings" in capsys.readouterr().err
