"""pirho.hmm against hmmlearn's CategoricalHMM: time, speed-up and agreement, in one run.

    .venv/bin/python benchmarks/hmm_vs_hmmlearn.py            # full (a few minutes)
    .venv/bin/python benchmarks/hmm_vs_hmmlearn.py --quick    # smaller sizes (under a minute)

Cases: the casino (K = 2) on one sequence of T = 10⁶; a random K = 64 model on T = 10⁵;
batches of 1000 sequences × 100 steps at K = 2 and K = 64 (hmmlearn gets the batch as one
concatenated X with ``lengths``, which is its API for several sequences). Operations: score
(log-likelihood), posterior (hmmlearn's ``predict_proba``) and Viterbi (``decode``).

Each timed call is exactly the public call a user makes (pirho returns a batch's posterior
and paths as a list per sequence, hmmlearn as one concatenated array); making the outputs
comparable (concatenating pirho's list) happens after timing.

Timing: every implementation is called once to warm up (this excludes numba's compilation
and any first-call caching), then called at least ``--repeats`` times and until its calls
have taken ``--min-seconds`` (so a 1 ms call is sampled as often as a 1 s one needs; the same
rule for both libraries), and the fastest call is reported; repeats stop once the calls of
one implementation have taken ``--max-seconds``. Speed-up = hmmlearn time /
pirho time (> 1: pirho is faster). Everything runs on one thread: OMP/OpenBLAS/MKL/numba
thread counts are set to 1 before numpy is imported (pirho's kernels are single-threaded, and
this keeps hmmlearn's numpy calls from using other cores). ``--clock cpu`` times with the
calling thread's CPU time instead of the wall clock, which is the fairer measure on a shared,
loaded machine (a waiting process accrues wall time but no CPU time).

"max |diff|" compares pirho's output with hmmlearn's ``log`` implementation: log-likelihood
difference for score (and relative to it), largest posterior entry difference for posterior,
path log-probability difference (and the fraction of steps where the paths differ) for Viterbi.
"""

from __future__ import annotations

import os

# Before numpy/numba start thread pools: a single-threaded, like-for-like comparison.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
for _variable in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}


def best_time(
    fn,
    repeats: int,
    clock=time.perf_counter,
    max_seconds: float = 30.0,
    min_seconds: float = 0.0,
):
    """Warm up once, then return (fastest timed call in seconds, result).

    Times at least ``repeats`` calls and keeps calling until the timed calls have taken
    ``min_seconds`` of wall time; stops early, after at least one timed call, once everything
    has taken ``max_seconds``.
    """
    began = time.perf_counter()
    result = fn()
    timed_from = time.perf_counter()
    fastest = float("inf")
    calls = 0
    while calls < repeats or time.perf_counter() - timed_from < min_seconds:
        start = clock()
        result = fn()
        fastest = min(fastest, clock() - start)
        calls += 1
        if time.perf_counter() - began > max_seconds:
            break
    return fastest, result


def random_model(n_states: int, n_symbols: int, seed: int):
    """A random CategoricalHMM with Dirichlet(1) rows (no structural zeros)."""
    from pirho.hmm import CategoricalHMM

    rng = np.random.default_rng(seed)
    return CategoricalHMM(
        rng.dirichlet(np.ones(n_states)),
        rng.dirichlet(np.ones(n_states), size=n_states),
        rng.dirichlet(np.ones(n_symbols), size=n_states),
    )


def hmmlearn_model(model, implementation: str):
    """hmmlearn's CategoricalHMM with ``model``'s parameters."""
    from hmmlearn.hmm import CategoricalHMM as HL

    reference = HL(n_components=model.n_states, implementation=implementation)
    reference.n_features = model.n_symbols
    reference.startprob_ = np.array(model.start)
    reference.transmat_ = np.array(model.trans)
    reference.emissionprob_ = np.array(model.emit)
    return reference


def pirho_ops(model, data):
    """pirho's three operations on ``data`` (one sequence or a list), each exactly the public
    call a user makes (a batch returns a list per sequence, as the API does)."""
    return {
        "score": lambda: model.log_likelihood(data),
        "posterior": lambda: model.posterior(data),
        "viterbi": lambda: model.viterbi(data),
    }


def comparable(operation: str, result, batched: bool):
    """pirho's result in hmmlearn's form (done after timing): total log-likelihood,
    concatenated posterior (N, K), (total path log-prob, concatenated path)."""
    if operation == "score":
        return float(np.sum(result))
    if operation == "posterior":
        return np.concatenate(result) if batched else result
    if not batched:
        path, log_prob = result
        return float(log_prob), path
    return float(sum(lp for _, lp in result)), np.concatenate([p for p, _ in result])


def hmmlearn_ops(reference, data):
    """hmmlearn's three operations on the same data (a batch as concatenated X + lengths)."""
    if isinstance(data, list):
        X = np.concatenate(data).reshape(-1, 1)
        lengths = np.array([len(s) for s in data])
    else:
        X, lengths = np.asarray(data).reshape(-1, 1), None
    return {
        "score": lambda: float(reference.score(X, lengths)),
        "posterior": lambda: reference.predict_proba(X, lengths),
        "viterbi": lambda: reference.decode(X, lengths, algorithm="viterbi"),
    }


def difference(operation: str, mine, theirs) -> str:
    if operation == "score":
        return f"{abs(mine - theirs):.1e} (relative {abs(mine - theirs) / abs(theirs):.0e})"
    if operation == "posterior":
        return f"{np.max(np.abs(mine - theirs)):.1e}"
    log_prob_diff = abs(mine[0] - theirs[0])
    path_diff = float(np.mean(np.asarray(mine[1]) != np.asarray(theirs[1])))
    return f"{log_prob_diff:.1e} (paths differ {path_diff:.1%})"


def run_case(name: str, model, data, timing: dict, rows: list) -> None:
    mine = pirho_ops(model, data)
    references = {
        impl: hmmlearn_ops(hmmlearn_model(model, impl), data) for impl in ("log", "scaling")
    }
    for operation in ("score", "posterior", "viterbi"):
        mine_seconds, mine_out = best_time(mine[operation], **timing)
        mine_out = comparable(operation, mine_out, isinstance(data, list))
        timings = {}
        outputs = {}
        for impl, ops in references.items():
            if operation == "viterbi" and impl == "scaling":
                # hmmlearn's Viterbi is always in log space; time it once, under "log".
                timings[impl], outputs[impl] = timings["log"], outputs["log"]
                continue
            timings[impl], outputs[impl] = best_time(ops[operation], **timing)
        row = (
            name,
            operation,
            f"{mine_seconds * 1e3:.2f}",
            f"{timings['log'] * 1e3:.2f}",
            f"{timings['log'] / mine_seconds:.1f}×",
            f"{timings['scaling'] * 1e3:.2f}",
            f"{timings['scaling'] / mine_seconds:.1f}×",
            difference(operation, mine_out, outputs["log"]),
        )
        rows.append(row)
        print("  ".join(row), flush=True)


def render(rows: list) -> str:
    header = (
        "case",
        "op",
        "pirho ms",
        "hmmlearn log ms",
        "speed-up",
        "hmmlearn scaling ms",
        "speed-up",
        "max |diff| vs hmmlearn log",
    )
    table = [header, *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed calls at least, best kept (5)"
    )
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=1.0,
        help="keep repeating a call until its timed runs took this long (1)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=30.0,
        help="stop repeating a call once its runs took this long (30)",
    )
    parser.add_argument(
        "--clock", choices=sorted(CLOCKS), default="wall", help="wall clock or thread CPU time"
    )
    args = parser.parse_args()
    timing = {
        "repeats": args.repeats,
        "clock": CLOCKS[args.clock],
        "max_seconds": args.max_seconds,
        "min_seconds": args.min_seconds,
    }

    import hmmlearn
    import numba

    from pirho.hmm import casino

    warnings.filterwarnings("ignore", module="hmmlearn")
    long_casino = 100_000 if args.quick else 1_000_000
    long_random = 10_000 if args.quick else 100_000
    n_batch = 200 if args.quick else 1000
    batch_len = 100

    print(
        f"pirho vs hmmlearn {hmmlearn.__version__} (numpy {np.__version__}, numba "
        f"{numba.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}, one thread: NUMBA_NUM_THREADS="
        f"{numba.config.NUMBA_NUM_THREADS}, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']})"
    )
    print(
        f"{args.clock} clock, fastest of at least {args.repeats} calls and "
        f"{args.min_seconds:g} s of calls (at most {args.max_seconds:g} s) after one warm-up "
        "call each (numba compile time excluded)\n"
    )

    model_2 = casino()
    model_64 = random_model(64, 32, seed=1)
    cases = [
        (f"casino K=2 T={long_casino:.0e}", model_2, model_2.sample(long_casino, seed=0)[1]),
        (f"random K=64 T={long_random:.0e}", model_64, model_64.sample(long_random, seed=0)[1]),
        (
            f"batch {n_batch}×{batch_len} K=2",
            model_2,
            [model_2.sample(batch_len, seed=s)[1] for s in range(n_batch)],
        ),
        (
            f"batch {n_batch}×{batch_len} K=64",
            model_64,
            [model_64.sample(batch_len, seed=s)[1] for s in range(n_batch)],
        ),
    ]
    rows: list = []
    for name, model, data in cases:
        run_case(name, model, data, timing, rows)
    print()
    print(render(rows))
    print("\nhmmlearn's Viterbi has one (log-space) implementation: both columns show it.")


if __name__ == "__main__":
    main()
