"""Brute force against dynamic programming: K^T paths against T·K² operations.

P(X) is a sum over every hidden path, K^T of them; the forward recursion (the seed's π_t)
computes the same number in T·K² operations, and forward–backward (π_t with ρ_t) gives every
posterior marginal. This experiment measures both on the dishonest casino (K = 2): it grows T
until enumerating the paths takes about ``time_budget`` CPU seconds (or T reaches
``max_steps``, or K^T passes ``brute_force``'s path budget), checks that the two agree, then
extrapolates the brute-force time to longer sequences (T = 100: 2^100 ≈ 1.27e30 paths against
400 operations). Times are CPU seconds of the process (see :func:`best_time`).

Metrics (JSON):

- ``k``: number of hidden states; ``rows``: one dict per T with ``T``, ``n_paths`` (K^T),
  ``brute_seconds``, ``dp_ops`` (T·K²), ``dp_seconds``, ``max_abs_diff`` (largest absolute
  difference between the brute-force and DP log P(X), posterior entries and best-path log
  probability; null when extrapolated), ``log_likelihood_brute``, ``log_likelihood_dp``,
  ``extrapolated`` (true: the brute-force time is an estimate, not a measurement) and
  ``brute_years``;
- ``max_abs_diff``: the largest difference over the measured rows;
- ``seconds_per_path_step``: the constant c in brute time ≈ c·T·K^T used to extrapolate;
- ``stopped_because``: ``"time_budget"``, ``"max_steps"`` or ``"path_budget"``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from pirho import _checks
from pirho.experiments.common import ExperimentResult, resolve_config
from pirho.experiments.options import Option
from pirho.hmm import brute_force, casino
from pirho.hmm.brute import DEFAULT_MAX_PATHS, within_path_budget

NAME = "brute-vs-dp"
DESCRIPTION = "Enumerate all K^T hidden paths against the T·K² forward recursion (casino, K=2)."
TITLE = "Brute force against dynamic programming"
EXPLANATION = (
    "P(X) is a sum over K^T hidden paths. Brute force enumerates them; the forward "
    "recursion gets the same number in T·K² operations. Both are measured while the "
    "enumeration is feasible (they agree to rounding), and the brute-force time is "
    "extrapolated beyond."
)
FULL = {"max_steps": 30, "time_budget": 1.0}
QUICK = {"max_steps": 14, "time_budget": 0.05}

SECONDS_PER_YEAR = 365.25 * 24 * 3600
# Sequence lengths whose brute-force time is extrapolated from the last measured row.
EXTRAPOLATED_STEPS = (25, 30, 40, 50, 75, 100)
# Each timing repeats its call until this many seconds have passed and keeps the fastest.
MIN_TIMING_SECONDS = 0.02


#: ``--max-steps`` and ``--time-budget`` (defaults from FULL / QUICK).
OPTIONS = (
    Option(
        "--max-steps",
        type=_checks.positive_int,
        metavar="T",
        help=f"longest sequence to enumerate (default {FULL['max_steps']}; "
        f"{QUICK['max_steps']} with --quick)",
    ),
    Option(
        "--time-budget",
        type=_checks.positive_float,
        metavar="SECONDS",
        help="stop growing T once brute force takes this many CPU seconds "
        f"(default {FULL['time_budget']:g}; {QUICK['time_budget']:g} with --quick)",
    ),
)


def best_time(fn: Callable[[], object], min_seconds: float = MIN_TIMING_SECONDS):
    """Call ``fn`` until ``min_seconds`` have passed (at least once); return (fastest, result).

    Times are the process's CPU time (``time.process_time``): on an idle machine that is the
    wall time of these single-threaded calls, and other processes' load does not inflate it.

    >>> seconds, value = best_time(lambda: 2 + 2, min_seconds=0.0)
    >>> value, seconds >= 0
    (4, True)
    """
    fastest = float("inf")
    began = time.process_time()
    while True:
        start = time.process_time()
        result = fn()
        fastest = min(fastest, time.process_time() - start)
        if time.process_time() - began >= min_seconds:
            return fastest, result


def dp_answers(model, symbols: np.ndarray) -> tuple[float, np.ndarray, float]:
    """The three answers brute force gives, by dynamic programming.

    Returns (log P(x), posterior (T, K), log P(x, best path)).
    """
    log_likelihood = model.log_likelihood(symbols)
    posterior = model.posterior(symbols)
    _, best_log_prob = model.viterbi(symbols)
    return float(log_likelihood), np.asarray(posterior), float(best_log_prob)


def measure_row(model, symbols: np.ndarray) -> dict:
    """Time brute force and DP on one sequence and compare their answers.

    symbols: (T,) ints, with K^T within ``brute_force``'s path budget.
    """
    n_steps, n_states = len(symbols), model.n_states
    brute_seconds, brute = best_time(lambda: brute_force(model, symbols))
    dp_answers(model, symbols)  # warm-up: compiled kernels are not timed on first use
    dp_seconds, (log_likelihood, posterior, best_log_prob) = best_time(
        lambda: dp_answers(model, symbols)
    )
    max_abs_diff = max(
        abs(float(brute.log_likelihood) - log_likelihood),
        float(np.max(np.abs(np.asarray(brute.posterior) - posterior))),
        abs(float(brute.best_log_prob) - best_log_prob),
    )
    return {
        "T": n_steps,
        "n_paths": int(brute.n_paths),
        "brute_seconds": brute_seconds,
        "brute_years": brute_seconds / SECONDS_PER_YEAR,
        "dp_ops": n_steps * n_states**2,
        "dp_seconds": dp_seconds,
        "max_abs_diff": max_abs_diff,
        "log_likelihood_brute": float(brute.log_likelihood),
        "log_likelihood_dp": log_likelihood,
        "extrapolated": False,
    }


def extrapolate_rows(
    model, symbols: np.ndarray, seconds_per_path_step: float, steps: Sequence[int]
) -> list[dict]:
    """Rows for longer sequences: brute-force time = c·T·K^T (estimated), DP time measured.

    symbols: a sampled sequence at least ``max(steps)`` long; its prefixes are used.
    """
    n_states = model.n_states
    rows = []
    for n_steps in steps:
        prefix = symbols[:n_steps]
        dp_answers(model, prefix)
        dp_seconds, (log_likelihood, _, _) = best_time(lambda p=prefix: dp_answers(model, p))
        n_paths = n_states**n_steps
        brute_seconds = seconds_per_path_step * n_steps * float(n_paths)
        rows.append(
            {
                "T": n_steps,
                "n_paths": n_paths,
                "brute_seconds": brute_seconds,
                "brute_years": brute_seconds / SECONDS_PER_YEAR,
                "dp_ops": n_steps * n_states**2,
                "dp_seconds": dp_seconds,
                "max_abs_diff": None,
                "log_likelihood_brute": None,
                "log_likelihood_dp": log_likelihood,
                "extrapolated": True,
            }
        )
    return rows


def format_seconds(seconds: float | None) -> str:
    """Human units for a duration: µs, ms, s, min, h, days, years.

    >>> format_seconds(2.5e-5), format_seconds(1.5), format_seconds(7200), format_seconds(4e10)
    ('25.0 µs', '1.50 s', '2.0 h', '1.27e+03 years')
    """
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    for limit, unit, size in (
        (60, "s", 1),
        (3600, "min", 60),
        (86400, "h", 3600),
        (SECONDS_PER_YEAR, "days", 86400),
    ):
        if seconds < limit:
            return f"{seconds / size:.2f} {unit}" if unit == "s" else f"{seconds / size:.1f} {unit}"
    return f"{seconds / SECONDS_PER_YEAR:.3g} years"


def format_table(rows: Sequence[dict], k: int) -> str:
    """The rows as a fixed-width text table (extrapolated brute-force times marked ``*``)."""
    header = ("T", f"{k}^T paths", "brute force", f"DP ops T·{k}²", "DP time", "max |diff|")
    lines = []
    for row in rows:
        n_paths = row["n_paths"]
        paths = f"{n_paths:,}" if n_paths < 10**9 else f"{float(n_paths):.3g}"
        brute = format_seconds(row["brute_seconds"]) + (" *" if row["extrapolated"] else "")
        diff = "-" if row["max_abs_diff"] is None else f"{row['max_abs_diff']:.1e}"
        lines.append(
            (
                str(row["T"]),
                paths,
                brute,
                f"{row['dp_ops']:,}",
                format_seconds(row["dp_seconds"]),
                diff,
            )
        )
    widths = [max(len(header[i]), *(len(line[i]) for line in lines)) for i in range(len(header))]

    def render(cells):
        return "  ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True))

    out = [render(header), render(["-" * w for w in widths])]
    out += [render(line) for line in lines]
    if any(row["extrapolated"] for row in rows):
        out.append("* extrapolated from the last measured row: time = c·T·K^T")
    return "\n".join(out)


def run(
    *,
    quick: bool = False,
    seed: int = 0,
    out: str | Path | None = None,
    progress: bool = True,
    **overrides,
) -> ExperimentResult:
    """Measure brute force and DP on casino rolls of growing length T, then extrapolate.

    quick:       T up to 14 and a 0.05 s budget (a second or two in all).
    seed:        seed of the sampled rolls (each T uses the first T rolls of one sample).
    out:         folder for ``brute_vs_dp.png`` (none written when None).
    overrides:   ``max_steps``, the longest sequence enumerated (FULL 30, QUICK 14), and
                 ``time_budget``, stop once one brute-force call takes at least this many
                 seconds (FULL 1.0, QUICK 0.05).
    Returns an ExperimentResult whose metrics are described in the module docstring.

    >>> result = run(quick=True, max_steps=4, progress=False)
    >>> [row["n_paths"] for row in result.metrics["rows"]][:4]
    [2, 4, 8, 16]
    """
    config = resolve_config(NAME, FULL, QUICK, quick, overrides)
    max_steps = _checks.check_positive_int("max_steps", config["max_steps"])
    time_budget = _checks.check_float(
        "time_budget", config["time_budget"], minimum=0.0, strict_minimum=True
    )
    seed = _checks.check_seed("seed", seed)

    model = casino()
    k = model.n_states
    longest = max(max_steps, *EXTRAPOLATED_STEPS)
    _, symbols = model.sample(longest, seed=seed)

    rows: list[dict] = []
    stopped_because = "max_steps"
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=max_steps, desc="brute-vs-dp", unit="T", leave=False)
    try:
        for n_steps in range(1, max_steps + 1):
            if not within_path_budget(k, n_steps, DEFAULT_MAX_PATHS):
                stopped_because = "path_budget"
                break
            row = measure_row(model, symbols[:n_steps])
            rows.append(row)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(brute=format_seconds(row["brute_seconds"]))
            if row["brute_seconds"] >= time_budget:
                stopped_because = "time_budget"
                break
    finally:
        if bar is not None:
            bar.close()

    last = rows[-1]  # T = 1 (K paths) is always within the budget
    seconds_per_path_step = last["brute_seconds"] / (last["T"] * float(last["n_paths"]))
    longer = [t for t in EXTRAPOLATED_STEPS if t > last["T"]]
    rows += extrapolate_rows(model, symbols, seconds_per_path_step, longer)

    metrics = {
        "k": k,
        "model": "casino",
        "seed": seed,
        "time_budget": time_budget,
        "max_steps": max_steps,
        "stopped_because": stopped_because,
        "seconds_per_path_step": seconds_per_path_step,
        "max_abs_diff": max(row["max_abs_diff"] for row in rows if not row["extrapolated"]),
        "rows": rows,
    }
    figures = []
    if out is not None:
        from pirho.plots.hmm import plot_brute_vs_dp  # matplotlib only when plotting

        figures.append(plot_brute_vs_dp(rows, Path(out) / "brute_vs_dp.png", k=k))
    return ExperimentResult(NAME, metrics, figures, summary(metrics))


def summary(metrics: dict) -> str:
    """The printed report: the table and why T stopped growing."""
    rows = metrics["rows"]
    measured = [row for row in rows if not row["extrapolated"]]
    last_t = measured[-1]["T"]
    reasons = {
        "time_budget": f"brute force took at least {metrics['time_budget']:g} CPU s",
        "max_steps": f"T reached max_steps = {metrics['max_steps']}",
        "path_budget": f"T = {last_t + 1} is over brute_force's path budget",
    }
    return (
        format_table(rows, metrics["k"])
        + f"\nmeasured up to T = {last_t}: {reasons[metrics['stopped_because']]}"
    )


def headline(metrics: dict) -> str:
    """One line for the demo's table: the agreement and the extrapolated cost."""
    rows = metrics["rows"]
    measured = [r for r in rows if not r["extrapolated"]]
    text = f"brute force = DP to {metrics['max_abs_diff']:.1e} (T ≤ {measured[-1]['T']})"
    last = rows[-1]
    if last["extrapolated"]:
        text += (
            f"; T = {last['T']}: brute force ≈ {last['brute_years']:.1e} years "
            f"vs {last['dp_ops']} DP operations"
        )
    return text


def requirements() -> str | None:
    """None: brute-vs-dp needs nothing beyond pirho itself."""
    return None
