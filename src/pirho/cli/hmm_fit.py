"""``pirho hmm fit --emission …`` and ``pirho hmm decode`` for users' own data.

Adds to the token-file commands of :mod:`pirho.cli.hmm`:

- ``fit --emission gaussian|poisson|categorical|bernoulli|gmm --states K|A-B DATA -o MODEL.json``:
  EM with the estimators of :mod:`pirho.hmm.sklearn`; with a range ``A-B`` every K is fitted, the
  AIC/BIC table printed, and the model with the lowest BIC written.
- ``decode --model MODEL.json DATA``: the decoded state and the posteriors of every step as
  CSV (``sequence,step,state,p0..p{K-1}``; ``--lag L`` for fixed-lag posteriors, 0 = causal
  filter), ``--plot PNG`` for the decoded regimes over the observations, ``--dask ADDRESS``
  to run on a Dask scheduler.

DATA is a CSV/TSV (``--sequence-column NAME``, or blank lines between sequences), ``.npy`` or
``.npz`` (:mod:`pirho.data.sequences`), or a folder of such files. Without ``--emission``,
``fit`` keeps reading token files as before.

``fit --emission F --states K --durations poisson|nbinom|table --max-duration D`` fits a
semi-Markov model instead (:func:`pirho.hmm.fit_semi_markov`; one K, D the longest duration);
``decode`` reads such a model too (Viterbi segmentation or posterior argmax; no ``--lag``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from pirho import _checks
from pirho._atomic import atomic_open
from pirho.cli._options import nonnegative_int, plot_file, positive_int

EMISSIONS = {
    "gaussian": "GaussianHMM",
    "poisson": "PoissonHMM",
    "categorical": "CategoricalHMM",
    "bernoulli": "BernoulliHMM",
    "gmm": "GMMHMM",
}
"""``--emission`` value → estimator class in :mod:`pirho.hmm.sklearn`."""

COVARIANCE_TYPES = ("spherical", "diag", "full", "tied")
DURATION_CHOICES = ("poisson", "nbinom", "table")
DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".dat", ".npy", ".npz")
MAX_STATES = 64


def parse_states(text: str) -> int | tuple[int, int]:
    """``"3"`` → 3; ``"1-8"`` → (1, 8). argparse type for ``--states``.

    >>> parse_states("4"), parse_states("2-5")
    (4, (2, 5))
    """
    match = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", text)
    if not match:
        return positive_int(text)  # one K: "expected an integer >= 1, got ..."
    low = int(match.group(1))
    high = int(match.group(2))
    if not 1 <= low <= high:
        raise argparse.ArgumentTypeError(f"range {text!r} must satisfy 1 <= A <= B")
    return low, high


def extend(fit: argparse.ArgumentParser, decode: argparse.ArgumentParser) -> None:
    """Add the ``--emission`` options to the existing ``fit`` and ``decode`` parsers."""
    for action in fit._actions:
        if action.dest == "states":
            action.type = parse_states
            action.metavar = "K|A-B"
            action.help = "hidden states, or a range A-B (with --emission: picked by BIC)"
    fit.add_argument(
        "--emission",
        choices=sorted(EMISSIONS),
        help="fit DATA (CSV/TSV/.npy/.npz) with this emission family instead of a token file",
    )
    fit.add_argument(
        "--covariance-type",
        choices=COVARIANCE_TYPES,
        help="gaussian and gmm covariance (default diag)",
    )
    fit.add_argument(
        "--n-mix", type=positive_int, metavar="M", help="gmm: Gaussians per state (default 2)"
    )
    for parser in (fit, decode):
        parser.add_argument(
            "--sequence-column",
            metavar="NAME",
            help="CSV/TSV column holding the sequence id (default: blank lines separate)",
        )
        parser.add_argument(
            "--columns",
            metavar="A,B",
            help="CSV/TSV feature columns, comma-separated (default: all but the id column)",
        )
    fit.add_argument(
        "--durations",
        choices=DURATION_CHOICES,
        help="fit a semi-Markov HMM with these duration laws (needs --emission, --max-duration)",
    )
    fit.add_argument(
        "--max-duration",
        type=positive_int,
        metavar="D",
        help="semi-Markov: the longest segment, in steps (laws truncated at D)",
    )
    decode.add_argument(
        "--lag",
        type=nonnegative_int,
        metavar="L",
        help="fixed-lag posteriors P(h_t | x_1..x_{t+L}); 0 = causal filter (default: smoothing)",
    )
    decode.add_argument(
        "--plot", type=plot_file, metavar="PNG", help="plot decoded regimes over the observations"
    )
    decode.add_argument(
        "--dask", metavar="ADDRESS", help="decode on this Dask scheduler (tcp://host:port)"
    )
    token_fit, token_decode = fit.get_default("func"), decode.get_default("func")
    fit.set_defaults(func=lambda args: dispatch_fit(args, token_fit))
    decode.set_defaults(func=lambda args: dispatch_decode(args, token_decode))


# options of `fit` that apply only to some --emission families: option → families
FAMILY_OPTIONS = {
    "covariance_type": ("gaussian", "gmm"),
    "n_mix": ("gmm",),
    "columns": tuple(EMISSIONS),
    "sequence_column": tuple(EMISSIONS),
}


def check_options_apply(args: argparse.Namespace) -> None:
    """ValueError when an option given to ``hmm fit`` does not apply to its input: a
    family option without ``--emission`` (a token file) or with another family.

    >>> ns = argparse.Namespace(emission=None, covariance_type="full", n_mix=None,
    ...                         columns=None, sequence_column=None, input="words.txt")
    >>> check_options_apply(ns)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: --covariance-type applies to --emission gaussian or gmm; INPUT words.txt is ...
    """
    for option, families in FAMILY_OPTIONS.items():
        if getattr(args, option, None) is None or args.emission in families:
            continue
        flag = "--" + option.replace("_", "-")
        needs = "--emission " + " or ".join(families)
        if len(families) == len(EMISSIONS):
            needs = "CSV/TSV data read with --emission"
        if args.emission is None:
            raise ValueError(
                f"{flag} applies to {needs}; INPUT {args.input} is read as a token "
                "file (no --emission), so it would be ignored"
            )
        raise ValueError(f"{flag} applies to {needs}, not to --emission {args.emission}")


def n_free_parameters(args: argparse.Namespace, n_states: int, X: np.ndarray) -> int:
    """Free parameters of a ``n_states``-state model of ``args.emission`` for data ``X``.

    Start K − 1, transitions K(K − 1), plus the emission family's: gaussian means K·D and
    covariances (spherical K, diag K·D, full K·D(D+1)/2, tied D(D+1)/2); gmm the same per
    mixture component plus K(M − 1) weights; poisson and bernoulli K·D; categorical K(S − 1).

    >>> ns = argparse.Namespace(emission="gaussian", covariance_type=None, n_mix=None)
    >>> n_free_parameters(ns, 2, np.zeros((4, 1)))
    7
    """
    K, D = n_states, X.shape[1]
    count = (K - 1) + K * (K - 1)
    per_component = {"spherical": 1, "diag": D, "full": D * (D + 1) // 2, "tied": 0}
    covariance_type = args.covariance_type or "diag"
    tied = D * (D + 1) // 2 if covariance_type == "tied" else 0
    if args.emission == "gaussian":
        return count + K * (D + per_component[covariance_type]) + tied
    if args.emission == "gmm":
        M = args.n_mix or 2
        return count + K * (M - 1) + K * M * (D + per_component[covariance_type]) + K * tied
    if args.emission == "categorical":
        observed = X[~np.isnan(X)]
        n_symbols = int(observed.max()) + 1 if observed.size else 1
        return count + K * (n_symbols - 1)
    return count + K * D


def check_enough_data(args: argparse.Namespace, X: np.ndarray, low: int, high: int) -> None:
    """ValueError before fitting when DATA is too short for K states: fewer rows than K, or
    fewer observed values than the model's free parameters (EM then leaves states unused).

    >>> ns = argparse.Namespace(emission="gaussian", covariance_type=None, n_mix=None,
    ...                         input="four.csv")
    >>> check_enough_data(ns, np.zeros((4, 1)), 2, 2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: DATA four.csv is too short for 2 states: 4 observed values (4 rows), fewer ...
    """
    n_rows = X.shape[0]
    n_values = int(np.count_nonzero(~np.isnan(X)))
    for n_states in range(low, high + 1):
        n_parameters = n_free_parameters(args, n_states, X)
        if n_rows < n_states or n_values < n_parameters:
            fits = [
                k
                for k in range(1, n_states)
                if k <= n_rows and n_free_parameters(args, k, X) <= n_values
            ]
            most = f" (at most {fits[-1]} here)" if fits else ""
            reason = (
                f"{n_rows} rows"
                if n_rows < n_states
                else f"{n_values} observed values ({n_rows} rows), fewer than the "
                f"{n_parameters} free parameters of a {n_states}-state {args.emission} HMM"
            )
            raise ValueError(
                f"DATA {args.input} is too short for {n_states} states: {reason}; "
                f"give more data or fewer states{most}"
            )


def dispatch_fit(args: argparse.Namespace, token_fit) -> int:
    check_options_apply(args)
    if args.durations is not None or args.max_duration is not None:
        return semi_markov_fit_command(args)
    if args.emission is not None:
        return fit_command(args)
    if isinstance(args.states, tuple):
        raise ValueError(f"--states {args.states[0]}-{args.states[1]}: a range needs --emission")
    return token_fit(args)


def dispatch_decode(args: argparse.Namespace, token_decode) -> int:
    from pirho._files import read_json

    document = read_json(args.model, "--model")  # names the file: not UTF-8, truncated, ...
    if isinstance(document, dict) and document.get("format") == "pirho.sklearn":
        return decode_command(args, document)
    if isinstance(document, dict) and document.get("format") == "pirho.SemiMarkovHMM":
        return semi_markov_decode_command(args, document)
    for option in ("lag", "plot", "dask", "sequence_column", "columns"):
        if getattr(args, option) is not None:
            flag = "--" + option.replace("_", "-")
            raise ValueError(f"{flag} needs a model written by `pirho hmm fit --emission`")
    return token_decode(args)  # it reports unreadable or malformed model files itself


def data_paths(path: str) -> list[Path]:
    """DATA as a list of files: the file itself, or a folder's data files sorted by name."""
    data = Path(path)
    if data.is_dir():
        files = sorted(p for p in data.iterdir() if p.suffix.lower() in DATA_SUFFIXES)
        if not files:
            raise ValueError(f"DATA folder {path} holds no {'/'.join(DATA_SUFFIXES)} files")
        return files
    if not data.is_file():
        raise ValueError(f"DATA {path} does not exist")
    if data.suffix.lower() not in DATA_SUFFIXES:
        raise ValueError(f"DATA {path}: expected one of {', '.join(DATA_SUFFIXES)}")
    return [data]


def read_data(paths: list[Path], args: argparse.Namespace):
    """(ids, X, lengths) of every sequence of every file, concatenated."""
    from pirho.data.sequences import read_sequences

    ids, blocks, lengths = [], [], []
    for path in paths:
        data = read_sequences(path, sequence_column=args.sequence_column, columns=_columns(args))
        prefix = f"{path.name}:" if len(paths) > 1 else ""
        ids += [prefix + seq_id for seq_id in data.ids]
        blocks.append(data.X)
        lengths += data.lengths.tolist()
    widths = {b.shape[1] for b in blocks}
    if len(widths) > 1:
        raise ValueError(f"DATA files differ in their number of columns: {sorted(widths)}")
    return ids, np.concatenate(blocks), np.array(lengths)


def _columns(args: argparse.Namespace) -> list[str] | None:
    if args.columns is None:
        return None
    names = [name.strip() for name in args.columns.split(",")]
    if not all(names):
        raise ValueError(f"--columns {args.columns!r}: expected names separated by commas")
    return names


def _model_input(emission: str, X: np.ndarray) -> np.ndarray:
    if emission != "categorical":
        return X
    observed = X[~np.isnan(X)]
    if X.shape[1] != 1 or (observed != np.round(observed)).any() or (observed < 0).any():
        raise ValueError("--emission categorical needs one column of symbols 0, 1, 2, …")
    return np.where(np.isnan(X), -1, X).astype(np.int64)


def _check_fit_options(args: argparse.Namespace) -> tuple[int, int]:
    low, high = args.states if isinstance(args.states, tuple) else (args.states, args.states)
    if not 1 <= low <= high <= MAX_STATES:
        raise ValueError(f"--states must lie in 1..{MAX_STATES}, got {low}-{high}")
    _checks.check_int("--iter", args.iter, minimum=1)
    _checks.check_float("--tol", args.tol, minimum=0.0)
    _checks.check_seed("--seed", args.seed)
    if args.restarts is not None:
        raise ValueError("--restarts applies to token files; with --emission use --seed")
    return low, high


def fit_command(args: argparse.Namespace) -> int:
    from pirho.hmm import sklearn as hmm
    from pirho.hmm.fitting import SelectionRow, lowest_bic, select_n_states

    low, high = _check_fit_options(args)
    paths = data_paths(args.input)
    _, X, lengths = read_data(paths, args)
    X = _model_input(args.emission, X)
    estimator = getattr(hmm, EMISSIONS[args.emission])
    options = {"n_iter": args.iter, "tol": args.tol, "random_state": args.seed}
    if args.emission in ("gaussian", "gmm"):
        options["covariance_type"] = args.covariance_type or "diag"
    if args.emission == "gmm":
        options["n_mix"] = args.n_mix or 2
    check_enough_data(args, X, low, high)
    print(f"{len(lengths)} sequences, {X.shape[0]} steps, {X.shape[1]} features; "
          f"{args.emission} emissions")  # fmt: skip
    print(f"{'K':>3} {'log-lik':>14} {'params':>7} {'AIC':>14} {'BIC':>14} {'iter':>5}")

    def fit_estimator(X: np.ndarray, n_states: int) -> SelectionRow:
        try:
            model = estimator(n_components=n_states, **options).fit(X, lengths)
        except ValueError as exc:  # the data does not suit the family: say which file
            raise ValueError(f"DATA {args.input} ({args.emission}): {exc}") from None
        return SelectionRow(n_states, model.score(X, lengths), model.n_parameters(),
                            model.aic(X, lengths), model.bic(X, lengths), model)  # fmt: skip

    def print_row(row: SelectionRow) -> None:
        print(f"{row.n_states:>3} {row.log_likelihood:>14.3f} {row.n_parameters:>7} "
              f"{row.aic:>14.3f} {row.bic:>14.3f} {row.result.monitor_.iter:>5}")  # fmt: skip

    rows = select_n_states(X, high, k_min=low, fitter=fit_estimator, on_row=print_row)
    best = lowest_bic(rows)
    document = best.result.to_dict()
    document["training"] = {"data": [str(p) for p in paths], "emission": args.emission,
                            "selection": [_selection_entry(row) for row in rows],
                            "chosen_states": best.n_states}  # fmt: skip
    out = Path(args.output)
    with atomic_open(out, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(document, indent=1) + "\n")
    chosen = f"K = {best.n_states} (lowest BIC)" if high > low else f"K = {best.n_states}"
    print(f"wrote {out}: {chosen}")
    return 0


def _selection_entry(row) -> dict:
    """One K of the model JSON's ``training.selection`` list."""
    return {
        "states": row.n_states,
        "log_likelihood": row.log_likelihood,
        "n_parameters": row.n_parameters,
        "aic": row.aic,
        "bic": row.bic,
        "iterations": row.result.monitor_.iter,
        "converged": row.result.monitor_.converged,
    }


def semi_markov_fit_command(args: argparse.Namespace) -> int:
    """``fit --durations … --max-duration D``: one semi-Markov fit, its summary, its JSON."""
    from pirho.hmm import fit_semi_markov

    if args.durations is None or args.max_duration is None:
        raise ValueError("--durations and --max-duration go together (a semi-Markov fit)")
    if args.emission is None:
        raise ValueError("--durations needs --emission (the semi-Markov model's emissions)")
    if isinstance(args.states, tuple):
        raise ValueError("--durations fits one K: give --states K, not a range")
    if args.states < 2:
        raise ValueError(f"--durations needs --states >= 2, got {args.states}")
    _check_fit_options(args)
    paths = data_paths(args.input)
    _, X, lengths = read_data(paths, args)
    X = _model_input(args.emission, X)
    rows = X[:, 0] if args.emission == "categorical" else X
    sequences = np.split(rows, np.cumsum(lengths)[:-1])
    options = {"seed": args.seed, "n_iter": args.iter, "tol": args.tol}
    if args.emission in ("gaussian", "gmm"):
        options["covariance_type"] = args.covariance_type
    if args.emission == "gmm":
        options["n_mix"] = args.n_mix
    print(f"{len(lengths)} sequences, {X.shape[0]} steps; {args.emission} emissions, "
          f"{args.durations} durations up to D = {args.max_duration}")  # fmt: skip
    result = fit_semi_markov(sequences, args.states, args.emission, durations=args.durations,
                             max_duration=args.max_duration, **options)  # fmt: skip
    model = result.model
    print(f"log-likelihood {result.log_likelihood:.3f} after {result.n_iter} EM iterations"
          f"{'' if result.converged else ' (not converged)'}")  # fmt: skip
    print(f"{'state':>5} {'mean duration':>14} {'mass beyond D':>14}")
    for k, (mean, lost) in enumerate(zip(model.durations.mean(), model.durations.truncated_mass,
                                         strict=True)):  # fmt: skip
        print(f"{k:>5} {mean:>14.2f} {lost:>14.2e}")
    document = model.to_dict()
    document["training"] = {"data": [str(p) for p in paths], "emission": args.emission,
                            "log_likelihood": result.log_likelihood,
                            "iterations": result.n_iter}  # fmt: skip
    out = Path(args.output)
    with atomic_open(out, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(document, indent=1) + "\n")
    print(f"wrote {out}: semi-Markov, K = {args.states}")
    return 0


def semi_markov_decode_command(args: argparse.Namespace, document: dict) -> int:
    """``decode`` with a model from ``fit --durations``: Viterbi segmentation (or posterior
    argmax with ``--method posterior``) and the state posteriors, as for the HMM families."""
    from pirho.hmm import SemiMarkovHMM

    for option in ("lag", "dask"):
        if getattr(args, option) is not None:
            raise ValueError(f"--{option} does not apply to a semi-Markov model")
    _check_decode_options(args)
    try:
        model = SemiMarkovHMM.from_dict(document)
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"--model {args.model}: {exc}") from None
    paths = data_paths(args.input)
    ids, X, lengths = read_data(paths, args)
    categorical = document["emissions"].get("format") == "pirho.CategoricalHMM"
    inputs = _model_input("categorical" if categorical else "numeric", X)
    rows = inputs[:, 0] if categorical else inputs
    sequences = np.split(rows, np.cumsum(lengths)[:-1])
    posterior = np.concatenate(model.posterior(sequences))
    if args.method == "posterior":
        states = posterior.argmax(axis=1)
    else:
        states = np.concatenate([best.states for best in model.viterbi(sequences)])
    _write_states(args.output, ids, lengths, states, posterior)
    if args.plot:
        print(f"wrote {plot_regimes(X[: lengths[0]], states[: lengths[0]], args.plot, ids[0])}",
              file=sys.stderr)  # fmt: skip
    return 0


def _check_decode_options(args: argparse.Namespace) -> None:
    if args.dask is not None and not re.match(r"^[a-z+]+://\S+$", args.dask):
        raise ValueError(f"--dask {args.dask!r}: expected a scheduler address like tcp://host:8786")


def decode_command(args: argparse.Namespace, document: dict) -> int:
    from pirho.hmm import sklearn as hmm

    _check_decode_options(args)
    try:
        model = hmm.load_estimator(document)
    except ValueError as exc:
        raise ValueError(f"--model {args.model}: {exc}") from None
    paths = data_paths(args.input)
    emission = "categorical" if isinstance(model, hmm.CategoricalHMM) else "numeric"
    algorithm = "map" if args.method == "posterior" else "viterbi"
    if args.dask is not None:
        from pirho.hmm.dask import decode_files

        decoded = decode_files(model, paths, client=args.dask, algorithm=algorithm,
                               posteriors=True, lag=args.lag,
                               sequence_column=args.sequence_column,
                               columns=_columns(args))  # fmt: skip
        ids = [f"{d.path}:{i}" if len(paths) > 1 else i for d in decoded for i in d.ids]
        lengths = np.concatenate([d.lengths for d in decoded])
        states = np.concatenate([d.states for d in decoded])
        posterior = np.concatenate([d.posterior for d in decoded])
        X = None
    else:
        ids, X, lengths = read_data(paths, args)
        inputs = _model_input(emission, X)
        try:
            states = model.decode(inputs, lengths, algorithm=algorithm)[1]
            posterior = model.predict_proba(inputs, lengths, lag=args.lag)
        except ValueError as exc:  # data that does not suit the model: say which file
            raise ValueError(f"DATA {args.input} with --model {args.model}: {exc}") from None

    def plot() -> None:
        data = X if X is not None else read_data(paths[:1], args)[1]
        path = plot_regimes(data[: lengths[0]], states[: lengths[0]], args.plot, ids[0])
        print(f"wrote {path}", file=sys.stderr)

    _write_states(args.output, ids, lengths, states, posterior, plot if args.plot else None)
    return 0


def _write_states(output, ids, lengths, states, posterior, before_commit=None) -> None:
    """The CSV of decoded states; ``before_commit`` (the plot) runs before the CSV file is
    put in place, so a plot that fails leaves no CSV behind."""
    header = "sequence,step,state," + ",".join(f"p{k}" for k in range(posterior.shape[1]))
    with atomic_open(output, "w", encoding="utf-8") if output else nullcontext(sys.stdout) as out:
        out.write(header + "\n")
        row = 0
        for seq_id, length in zip(ids, lengths, strict=True):
            for step in range(int(length)):
                probs = ",".join(f"{p:.6g}" for p in posterior[row])
                out.write(f"{seq_id},{step},{int(states[row])},{probs}\n")
                row += 1
        if before_commit is not None:
            before_commit()
    if output:
        print(f"wrote {output}: {len(lengths)} sequences, {row} steps", file=sys.stderr)


def plot_regimes(X: np.ndarray, states: np.ndarray, path: str, title: str) -> Path:
    """The observations of one sequence over time, the background shaded by decoded state."""
    from pirho.plots import new_figure, save_figure

    fig, ax = new_figure(10.0, 4.0)
    steps = np.arange(X.shape[0])
    colours = ax._get_lines.get_next_color
    n_states = int(states.max()) + 1
    palette = [f"C{k % 10}" for k in range(n_states)]
    changes = np.flatnonzero(np.diff(states)) + 1
    bounds = np.concatenate([[0], changes, [len(states)]])
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        ax.axvspan(lo - 0.5, hi - 0.5, color=palette[states[lo]], alpha=0.18, linewidth=0)
    for d in range(X.shape[1]):
        ax.plot(steps, X[:, d], color=colours() if X.shape[1] > 1 else "k", linewidth=0.8)
    from matplotlib.patches import Patch

    handles = [Patch(color=palette[k], alpha=0.3, label=f"state {k}") for k in range(n_states)]
    ax.legend(handles=handles, loc="upper right", fontsize=8)
    ax.set_xlabel("step")
    ax.set_ylabel("observation")
    ax.set_title(f"decoded regimes: sequence {title}")
    return save_figure(fig, path)
