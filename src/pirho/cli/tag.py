"""``pirho tag train|predict``: part-of-speech taggers on HKCanCor or your own corpus.

``train`` fits one tagger (most frequent tag, supervised HMM, uni-LSTM, BiLSTM or BiLSTM-CRF)
on the training part of the document split, prints the split sizes and dev/test accuracy, and
writes a checkpoint; ``predict`` reads whitespace-tokenised lines and writes ``word/TAG``
tokens (or CoNLL-U with ``--conllu``). Both go through :mod:`pirho.tagging`; torch is imported
inside the command functions.
"""

from __future__ import annotations

import argparse
import sys

from pirho.cli._options import (
    checkpoint_file,
    corpus_source,
    existing_file,
    input_or_stdin,
    output_file,
    positive_int,
    seed,
)

MODEL_CHOICES = ("mft", "hmm", "uni", "bi", "bicrf", "bi+cse", "bicrf+cse")
TAGSET_CHOICES = ("hkcancor", "ud")


def register(subparsers) -> None:
    """Add the ``tag`` command group."""
    tag = subparsers.add_parser("tag", help="part-of-speech taggers (HKCanCor, CoNLL-U files)")
    tag_sub = tag.add_subparsers(dest="tag_command", metavar="{train,predict}", required=True)

    train = tag_sub.add_parser(
        "train",
        help="fit a tagger and save it",
        description="Fit a tagger on the training part of the document split (~80/10/10).",
    )
    train.add_argument(
        "--corpus",
        type=corpus_source,
        default="hkcancor",
        metavar="hkcancor|FILE",
        help="hkcancor (default; needs pirho[corpora]), a .conllu file or a word/TAG file",
    )
    train.add_argument("--tagset", choices=TAGSET_CHOICES, default="hkcancor", help="(hkcancor)")
    train.add_argument("--model", choices=MODEL_CHOICES, default="bicrf", help="(bicrf)")
    train.add_argument(
        "--checkpoint", type=checkpoint_file, default="tagger.pt", help="output file (tagger.pt)"
    )
    train.add_argument(
        "--epochs", type=positive_int, default=None, help="epochs (default 12; --quick 3)"
    )
    train.add_argument("--quick", action="store_true", help="the experiment's quick sizes")
    train.add_argument(
        "--max-train-sentences",
        type=positive_int,
        default=None,
        help="train on the first N sentences",
    )
    train.add_argument("--seed", type=seed, default=0, help="random seed (0)")
    train.add_argument(
        "--embeddings",
        type=existing_file,
        metavar="PATH",
        help="contextual string embeddings from 'pirho embed train' as one more input "
        "(--model bi or bicrf becomes bi+cse or bicrf+cse); the tagger file carries them",
    )
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(func=cmd_train)

    predict = tag_sub.add_parser(
        "predict",
        help="tag a file of whitespace-tokenised lines",
        description="Tag FILE (one sentence per line, words separated by spaces; - = stdin).",
    )
    predict.add_argument(
        "file", type=input_or_stdin, metavar="FILE", help="input text, one sentence per line"
    )
    predict.add_argument(
        "--checkpoint", type=existing_file, default="tagger.pt", help="(tagger.pt)"
    )
    predict.add_argument("--conllu", action="store_true", help="write CoNLL-U instead of word/TAG")
    predict.add_argument(
        "-o", "--output", type=output_file, metavar="PATH", help="write here instead of stdout"
    )
    predict.set_defaults(func=cmd_predict)


def cmd_train(args: argparse.Namespace) -> int:
    model = args.model
    if args.embeddings is not None:
        if model not in ("bi", "bicrf", "bi+cse", "bicrf+cse"):
            raise ValueError(f"--embeddings needs --model bi or bicrf, got {model!r}")
        model = model if model.endswith("+cse") else f"{model}+cse"
    elif model.endswith("+cse"):
        raise ValueError(f"--model {model} needs --embeddings PATH (from 'pirho embed train')")

    import torch

    from pirho.experiments import tagging as experiment  # the configurations (sizes)
    from pirho.experiments.common import resolve_config
    from pirho.tagging import fit_tagger, prepare

    torch.set_num_threads(min(2, torch.get_num_threads()))
    config = resolve_config(
        "tag train",
        experiment.FULL,
        experiment.QUICK,
        args.quick,
        {"epochs": args.epochs, "max_train_sentences": args.max_train_sentences},
    )
    split, vocab = prepare(args.corpus, args.tagset, config["max_train_sentences"])
    print(f"corpus {args.corpus} ({args.tagset if args.corpus == 'hkcancor' else 'file'} tags)")
    for part, size in split.sizes().items():
        print(
            f"  {part:<5} {size['documents']:>4} documents {size['sentences']:>7,} sentences "
            f"{size['tokens']:>8,} tokens"
        )
    print(
        f"  {len(vocab.words):,} word types (+<unk>), {len(vocab.chars):,} characters, "
        f"{len(vocab.tags)} tags"
    )
    embeddings = None
    if args.embeddings is not None:
        from pirho.nn import ContextualStringEmbeddings

        embeddings = ContextualStringEmbeddings.load(args.embeddings)
    fitted = fit_tagger(
        model,
        split,
        vocab,
        config,
        seed=args.seed,
        progress=not args.no_progress,
        embeddings=embeddings,
    )
    for part in ("dev", "test"):
        sentences = getattr(split, part)
        n_tokens = sum(len(s.words) for s in sentences)
        print(f"{model} {part} accuracy {fitted.accuracy(sentences):.4f} ({n_tokens:,} tokens)")
    fitted.save(args.checkpoint, corpus=str(args.corpus), tagset=args.tagset)
    print(f"wrote {args.checkpoint}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from pirho._atomic import atomic_open
    from pirho._files import decode_text, read_text
    from pirho.tagging import TrainedTagger

    fitted = TrainedTagger.load(args.checkpoint)
    if args.file == "-":
        lines = decode_text(sys.stdin.buffer.read(), "standard input").splitlines()
    else:
        lines = read_text(args.file, "FILE").splitlines()
    sentences = [line.split() for line in lines]
    if not any(sentences):
        where = "standard input" if args.file == "-" else f"FILE {args.file}"
        raise ValueError(f"{where} has no words to tag: it is empty or holds only blank lines")
    tagged = fitted.tag([s for s in sentences if s])
    upos = fitted.info.get("tagset") == "ud" or str(fitted.info.get("corpus")).endswith(".conllu")
    tags_of = iter(tagged)
    if args.conllu:
        text = "".join(
            _conllu_block(words, next(tags_of), upos) + "\n" for words in sentences if words
        )
    else:
        lines_out = [
            " ".join(f"{w}/{t}" for w, t in zip(words, next(tags_of), strict=True)) if words else ""
            for words in sentences
        ]
        text = "\n".join(lines_out) + "\n"
    if args.output:
        with atomic_open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _conllu_block(words: list[str], tags: list[str], upos: bool) -> str:
    """One sentence in CoNLL-U: the tag in UPOS (a UD tag set) or XPOS (any other)."""
    rows = []
    for i, (word, tag) in enumerate(zip(words, tags, strict=True), 1):
        columns = [str(i), word, "_", tag if upos else "_", "_" if upos else tag]
        rows.append("\t".join(columns + ["_"] * 5))
    return "\n".join(rows) + "\n"
