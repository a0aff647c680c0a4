"""``pirho hmm``: the exact engine from the command line.

- ``pirho hmm casino``       simulate the dishonest casino and decode it three ways;
- ``pirho hmm brute-vs-dp``  K^T paths against T·K² operations, measured and extrapolated;
- ``pirho hmm fit``          Baum–Welch on a token file (one sequence per line);
- ``pirho hmm decode``       the most likely hidden states of each line of a token file.

Token files are UTF-8 text, one sequence per line, tokens separated by whitespace; blank lines
are skipped. ``fit`` writes a *token model*: JSON holding the token list next to the model,

    {"format": "pirho.TokenHMM", "version": 1,
     "tokens": ["1", "2", ...],            # symbol i of the model is tokens[i]
     "model": {...CategoricalHMM.to_dict()...},
     "training": {...how it was fitted...}}

``decode`` reads that, or a plain ``CategoricalHMM`` JSON (``CategoricalHMM.save``), whose
tokens are then the symbol numbers ``0 .. M-1`` written as text.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pirho.cli import hmm_fit

TOKEN_MODEL_FORMAT = "pirho.TokenHMM"
TOKEN_MODEL_VERSION = 1


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "hmm",
        help="exact HMM inference: casino, brute-vs-dp, fit, decode",
        description="Exact hidden Markov model inference by dynamic programming.",
    )
    commands = parser.add_subparsers(dest="hmm_command", metavar="COMMAND")
    parser.set_defaults(func=lambda args: _print_help(parser))

    casino = commands.add_parser(
        "casino",
        help="simulate the dishonest casino and decode which die was used",
        description="Simulate the dishonest casino (Durbin et al.), print log P(X) and the "
        "accuracy of Viterbi, posterior-argmax and filter-argmax decoding.",
    )
    casino.add_argument(
        "--rolls", type=int, default=100_000, metavar="N", help="number of rolls (default 100000)"
    )
    casino.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    casino.add_argument("--plot", metavar="PNG", help="plot P(loaded | rolls) over time here")
    casino.add_argument(
        "--plot-steps",
        type=int,
        default=300,
        metavar="N",
        help="rolls shown in the plot (default 300, from the first)",
    )
    casino.add_argument("--json", metavar="PATH", help="write the figures as JSON here")
    casino.set_defaults(func=casino_command)

    brute = commands.add_parser(
        "brute-vs-dp",
        help="enumerate K^T paths against the T·K² forward recursion",
        description="Grow T until brute-force enumeration takes about --time-budget seconds "
        "(or T = --max-steps), compare with dynamic programming, then extrapolate.",
    )
    brute.add_argument(
        "--max-steps",
        type=int,
        default=30,
        metavar="T",
        help="longest sequence enumerated (default 30)",
    )
    brute.add_argument(
        "--time-budget",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="stop once one brute-force call takes this many CPU seconds (default 1)",
    )
    brute.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    brute.add_argument("--plot", metavar="PNG", help="log-scale plot of K^T against T·K²")
    brute.add_argument("--json", metavar="PATH", help="write the table as JSON here")
    brute.set_defaults(func=brute_vs_dp_command)

    fit = commands.add_parser(
        "fit",
        help="fit an HMM to a token file with Baum–Welch",
        description="Fit a categorical HMM to INPUT (one sequence per line, whitespace-"
        "separated tokens) and write a token model JSON.",
    )
    fit.add_argument("input", metavar="INPUT", help="UTF-8 text, one sequence per line")
    fit.add_argument("--states", type=int, required=True, metavar="K", help="hidden states")
    fit.add_argument(
        "--iter",
        type=int,
        default=100,
        metavar="N",
        help="maximum EM iterations (default 100)",
    )
    fit.add_argument(
        "--tol",
        type=float,
        default=1e-6,
        help="stop when the log-likelihood gains less than this (default 1e-6)",
    )
    fit.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    fit.add_argument(
        "--restarts",
        type=int,
        default=None,
        metavar="R",
        help="random initialisations; the best is kept (default: baum_welch's)",
    )
    fit.add_argument(
        "-o", "--output", required=True, metavar="MODEL.json", help="where to write the model"
    )
    fit.set_defaults(func=fit_command)

    decode = commands.add_parser(
        "decode",
        help="decode the hidden states of each line of a token file",
        description="Write the hidden state of every token of INPUT, one line per sequence.",
    )
    decode.add_argument("input", metavar="INPUT", help="UTF-8 text, one sequence per line")
    decode.add_argument(
        "--model",
        required=True,
        metavar="MODEL.json",
        help="a model written by `pirho hmm fit` (or CategoricalHMM.save)",
    )
    decode.add_argument(
        "--method",
        choices=("viterbi", "posterior"),
        default="viterbi",
        help="viterbi: most likely path; posterior: most likely state at each "
        "step (default viterbi)",
    )
    decode.add_argument("-o", "--output", metavar="OUT", help="write here instead of stdout")
    decode.set_defaults(func=decode_command)
    hmm_fit.extend(fit, decode)  # --emission fit/decode of CSV/TSV/.npy/.npz data


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


# --------------------------------------------------------------------------- casino


def decoding_accuracy(states: np.ndarray, decoded: np.ndarray) -> float:
    """Fraction of steps where ``decoded`` equals the true ``states`` (both (T,) ints).

    >>> decoding_accuracy(np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0]))
    0.75
    """
    return float(np.mean(np.asarray(states) == np.asarray(decoded)))


def casino_report(n_rolls: int, seed: int) -> tuple[dict, dict]:
    """Simulate ``n_rolls`` casino rolls and decode them by Viterbi, posterior and filter.

    Returns (figures, arrays): figures is the JSON dict printed by ``pirho hmm casino``;
    arrays holds ``states``, ``rolls`` (T,) and ``posterior``, ``filter`` (T, 2) for plotting.

    >>> figures, _ = casino_report(2000, seed=0)
    >>> sorted(figures["accuracy"])
    ['always_fair', 'filter', 'posterior', 'viterbi']
    """
    from pirho.hmm import casino
    from pirho.hmm.examples import FAIR, LOADED

    if n_rolls < 1:
        raise ValueError(f"--rolls must be at least 1, got {n_rolls}")
    model = casino()
    states, rolls = model.sample(n_rolls, seed=seed)
    states, rolls = np.asarray(states), np.asarray(rolls)
    log_likelihood = float(model.log_likelihood(rolls))
    viterbi_path, viterbi_log_prob = model.viterbi(rolls)
    posterior = np.asarray(model.posterior(rolls))
    filtered = np.asarray(model.filter(rolls))
    figures = {
        "n_rolls": n_rolls,
        "seed": seed,
        "loaded_fraction": float(np.mean(states == LOADED)),
        "log_likelihood": log_likelihood,
        "log_likelihood_per_roll": log_likelihood / n_rolls,
        "viterbi_log_prob": float(viterbi_log_prob),
        "accuracy": {
            "viterbi": decoding_accuracy(states, viterbi_path),
            "posterior": decoding_accuracy(states, posterior.argmax(axis=1)),
            "filter": decoding_accuracy(states, filtered.argmax(axis=1)),
            "always_fair": decoding_accuracy(states, np.full_like(states, FAIR)),
        },
    }
    arrays = {"states": states, "rolls": rolls, "posterior": posterior, "filter": filtered}
    return figures, arrays


def casino_command(args: argparse.Namespace) -> int:
    if args.plot_steps < 1:
        raise ValueError(f"--plot-steps must be at least 1, got {args.plot_steps}")
    figures, arrays = casino_report(args.rolls, args.seed)
    accuracy = figures["accuracy"]
    print(
        f"dishonest casino: {figures['n_rolls']:,} rolls (seed {figures['seed']}), "
        f"{figures['loaded_fraction']:.1%} with the loaded die"
    )
    print(
        f"log P(X) = {figures['log_likelihood']:.4f}  "
        f"({figures['log_likelihood_per_roll']:.4f} per roll)"
    )
    print()
    print("decoding                     accuracy")
    print("---------------------------  --------")
    for key, label in (
        ("viterbi", "Viterbi (best path)"),
        ("posterior", "posterior argmax (smoother)"),
        ("filter", "filter argmax (past only)"),
        ("always_fair", "always fair (baseline)"),
    ):
        print(f"{label:<27}  {accuracy[key]:8.4f}")
    if args.plot:
        from pirho.hmm.examples import LOADED
        from pirho.plots.hmm import plot_casino_posterior

        shown = slice(0, min(args.plot_steps, args.rolls))
        path = plot_casino_posterior(
            arrays["states"][shown],
            arrays["posterior"][shown, LOADED],
            args.plot,
            filter_loaded=arrays["filter"][shown, LOADED],
            title=f"Dishonest casino: P(loaded | rolls), first {shown.stop} of "
            f"{args.rolls:,} rolls",
        )
        print(f"wrote {path}")
    if args.json:
        from pirho.experiments.common import write_json

        print(f"wrote {write_json(figures, args.json)}")
    return 0


# --------------------------------------------------------------------------- brute-vs-dp


def brute_vs_dp_command(args: argparse.Namespace) -> int:
    from pirho.experiments import brute_vs_dp

    result = brute_vs_dp.run(
        seed=args.seed,
        max_steps=args.max_steps,
        time_budget=args.time_budget,
        progress=sys.stderr.isatty(),
    )
    print(f"dishonest casino, K = {result.metrics['k']}: brute force over all paths vs DP")
    print(result.summary)
    if args.plot:
        from pirho.plots.hmm import plot_brute_vs_dp

        print(f"wrote {plot_brute_vs_dp(result.metrics['rows'], args.plot, k=result.metrics['k'])}")
    if args.json:
        print(f"wrote {result.write_json(args.json)}")
    return 0


# --------------------------------------------------------------------------- token files


def read_token_file(path: str | Path) -> tuple[list[list[str]], list[int]]:
    """Read a token file: one sequence per line, whitespace-separated tokens.

    Returns (sequences, line_numbers): the token lists of the non-blank lines and their
    1-based line numbers. Raises ValueError if the file cannot be read, is not UTF-8, or
    holds no tokens.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.txt")
    >>> _ = open(p, "w").write("a b\\n\\n b c a\\n")
    >>> read_token_file(p)
    ([['a', 'b'], ['b', 'c', 'a']], [1, 3])
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"cannot read {path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} "
            f"at offset {exc.start})"
        ) from None
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    sequences, line_numbers = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = line.split()
        if tokens:
            sequences.append(tokens)
            line_numbers.append(number)
    if not sequences:
        raise ValueError(
            f"{path} has no sequences: expected one sequence per line, "
            "tokens separated by whitespace"
        )
    return sequences, line_numbers


def build_vocabulary(sequences: Sequence[Sequence[str]]) -> list[str]:
    """The distinct tokens, sorted (symbol i of a fitted model is token i).

    >>> build_vocabulary([["b", "a"], ["c", "a"]])
    ['a', 'b', 'c']
    """
    return sorted({token for tokens in sequences for token in tokens})


def encode(
    sequences: Sequence[Sequence[str]], tokens: Sequence[str], line_numbers: Sequence[int]
) -> list[np.ndarray]:
    """Map each token to its index in ``tokens``; an unknown token is a ValueError naming it
    and its line.

    >>> encode([["b", "a"]], ["a", "b"], [1])
    [array([1, 0])]
    """
    index = {token: i for i, token in enumerate(tokens)}
    encoded = []
    for tokens_of_line, number in zip(sequences, line_numbers, strict=True):
        try:
            encoded.append(np.array([index[token] for token in tokens_of_line], dtype=np.int64))
        except KeyError as exc:
            shown = " ".join(tokens[:20]) + (" ..." if len(tokens) > 20 else "")
            raise ValueError(
                f"token {exc.args[0]!r} on line {number} is not in the model's vocabulary "
                f"({len(tokens)} tokens: {shown})"
            ) from None
    return encoded


def save_token_model(path: str | Path, model, tokens: Sequence[str], training: dict) -> Path:
    """Write a token model (see the module docstring for the format)."""
    from pirho.experiments.common import write_json

    if len(tokens) != model.n_symbols:
        raise ValueError(f"{len(tokens)} tokens for a model with {model.n_symbols} symbols")
    document = {
        "format": TOKEN_MODEL_FORMAT,
        "version": TOKEN_MODEL_VERSION,
        "tokens": list(tokens),
        "model": model.to_dict(),
        "training": training,
    }
    return write_json(document, path)


def load_token_model(path: str | Path):
    """Read a token model, or a plain CategoricalHMM JSON (tokens "0" .. "M-1").

    Returns (model, tokens). Raises ValueError naming the file and the problem.
    """
    from pirho.hmm import CategoricalHMM

    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise ValueError(f"cannot read model {path}: {reason}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"model {path} is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError(f"model {path} must hold a JSON object, found {type(document).__name__}")
    if document.get("format") != TOKEN_MODEL_FORMAT:
        try:  # a plain CategoricalHMM.save() file: its symbols are its tokens
            model = CategoricalHMM.from_dict(document)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"model {path} is neither a token model (format {TOKEN_MODEL_FORMAT!r}, written "
                f"by `pirho hmm fit`) nor a CategoricalHMM: {exc}"
            ) from None
        return model, [str(i) for i in range(model.n_symbols)]
    if document.get("version") != TOKEN_MODEL_VERSION:
        raise ValueError(
            f"model {path} has version {document.get('version')!r}, "
            f"this pirho reads version {TOKEN_MODEL_VERSION}"
        )
    for key in ("tokens", "model"):
        if key not in document:
            raise ValueError(f"model {path} lacks the key {key!r}")
    tokens = document["tokens"]
    if not isinstance(tokens, list) or not all(isinstance(t, str) and t for t in tokens):
        raise ValueError(f"model {path}: 'tokens' must be a list of non-empty strings")
    if len(set(tokens)) != len(tokens):
        raise ValueError(f"model {path}: 'tokens' holds duplicates")
    try:
        model = CategoricalHMM.from_dict(document["model"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"model {path} is malformed: {exc}") from None
    if len(tokens) != model.n_symbols:
        raise ValueError(
            f"model {path} lists {len(tokens)} tokens but its model has {model.n_symbols} symbols"
        )
    return model, tokens


# --------------------------------------------------------------------------- fit / decode


def fit_command(args: argparse.Namespace) -> int:
    if args.states < 1:
        raise ValueError(f"--states must be at least 1, got {args.states}")
    if args.iter < 1:
        raise ValueError(f"--iter must be at least 1, got {args.iter}")
    if args.restarts is not None and args.restarts < 1:
        raise ValueError(f"--restarts must be at least 1, got {args.restarts}")
    sequences, line_numbers = read_token_file(args.input)
    tokens = build_vocabulary(sequences)
    encoded = encode(sequences, tokens, line_numbers)
    n_tokens = sum(len(s) for s in encoded)
    from pirho.hmm import baum_welch

    options = {} if args.restarts is None else {"n_restarts": args.restarts}
    result = baum_welch(
        encoded,
        args.states,
        len(tokens),
        n_iter=args.iter,
        tol=args.tol,
        seed=args.seed,
        **options,
    )
    log_likelihood = result.log_likelihood
    training = {
        "input": str(args.input),
        "n_sequences": len(encoded),
        "n_tokens": n_tokens,
        "n_states": args.states,
        "max_iter": args.iter,
        "tol": args.tol,
        "seed": args.seed,
        "n_restarts": len(result.restart_log_likelihoods),
        "n_iterations": int(result.n_iter),
        "converged": bool(result.converged),
        "log_likelihood": log_likelihood,
    }
    path = save_token_model(args.output, result.model, tokens, training)
    status = "converged" if result.converged else "not converged"
    print(
        f"fitted a {args.states}-state HMM to {len(encoded):,} sequences "
        f"({n_tokens:,} tokens, {len(tokens)} distinct)"
    )
    print(
        f"log-likelihood {log_likelihood:.4f} ({log_likelihood / n_tokens:.4f} per token), "
        f"{status} after {result.n_iter} iterations "
        f"(best of {len(result.restart_log_likelihoods)} random starts)"
    )
    print(f"wrote {path}")
    return 0


def decode_command(args: argparse.Namespace) -> int:
    model, tokens = load_token_model(args.model)
    sequences, line_numbers = read_token_file(args.input)
    encoded = encode(sequences, tokens, line_numbers)
    log_likelihoods = np.asarray(model.log_likelihood(encoded), dtype=float)
    impossible = np.flatnonzero(np.isneginf(log_likelihoods))
    if impossible.size:
        raise ValueError(
            f"line {line_numbers[impossible[0]]} of {args.input} has probability 0 under the "
            "model: no hidden path can emit it"
        )
    if args.method == "viterbi":
        paths = [path for path, _ in model.viterbi(encoded)]
    else:
        paths = [np.asarray(p).argmax(axis=1) for p in model.posterior(encoded)]
    text = "".join(" ".join(map(str, np.asarray(path).tolist())) + "\n" for path in paths)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text, encoding="utf-8")
        print(
            f"decoded {len(paths):,} sequences ({sum(map(len, paths)):,} tokens, "
            f"{args.method}); wrote {args.output}"
        )
    else:
        sys.stdout.write(text)
    return 0
