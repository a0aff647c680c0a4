"""``pirho lm train|generate|evaluate`` and ``pirho cloze train|fill``.

Character language models on The Time Machine (default) or any UTF-8 text file (``--text``).
torch is imported inside the command functions so that the rest of the CLI stays light.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path

from pirho.cli._options import (
    DefaultsHelpFormatter,
    checkpoint_file,
    clip_value,
    existing_file,
    json_file,
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
    seed,
    thread_count,
)
from pirho.cli._training import add_device_arguments
from pirho.lm.defaults import CLOZE_DEFAULTS, HELDOUT_TOKENS, RNNLM_DEFAULTS

LM_KINDS = ("rnnlm", "bilm")


# --------------------------------------------------------------------------------------------
# parsers


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--text",
        metavar="FILE",
        type=existing_file,
        help="UTF-8 text file (None: The Time Machine, d2l's copy)",
    )
    parser.add_argument(
        "--lowercase", action="store_true", help="lower-case --text before training"
    )
    parser.add_argument(
        "--heldout-tokens",
        type=positive_int,
        default=HELDOUT_TOKENS,
        help="characters held out at the end of the text",
    )


def _add_train_arguments(parser: argparse.ArgumentParser, defaults: Mapping) -> None:
    _add_data_arguments(parser)
    parser.add_argument(
        "--max-tokens",
        type=nonnegative_int,
        default=defaults["max_tokens"],
        help="train on the first N characters (0: all)",
    )
    parser.add_argument(
        "--cell", choices=("rnn", "gru", "lstm"), default=defaults["cell"], help="recurrent cell"
    )
    parser.add_argument(
        "--hidden-size", type=positive_int, default=defaults["hidden_size"], help="per direction"
    )
    parser.add_argument(
        "--num-layers", type=positive_int, default=defaults["num_layers"], help="stacked layers"
    )
    parser.add_argument(
        "--embedding-dim",
        type=positive_int,
        default=defaults["embedding_dim"],
        help="embedding size (None: one-hot input, d2l's RNNLM)",
    )
    parser.add_argument(
        "--epochs", type=positive_int, default=defaults["epochs"], help="passes over the text"
    )
    parser.add_argument("--lr", type=positive_float, default=defaults["lr"], help="learning rate")
    parser.add_argument(
        "--optimizer", choices=("sgd", "adam"), default=defaults["optimizer"], help="optimizer"
    )
    parser.add_argument(
        "--clip",
        type=clip_value,
        default=defaults["clip"],
        help="gradient-norm clip ('none': no clipping)",
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=defaults["batch_size"], help="windows per step"
    )
    parser.add_argument(
        "--num-steps",
        type=positive_int,
        default=defaults["num_steps"],
        help="characters per window",
    )
    parser.add_argument(
        "--random-iter",
        action=argparse.BooleanOptionalAction,
        default=defaults["random_iter"],
        help="random instead of sequential minibatches",
    )
    parser.add_argument("--seed", type=seed, default=0, help="random seed")
    parser.add_argument(
        "--checkpoint",
        type=checkpoint_file,
        default=defaults["checkpoint"],
        help="checkpoint file",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=nonnegative_int,
        default=100,
        help="steps between checkpoints (0: only at the end)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the run saved in --checkpoint"
    )
    parser.add_argument(
        "--eval-every",
        type=positive_int,
        default=defaults["eval_every"],
        help="epochs between held-out evaluations",
    )
    parser.add_argument("--threads", type=thread_count, help="torch threads (None: torch's choice)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(resumable=True)
    add_device_arguments(parser)


def register(subparsers) -> None:
    """Add the ``lm`` and ``cloze`` command groups."""
    lm = subparsers.add_parser("lm", help="character language models (d2l's RNNLM, a BiLM)")
    lm_sub = lm.add_subparsers(dest="lm_command", metavar="{train,generate,evaluate}")
    lm.set_defaults(func=lambda args: _missing(lm))

    train = lm_sub.add_parser(
        "train",
        help="train an RNNLM (d2l's defaults) or a BiLM",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    train.add_argument("--model", choices=LM_KINDS, default="rnnlm", help="model kind")
    train.add_argument(
        "--bidirectional", action="store_true", help="rnnlm: d2l's bidirectional model (leaks)"
    )
    _add_train_arguments(train, RNNLM_DEFAULTS)
    train.add_argument(
        "--json", type=json_file, metavar="PATH", help="write the run's numbers as JSON here"
    )
    train.set_defaults(func=cmd_lm_train)

    generate = lm_sub.add_parser("generate", help="continue a prefix with a trained RNNLM")
    generate.add_argument("--checkpoint", type=existing_file, default="lm.pt", help="(lm.pt)")
    generate.add_argument("prefix", nargs="?", default="time traveller")
    generate.add_argument(
        "--n-chars",
        type=nonnegative_int,
        default=100,
        help="characters to add (100); printed as they are generated",
    )
    generate.add_argument(
        "--temperature",
        type=nonnegative_float,
        default=0.0,
        help="0: greedy (default); > 0: sampling",
    )
    generate.add_argument(
        "--seed", type=seed, default=None, help="sampling seed, with --temperature > 0 (0)"
    )
    generate.add_argument(
        "--strict", action="store_true", help="reject unknown characters instead of <unk>"
    )
    generate.set_defaults(func=cmd_lm_generate)

    evaluate = lm_sub.add_parser(
        "evaluate",
        help="held-out perplexity, teacher-forced and causal",
        formatter_class=DefaultsHelpFormatter,
    )
    evaluate.add_argument(
        "--checkpoint", type=existing_file, default="lm.pt", help="the model to evaluate"
    )
    evaluate.add_argument(
        "--num-steps",
        type=positive_int,
        help="window length (default: the training run's, else 35)",
    )
    _add_data_arguments(evaluate)
    evaluate.set_defaults(func=cmd_lm_evaluate)

    cloze = subparsers.add_parser("cloze", help="fill in the blanks with a leak-free BiLM")
    cloze_sub = cloze.add_subparsers(dest="cloze_command", metavar="{train,fill}")
    cloze.set_defaults(func=lambda args: _missing(cloze))

    ctrain = cloze_sub.add_parser(
        "train",
        help="train a cloze model (BiLM + head)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_train_arguments(ctrain, CLOZE_DEFAULTS)
    ctrain.set_defaults(func=cmd_cloze_train)

    fill = cloze_sub.add_parser("fill", help="fill the _ blanks of a text")
    fill.add_argument("query", help="text with one _ per missing character, e.g. 'tr___ller'")
    fill.add_argument("--checkpoint", type=existing_file, default="cloze.pt", help="(cloze.pt)")
    fill.add_argument("--top-k", type=positive_int, default=5, help="candidates shown (5)")
    fill.add_argument(
        "--method",
        choices=("auto", "head", "score"),
        default="auto",
        help="head: the cloze head (one blank); score: rank fillings by both LMs' score of the "
        "whole text, exactly or by beam search; auto (default): head when it applies",
    )
    fill.add_argument("--beam-size", type=positive_int, default=64, help="beam for long gaps (64)")
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


def _check_lowercase(args) -> None:
    if args.lowercase and args.text is None:
        raise ValueError(
            "--lowercase applies to --text FILE; The Time Machine is lower-cased by d2l's "
            "tokenisation already"
        )


def _missing(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


# --------------------------------------------------------------------------------------------
# commands


def _train(args, kind: str):
    """Check every option and the checkpoint, then train; returns (model, data, result)."""
    from pirho.experiments.common import set_threads
    from pirho.lm import (
        build_language_model,
        check_resume,
        fit_language_model,
        load_lm_text,
        train_settings,
    )
    from pirho.nn.lm_eval import cloze_accuracy

    _check_lowercase(args)
    data = load_lm_text(
        args.text, args.max_tokens or None, args.heldout_tokens, lowercase=args.lowercase
    )
    model = build_language_model(
        kind,
        data,
        hidden_size=args.hidden_size,
        num_layers=args.num_layers,
        cell=args.cell,
        embedding_dim=args.embedding_dim,
        bidirectional=args.bidirectional,
        seed=args.seed,
    )
    settings = {
        "batch_size": args.batch_size,
        "num_steps": args.num_steps,
        "lr": args.lr,
        "optimizer": args.optimizer,
        "clip": args.clip,
        "random_iter": args.random_iter,
    }
    if args.resume and Path(args.checkpoint).exists():
        check_resume(
            args.checkpoint, model, train_settings(data, **settings, seed=args.seed), args.epochs
        )
    set_threads(args.threads)
    print(
        f"training {kind} on {data.source}: {len(data.train):,} characters, "
        f"{len(data.heldout):,} held out, vocabulary {len(data.vocab)}",
        file=sys.stderr,
    )
    evaluate = None
    if kind == "cloze":

        def evaluate(net, heldout):
            return cloze_accuracy(net, heldout[:2_000])

    result = fit_language_model(
        model,
        data,
        **settings,
        epochs=args.epochs,
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
    from pirho.experiments.common import write_json
    from pirho.lm.metrics import lm_train_metrics
    from pirho.nn.lm_eval import perplexities

    if args.model == "bilm" and args.bidirectional:
        raise ValueError("--bidirectional applies to --model rnnlm (a BiLM is always two-way)")
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

    if args.seed is not None and args.temperature == 0:
        raise ValueError("--seed applies to sampling (--temperature > 0); greedy decoding has none")
    model = load_model(args.checkpoint, expected_kind="rnnlm")
    with _warnings_to_stderr():
        pieces = model.stream(
            args.prefix,
            args.n_chars,
            temperature=args.temperature,
            seed=0 if args.seed is None else args.seed,
            unknown="error" if args.strict else "warn",
        )
    # printed as generated: a long --n-chars shows its text from the first character on
    for count, piece in enumerate(pieces):
        sys.stdout.write(piece)
        if count % 64 == 0:
            sys.stdout.flush()
    sys.stdout.write("\n")
    return 0


def cmd_lm_evaluate(args) -> int:
    from pirho.lm import heldout_in_vocab, load_lm_text
    from pirho.nn.lm_eval import cloze_accuracy, perplexities
    from pirho.nn.models import load_model

    model = load_model(args.checkpoint)
    _check_lowercase(args)
    data = load_lm_text(args.text, None, args.heldout_tokens, lowercase=args.lowercase)
    with _warnings_to_stderr():
        heldout = heldout_in_vocab(data, model.vocab)
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
