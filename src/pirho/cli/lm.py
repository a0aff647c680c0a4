"""``pirho lm train|generate|evaluate`` and ``pirho cloze train|fill``.

Character language models on The Time Machine (default) or any UTF-8 text file (``--text``).
torch is imported inside the command functions so that the rest of the CLI stays light.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings

from pirho.cli._training import add_device_arguments

LM_KINDS = ("rnnlm", "bilm")


# --------------------------------------------------------------------------------------------
# parsers


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--text", metavar="FILE", help="UTF-8 text file (default: The Time Machine, d2l's copy)"
    )
    parser.add_argument(
        "--lowercase", action="store_true", help="lower-case --text before training"
    )
    parser.add_argument(
        "--heldout-tokens",
        type=int,
        default=5_000,
        help="characters held out at the end of the text (default 5000)",
    )


def _add_train_arguments(parser: argparse.ArgumentParser, defaults: dict) -> None:
    _add_data_arguments(parser)
    parser.add_argument(
        "--max-tokens",
        type=int,
        default=defaults["max_tokens"],
        help=f"train on the first N characters (default {defaults['max_tokens']}; 0: all)",
    )
    parser.add_argument("--cell", choices=("rnn", "gru", "lstm"), default="lstm")
    parser.add_argument("--hidden-size", type=int, default=256, help="per direction (256)")
    parser.add_argument("--num-layers", type=int, default=2, help="stacked layers (2)")
    parser.add_argument(
        "--embedding-dim",
        type=int,
        default=defaults["embedding_dim"],
        help=f"embedding size (default {defaults['embedding_dim']})",
    )
    parser.add_argument("--epochs", type=int, default=defaults["epochs"])
    parser.add_argument("--lr", type=float, default=defaults["lr"])
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default=defaults["optimizer"])
    parser.add_argument("--clip", type=float, default=1.0, help="gradient-norm clip (1)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--num-steps", type=int, default=35, help="characters per window (35)")
    parser.add_argument(
        "--random-iter",
        action=argparse.BooleanOptionalAction,
        default=defaults["random_iter"],
        help="random instead of sequential minibatches",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--checkpoint",
        default=defaults["checkpoint"],
        help=f"checkpoint file (default {defaults['checkpoint']})",
    )
    parser.add_argument(
        "--checkpoint-every", type=int, default=100, help="steps between checkpoints (100)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the run saved in --checkpoint"
    )
    parser.add_argument("--eval-every", type=int, default=defaults["eval_every"])
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_device_arguments(parser)


def register(subparsers) -> None:
    """Add the ``lm`` and ``cloze`` command groups."""
    lm = subparsers.add_parser("lm", help="character language models (d2l's RNNLM, a BiLM)")
    lm_sub = lm.add_subparsers(dest="lm_command", metavar="{train,generate,evaluate}")
    lm.set_defaults(func=lambda args: _missing(lm))

    train = lm_sub.add_parser("train", help="train an RNNLM (d2l's defaults) or a BiLM")
    train.add_argument("--model", choices=LM_KINDS, default="rnnlm", help="(rnnlm)")
    train.add_argument(
        "--bidirectional", action="store_true", help="rnnlm: d2l's bidirectional model (leaks)"
    )
    _add_train_arguments(
        train,
        {
            "max_tokens": 10_000,
            "embedding_dim": None,
            "epochs": 500,
            "lr": 1.0,
            "optimizer": "sgd",
            "random_iter": False,
            "checkpoint": "lm.pt",
            "eval_every": 25,
        },
    )
    train.add_argument("--json", metavar="PATH", help="write the run's numbers as JSON here")
    train.set_defaults(func=cmd_lm_train)

    generate = lm_sub.add_parser("generate", help="continue a prefix with a trained RNNLM")
    generate.add_argument("--checkpoint", default="lm.pt", help="(lm.pt)")
    generate.add_argument("prefix", nargs="?", default="time traveller")
    generate.add_argument("--n-chars", type=int, default=100, help="characters to add (100)")
    generate.add_argument(
        "--temperature", type=float, default=0.0, help="0: greedy (default); > 0: sampling"
    )
    generate.add_argument("--seed", type=int, default=0, help="sampling seed (0)")
    generate.add_argument(
        "--strict", action="store_true", help="reject unknown characters instead of <unk>"
    )
    generate.set_defaults(func=cmd_lm_generate)

    evaluate = lm_sub.add_parser("evaluate", help="held-out perplexity, teacher-forced and causal")
    evaluate.add_argument("--checkpoint", default="lm.pt", help="(lm.pt)")
    evaluate.add_argument(
        "--num-steps", type=int, help="window length (default: the training run's, else 35)"
    )
    _add_data_arguments(evaluate)
    evaluate.set_defaults(func=cmd_lm_evaluate)

    cloze = subparsers.add_parser("cloze", help="fill in the blanks with a leak-free BiLM")
    cloze_sub = cloze.add_subparsers(dest="cloze_command", metavar="{train,fill}")
    cloze.set_defaults(func=lambda args: _missing(cloze))

    ctrain = cloze_sub.add_parser("train", help="train a cloze model (BiLM + head)")
    _add_train_arguments(
        ctrain,
        {
            "max_tokens": 0,
            "embedding_dim": 64,
            "epochs": 12,
            "lr": 0.003,
            "optimizer": "adam",
            "random_iter": True,
            "checkpoint": "cloze.pt",
            "eval_every": 2,
        },
    )
    ctrain.set_defaults(func=cmd_cloze_train)

    fill = cloze_sub.add_parser("fill", help="fill the _ blanks of a text")
    fill.add_argument("query", help="text with one _ per missing character, e.g. 'tr___ller'")
    fill.add_argument("--checkpoint", default="cloze.pt", help="(cloze.pt)")
    fill.add_argument("--top-k", type=int, default=5, help="candidates shown (5)")
    fill.add_argument(
        "--method",
        choices=("auto", "head", "score"),
        default="auto",
        help="head: the cloze head (one blank); score: rank fillings by both LMs' score of the "
        "whole text, exactly or by beam search; auto (default): head when it applies",
    )
    fill.add_argument("--beam-size", type=int, default=64, help="beam for long gaps (64)")
    fill.add_argument("--strict", action="store_true", help="reject unknown characters")
    fill.set_defaults(func=cmd_cloze_fill)


@contextlib.contextmanager
def _warnings_to_stderr():
    """Show warnings (unknown characters mapped to <unk>, ...) as one plain line each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for warning in caught:
                print(f"pirho: warning: {warning.message}", file=sys.stderr)


def _missing(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


# --------------------------------------------------------------------------------------------
# commands


def _model_for_training(args, kind: str, data):
    """A new model from the options, or — resuming — the architecture in the checkpoint."""
    from pathlib import Path

    import torch

    from pirho.nn.models import MODEL_CLASSES, RNNLM, BiLM, ClozeModel
    from pirho.train import load_checkpoint

    if args.resume and Path(args.checkpoint).exists():
        meta = load_checkpoint(args.checkpoint, expected_kind=kind)["meta"]
        return MODEL_CLASSES[kind].from_meta(meta)
    torch.manual_seed(args.seed)
    common = {"vocab": data.vocab, "text_mode": data.text_mode}
    if kind == "rnnlm":
        return RNNLM(
            len(data.vocab),
            hidden_size=args.hidden_size,
            num_layers=args.num_layers,
            cell=args.cell,
            bidirectional=args.bidirectional,
            embedding_dim=args.embedding_dim,
            **common,
        )
    cls = BiLM if kind == "bilm" else ClozeModel
    return cls(
        len(data.vocab),
        embedding_dim=args.embedding_dim or 64,
        hidden_size=args.hidden_size,
        num_layers=args.num_layers,
        cell=args.cell,
        **common,
    )


def _train(args, kind: str):
    from pirho.experiments.lm_common import fit_language_model, load_lm_text, set_threads

    set_threads(args.threads)
    data = load_lm_text(
        args.text, args.max_tokens or None, args.heldout_tokens, lowercase=args.lowercase
    )
    model = _model_for_training(args, kind, data)
    if model.vocab != data.vocab:
        raise ValueError(
            f"checkpoint {args.checkpoint} was trained on another text (its vocabulary differs "
            f"from {data.source}); pass the same --text to resume"
        )
    print(
        f"training {kind} on {data.source}: {len(data.train):,} characters, "
        f"{len(data.heldout):,} held out, vocabulary {len(data.vocab)}",
        file=sys.stderr,
    )
    evaluate = None
    if kind == "cloze":
        from pirho.nn.lm_eval import cloze_accuracy

        def evaluate(net, heldout):
            return cloze_accuracy(net, heldout[:2_000])

    result = fit_language_model(
        model,
        data,
        batch_size=args.batch_size,
        num_steps=args.num_steps,
        epochs=args.epochs,
        lr=args.lr,
        optimizer=args.optimizer,
        clip=args.clip,
        random_iter=args.random_iter,
        seed=args.seed,
        eval_every=args.eval_every,
        checkpoint=args.checkpoint,
        checkpoint_every=args.checkpoint_every,
        resume=args.resume,
        progress=not args.no_progress,
        desc=kind,
        evaluate=evaluate,
        device=args.device,
        precision=args.precision,
    )
    return model, data, result


def cmd_lm_train(args) -> int:
    from pathlib import Path

    from pirho.experiments.common import write_json
    from pirho.lm_metrics import lm_train_metrics
    from pirho.nn.lm_eval import perplexities

    if args.model == "bilm" and args.bidirectional:
        raise ValueError("--bidirectional applies to --model rnnlm (a BiLM is always two-way)")
    if args.json and not Path(args.json).resolve().parent.is_dir():
        raise ValueError(f"--json {args.json}: folder {Path(args.json).parent} does not exist")
    model, data, result = _train(args, args.model)
    last = result.history[-1] if result.history else {}
    heldout = perplexities(model, data.heldout, args.num_steps)
    print(f"epochs {last.get('epoch', 0)}, steps {result.steps}, {result.seconds:.0f} s")
    print(f"train perplexity              {last.get('train_ppl', float('nan')):8.3f}")
    print(f"held-out, teacher-forced      {heldout['teacher_forced_ppl']:8.3f}")
    print(f"held-out, causal              {heldout['causal_ppl']:8.3f}")
    if args.model == "rnnlm":
        # d2l's prefix for the Time Machine; for other texts the held-out text's first characters
        prefix = (
            "time traveller"
            if data.text_mode == "d2l"
            else "".join(data.vocab.to_tokens(data.heldout[:10]))
        )
        print(f"sample: {model.cpu().generate(prefix, 50)!r}")
    print(f"checkpoint: {args.checkpoint}")
    if args.json:
        write_json(lm_train_metrics(result, heldout, args.batch_size * args.num_steps), args.json)
        print(f"wrote {args.json}")
    return 0


def cmd_lm_generate(args) -> int:
    from pirho.nn.models import load_model

    model = load_model(args.checkpoint, expected_kind="rnnlm")
    with _warnings_to_stderr():
        text = model.generate(
            args.prefix,
            args.n_chars,
            temperature=args.temperature,
            seed=args.seed,
            unknown="error" if args.strict else "warn",
        )
    print(text)
    return 0


def _heldout_in_model_vocab(model, args) -> list[int]:
    """The held-out text of --text (default Time Machine), encoded with the model's vocab."""
    import warnings

    from pirho.experiments.lm_common import load_lm_text

    data = load_lm_text(args.text, None, args.heldout_tokens, lowercase=args.lowercase)
    if data.vocab == model.vocab:
        return data.heldout
    characters = data.vocab.to_tokens(data.heldout)
    unknown = sorted({c for c in characters if c not in model.vocab})
    if unknown:
        warnings.warn(
            f"held-out text has characters the model never saw ({''.join(unknown[:20])!r}); "
            "they count as <unk>",
            UserWarning,
            stacklevel=2,
        )
    return model.vocab[characters]


def cmd_lm_evaluate(args) -> int:
    from pirho.nn.lm_eval import cloze_accuracy, perplexities
    from pirho.nn.models import load_model

    model = load_model(args.checkpoint)
    heldout = _heldout_in_model_vocab(model, args)
    trained = model.checkpoint_meta.get("train") or {}
    num_steps = args.num_steps or trained.get("num_steps", 35)
    result = perplexities(model, heldout, num_steps)
    which = "" if model.kind == "rnnlm" else " (forward LM)"
    print(f"model: {model.kind}{which}, held-out characters scored: {result['n_tokens']}")
    print(f"held-out perplexity, teacher-forced  {result['teacher_forced_ppl']:8.3f}")
    print(f"held-out perplexity, causal          {result['causal_ppl']:8.3f}")
    if model.kind == "cloze":
        acc = cloze_accuracy(model, heldout)
        print(
            f"cloze accuracy on {acc['n_masked']} masked characters: left {acc['left_acc']:.3f}, "
            f"right {acc['right_acc']:.3f}, both {acc['both_acc']:.3f}"
        )
    return 0


def cmd_cloze_train(args) -> int:
    from pirho.nn.lm_eval import cloze_accuracy

    args.bidirectional = False
    model, data, result = _train(args, "cloze")
    acc = cloze_accuracy(model, data.heldout)
    print(f"epochs {result.history[-1]['epoch']}, steps {result.steps}, {result.seconds:.0f} s")
    print(f"held-out masked characters: {acc['n_masked']}")
    for side in ("left", "right", "both"):
        print(f"  {side:<5} accuracy {100 * acc[side + '_acc']:5.1f}%")
    print(f"checkpoint: {args.checkpoint}")
    return 0


def cmd_cloze_fill(args) -> int:
    from pirho.nn.models import load_model

    model = load_model(args.checkpoint, expected_kind="cloze")
    with _warnings_to_stderr():
        candidates = model.fill(
            args.query,
            top_k=args.top_k,
            method=args.method,
            beam_size=args.beam_size,
            unknown="error" if args.strict else "warn",
        )
    width = max(len(text) for text, _ in candidates)
    for text, prob in candidates:
        print(f"{text:<{width}}  {prob:6.3f}")
    return 0
