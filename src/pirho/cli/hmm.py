"""``pirho hmm``: the exact engine from the command line (parse, call, print).

- ``pirho hmm casino``       simulate the dishonest casino and decode it three ways;
- ``pirho hmm brute-vs-dp``  K^T paths against T·K² operations, measured and extrapolated;
- ``pirho hmm fit``          Baum–Welch on a token file (one sequence per line);
- ``pirho hmm decode``       the most likely hidden states of each line of a token file.

Every option is checked while parsing (types from :mod:`pirho.cli._options`), so a bad value
or an unwritable output stops the command with ``pirho: error: ...`` (exit 2) before any
work starts. Token files and token models are :mod:`pirho.hmm.io`.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys

from pirho.cli import hmm_fit
from pirho.cli._options import (
    MAX_ROLLS,
    existing_file,
    existing_path,
    int_in_range,
    json_file,
    nonnegative_float,
    output_file,
    plot_file,
    positive_float,
    positive_int,
    seed,
)

DEFAULT_ITER = 100
DEFAULT_TOL = 1e-6


def register(subparsers) -> None:
    """Add ``pirho hmm`` and its four commands to the ``pirho`` parser."""
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
        "--rolls", type=int_in_range(1, MAX_ROLLS), default=100_000, metavar="N",
        help=f"number of rolls (default 100000, at most {MAX_ROLLS:,})",
    )  # fmt: skip
    casino.add_argument("--seed", type=seed, default=0, metavar="S", help="random seed (default 0)")
    casino.add_argument(
        "--plot", type=plot_file, metavar="PNG", help="plot P(loaded | rolls) over time here"
    )
    casino.add_argument(
        "--plot-steps", type=positive_int, default=None, metavar="N",
        help="rolls shown in the --plot (default 300, from the first)",
    )  # fmt: skip
    casino.add_argument(
        "--json", type=json_file, metavar="PATH", help="write the figures as JSON here"
    )
    casino.set_defaults(func=casino_command)

    brute = commands.add_parser(
        "brute-vs-dp",
        help="enumerate K^T paths against the T·K² forward recursion",
        description="Grow T until brute-force enumeration takes about --time-budget seconds "
        "(or T = --max-steps), compare with dynamic programming, then extrapolate.",
    )
    brute.add_argument(
        "--max-steps", type=positive_int, default=30, metavar="T",
        help="longest sequence enumerated (default 30)",
    )  # fmt: skip
    brute.add_argument(
        "--time-budget", type=positive_float, default=1.0, metavar="SECONDS",
        help="stop once one brute-force call takes this many CPU seconds (default 1)",
    )  # fmt: skip
    brute.add_argument("--seed", type=seed, default=0, metavar="S", help="random seed (default 0)")
    brute.add_argument(
        "--plot", type=plot_file, metavar="PNG", help="log-scale plot of K^T against T·K²"
    )
    brute.add_argument(
        "--json", type=json_file, metavar="PATH", help="write the table as JSON here"
    )
    brute.set_defaults(func=brute_vs_dp_command)

    fit = commands.add_parser(
        "fit",
        help="fit an HMM to a token file with Baum–Welch",
        description="Fit a categorical HMM to INPUT (one sequence per line, whitespace-"
        "separated tokens) and write a token model JSON.",
    )
    fit.add_argument(
        "input", type=existing_path, metavar="INPUT", help="UTF-8 text, one sequence per line"
    )
    fit.add_argument(
        "--states", type=positive_int, required=True, metavar="K", help="hidden states"
    )
    fit.add_argument(
        "--iter", type=positive_int, default=DEFAULT_ITER, metavar="N",
        help=f"maximum EM iterations of the returned fit, restart screening included "
        f"(default {DEFAULT_ITER}): each random start is screened with min(10, N // 2) "
        "iterations and the best one continues for the rest",
    )  # fmt: skip
    fit.add_argument(
        "--tol", type=nonnegative_float, default=DEFAULT_TOL,
        help=f"stop when an iteration gains less than this per token (default {DEFAULT_TOL:g})",
    )  # fmt: skip
    fit.add_argument("--seed", type=seed, default=0, metavar="S", help="random seed (default 0)")
    fit.add_argument(
        "--restarts", type=positive_int, default=None, metavar="R",
        help="random initialisations; the best is kept (default: baum_welch's, 5)",
    )  # fmt: skip
    fit.add_argument(
        "-o", "--output", type=json_file, required=True, metavar="MODEL.json",
        help="where to write the model",
    )  # fmt: skip
    fit.set_defaults(func=fit_command)

    decode = commands.add_parser(
        "decode",
        help="decode the hidden states of each line of a token file",
        description="Write the hidden state of every token of INPUT, one line per sequence.",
    )
    decode.add_argument(
        "input", type=existing_path, metavar="INPUT", help="UTF-8 text, one sequence per line"
    )
    decode.add_argument(
        "--model", type=existing_file, required=True, metavar="MODEL.json",
        help="a model written by `pirho hmm fit` (or CategoricalHMM.save)",
    )  # fmt: skip
    decode.add_argument(
        "--method",
        choices=("viterbi", "posterior"),
        default="viterbi",
        help="viterbi: most likely path; posterior: most likely state at each "
        "step (default viterbi)",
    )
    decode.add_argument(
        "-o", "--output", type=output_file, metavar="OUT", help="write here instead of stdout"
    )
    decode.set_defaults(func=decode_command)
    hmm_fit.extend(fit, decode)  # --emission fit/decode of CSV/TSV/.npy/.npz data


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def casino_command(args: argparse.Namespace) -> int:
    from pirho.experiments import casino, write_json

    if args.plot_steps is not None and not args.plot:
        raise ValueError("--plot-steps applies to the --plot figure; give --plot PNG too")

    decoding = casino.decode(args.rolls, args.seed)
    print(casino.summary(decoding.metrics))
    if args.plot:
        print(f"wrote {casino.plot_decoding(decoding, args.plot, args.plot_steps or 300)}")
    if args.json:
        print(f"wrote {write_json(decoding.metrics, args.json)}")
    return 0


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


def memory_budget() -> int:
    """Bytes a fit may plan to use: half the machine's physical memory (8 GiB if unknown)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 8 << 30


def check_fit_size(n_states: int, n_tokens: int, n_symbols: int, longest: int) -> None:
    """ValueError before fitting when there are fewer tokens than states, or EM would need
    more memory than :func:`memory_budget`.

    Baum–Welch holds a few K × K and K × M matrices and, per sequence, forward and backward
    messages (T, K): about 8 · (4 K² + 3 K·M + 4 T_max·K + K·N) bytes.

    >>> check_fit_size(2, 100, 6, 100)
    >>> check_fit_size(100_000, 1_000_000, 6, 100)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: --states 100000: EM would need about ... GiB of memory ...
    """
    if n_states > n_tokens:
        raise ValueError(
            f"--states {n_states}: the input is too short for {n_states} states "
            f"({n_tokens:,} tokens); give more data or fewer states"
        )
    need = 8 * (4 * n_states**2 + 3 * n_states * n_symbols + 4 * longest * n_states)
    need += 8 * n_states * n_tokens
    budget = memory_budget()
    if need > budget:
        raise ValueError(
            f"--states {n_states}: EM would need about {need / 2**30:.1f} GiB of memory "
            f"({n_states:,} states, {n_tokens:,} tokens), more than the "
            f"{budget / 2**30:.1f} GiB this machine allows (half its memory); use fewer states"
        )


def _announce_fit_time(encoded, args, n_symbols: int, n_restarts: int) -> None:
    """Time one EM iteration and say up front how long the restart screening will take, when
    that is more than 30 s (every random start runs its screening iterations; the kept one
    then runs until it converges or ``--iter`` ends)."""
    import time

    from pirho.hmm import baum_welch
    from pirho.hmm.fitting.baum_welch import SCREEN_ITERATIONS

    screen = min(SCREEN_ITERATIONS, args.iter // 2) if n_restarts > 1 else 0
    if not screen:
        return
    timings = []
    for _ in range(2):  # the first call may load or compile the kernels: time the second
        started = time.perf_counter()
        baum_welch(encoded, args.states, n_symbols, n_iter=1, seed=args.seed, n_restarts=1)
        timings.append(time.perf_counter() - started)
    estimate = timings[-1] * n_restarts * screen
    if estimate > 30:
        print(
            f"pirho: screening {n_restarts:,} random starts ({screen} EM iterations each, "
            f"{timings[-1] * 1000:.3g} ms per iteration) takes about {_duration(estimate)}, "
            f"then the best continues for up to {args.iter - screen:,} iterations; Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )


def _duration(seconds: float) -> str:
    """``42 s``, ``3.5 min``, ``2.0 h``, ``4.1 days``.

    >>> _duration(42), _duration(210), _duration(7200), _duration(4e5)
    ('42 s', '3.5 min', '2.0 h', '4.6 days')
    """
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def fit_command(args: argparse.Namespace) -> int:
    from pirho.hmm import baum_welch
    from pirho.hmm.io import TokenHMM, build_vocabulary, encode, read_token_file

    token_file = read_token_file(args.input)
    tokens = build_vocabulary(token_file.sequences)
    encoded = encode(token_file, tokens)
    longest = max(map(len, encoded))
    check_fit_size(args.states, token_file.n_tokens, len(tokens), longest)
    options = {} if args.restarts is None else {"n_restarts": args.restarts}
    default_restarts = inspect.signature(baum_welch).parameters["n_restarts"].default
    _announce_fit_time(encoded, args, len(tokens), options.get("n_restarts", default_restarts))
    n_tokens = token_file.n_tokens
    # --tol is a gain per token; baum_welch's tol is a gain in total log-likelihood
    result = baum_welch(
        encoded, args.states, len(tokens), n_iter=args.iter, tol=args.tol * n_tokens,
        seed=args.seed, **options,
    )  # fmt: skip
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
        "log_likelihood": result.log_likelihood,
    }
    path = TokenHMM(result.model, tokens, training).save(args.output)
    status = "converged" if result.converged else "not converged"
    print(
        f"fitted a {args.states}-state HMM to {len(encoded):,} sequences "
        f"({n_tokens:,} tokens, {len(tokens)} distinct)"
    )
    print(
        f"log-likelihood {result.log_likelihood:.4f} "
        f"({result.log_likelihood / n_tokens:.4f} per token), {status} after {result.n_iter} "
        f"iterations (best of {len(result.restart_log_likelihoods)} random starts)"
    )
    print(f"wrote {path}")
    return 0


def decode_command(args: argparse.Namespace) -> int:
    import numpy as np

    from pirho._atomic import atomic_open
    from pirho.hmm.io import TokenHMM, read_token_file

    token_model = TokenHMM.load(args.model)
    token_file = read_token_file(args.input)
    encoded = token_model.encode(token_file)
    model = token_model.model
    impossible = np.flatnonzero(np.isneginf(model.log_likelihood(encoded)))
    if impossible.size:
        raise ValueError(
            f"line {token_file.line_numbers[impossible[0]]} of {args.input} has probability 0 "
            "under the model: no hidden path can emit it"
        )
    if args.method == "viterbi":
        paths = [result.path for result in model.viterbi(encoded)]
    else:
        paths = [posterior.argmax(axis=1) for posterior in model.posterior(encoded)]
    text = "".join(" ".join(map(str, path.tolist())) + "\n" for path in paths)
    if not args.output:
        sys.stdout.write(text)
        return 0
    with atomic_open(args.output, "w", encoding="utf-8") as handle:
        handle.write(text)
    print(
        f"decoded {len(paths):,} sequences ({sum(map(len, paths)):,} tokens, "
        f"{args.method}); wrote {args.output}"
    )
    return 0
