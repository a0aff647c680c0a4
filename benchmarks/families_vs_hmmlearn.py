"""pirho.hmm.sklearn against hmmlearn 0.3.3's GaussianHMM: time, speed-up and agreement.

    .venv/bin/python benchmarks/families_vs_hmmlearn.py --clock cpu           # full sizes
    .venv/bin/python benchmarks/families_vs_hmmlearn.py --clock cpu --quick   # T / 10

Rows (the same random model and data for both libraries, same parameters):

- diag, K = 4, D = 3, one sequence of T = 10⁶: ``score`` and ``predict_proba``;
- full, K = 16, D = 8, T = 10⁵: ``predict_proba``;
- a batch of 1,000 sequences × 100 steps (diag, K = 4, D = 3), one ``X`` with ``lengths``;
- EM: ``fit`` with ``init_params=""`` from identical parameters, exactly 10 iterations
  (diag, K = 4, D = 3, T = 10⁵).

Both sides get the identical public call (same estimator API: that is the point of the
drop-in). Each call is warmed up once, then the fastest of ``--repeats`` calls is kept.
Speed-up = hmmlearn time / pirho time. One thread everywhere (set before numpy starts).
``--clock cpu`` measures the calling thread's CPU time (fairer on a shared, loaded machine).
"max |diff|" is the largest absolute difference of the outputs (log-likelihood, posterior
entries, or fitted parameters after EM).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                  "NUMBA_NUM_THREADS"):  # fmt: skip
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}


def best_time(fn, repeats: int, clock) -> tuple[float, object]:
    """(fastest of ``repeats`` timed calls after one warm-up call, the last result)."""
    result = fn()
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        result = fn()
        best = min(best, clock() - start)
    return best, result


def random_gaussian(module, n_states: int, n_features: int, covariance_type: str, seed: int,
                    **options):  # fmt: skip
    """A random, well-separated GaussianHMM of ``module`` (hmmlearn's or pirho's)."""
    rng = np.random.default_rng(seed)
    model = module.GaussianHMM(n_states, covariance_type, init_params="", **options)
    model.startprob_ = rng.dirichlet(np.ones(n_states))
    model.transmat_ = rng.dirichlet(np.ones(n_states), n_states) * 0.2 + np.eye(n_states) * 0.8
    model.means_ = rng.normal(0, 3, (n_states, n_features))
    if covariance_type == "diag":
        model.covars_ = rng.uniform(0.5, 2.0, (n_states, n_features))
    else:
        factors = rng.normal(0, 0.4, (n_states, n_features, n_features))
        model.covars_ = factors @ factors.transpose(0, 2, 1) + np.eye(n_features)
    return model


def sample(n_steps: int, n_states: int, n_features: int, covariance_type: str) -> np.ndarray:
    """Data drawn from the pirho model (vectorised: a benchmark's input, not under test)."""
    from pirho.hmm import sklearn as pirho_hmm

    model = random_gaussian(pirho_hmm, n_states, n_features, covariance_type, seed=0)
    rng = np.random.default_rng(1)
    states = np.empty(n_steps, dtype=np.int64)
    states[0] = rng.choice(n_states, p=model.startprob_)
    cdf = np.cumsum(model.transmat_, axis=1)
    draws = rng.random(n_steps)
    for t in range(1, n_steps):  # a plain loop is fine for a one-off data set
        states[t] = min(int(np.searchsorted(cdf[states[t - 1]], draws[t])), n_states - 1)
    chol = np.linalg.cholesky(model.covars_)
    noise = rng.normal(size=(n_steps, n_features))
    return model.means_[states] + np.einsum("nde,ne->nd", chol[states], noise)


def time_operation(module, case: dict, operation: str, X, args) -> tuple[float, object]:
    """(best time, result) of one public call by one library."""
    shape = (case["states"], case["features"], case["covariance"])
    model = random_gaussian(module, *shape, seed=0)
    if operation == "fit":

        def call():
            # in the constructor: hmmlearn builds its monitor there, set_params would not reach it
            fresh = random_gaussian(module, *shape, seed=0, n_iter=10, tol=-1.0)
            return fresh.fit(X, case["lengths"])

    else:

        def call():
            return getattr(model, operation)(X, case["lengths"])

    return best_time(call, args.repeats, CLOCKS[args.clock])


def cases(quick: bool) -> list[dict]:
    scale = 10 if quick else 1
    long, full, em = 1_000_000 // scale, 100_000 // scale, 100_000 // scale
    return [
        {"name": f"diag K=4 D=3 T={long}", "states": 4, "features": 3, "covariance": "diag",
         "steps": long, "lengths": None, "operations": ("score", "predict_proba")},
        {"name": f"full K=16 D=8 T={full}", "states": 16, "features": 8, "covariance": "full",
         "steps": full, "lengths": None, "operations": ("predict_proba",)},
        {"name": "batch 1000x100 diag K=4 D=3", "states": 4, "features": 3, "covariance": "diag",
         "steps": 100_000, "lengths": [100] * 1000, "operations": ("predict_proba",)},
        {"name": f"EM 10 iter diag K=4 D=3 T={em}", "states": 4, "features": 3,
         "covariance": "diag", "steps": em, "lengths": None, "operations": ("fit",)},
    ]  # fmt: skip


def run(args) -> list[dict]:
    from hmmlearn import hmm as hmmlearn_hmm

    from pirho.hmm import sklearn as pirho_hmm

    logging.getLogger("hmmlearn").setLevel(logging.ERROR)
    rows = []
    for case in cases(args.quick):
        X = sample(case["steps"], case["states"], case["features"], case["covariance"])
        for operation in case["operations"]:
            timings, results = {}, {}
            for label, module in (("pirho", pirho_hmm), ("hmmlearn", hmmlearn_hmm)):
                timings[label], results[label] = time_operation(module, case, operation, X, args)
            row = {"case": case["name"], "operation": operation, **timings,
                   "diff": difference(operation, results)}  # fmt: skip
            rows.append(row)
            ratio = row["hmmlearn"] / row["pirho"]
            print(f"  {row['case']:<30} {operation:<14} pirho {row['pirho']:8.3f}s  "
                  f"hmmlearn {row['hmmlearn']:8.3f}s  x{ratio:6.2f}", flush=True)  # fmt: skip
    return rows


def difference(operation: str, results: dict) -> float:
    mine, theirs = results["pirho"], results["hmmlearn"]
    if operation == "fit":
        assert mine.monitor_.iter == theirs.monitor_.iter == 10
        return max(float(np.abs(getattr(mine, n) - getattr(theirs, n)).max())
                   for n in ("startprob_", "transmat_", "means_", "covars_"))  # fmt: skip
    return float(np.abs(np.asarray(mine) - np.asarray(theirs)).max())


def render(rows: list[dict]) -> str:
    lines = [
        "| case | operation | pirho (s) | hmmlearn (s) | speed-up | max abs diff |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['case']} | {row['operation']} | {row['pirho']:.3f} | {row['hmmlearn']:.3f} "
            f"| {row['hmmlearn'] / row['pirho']:.1f}x | {row['diff']:.1e} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes / 10 (except the batch)")
    parser.add_argument("--repeats", type=int, default=2, help="timed calls per case (default 2)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    import hmmlearn
    import numba

    print(f"pirho.hmm.sklearn vs hmmlearn {hmmlearn.__version__} (numpy {np.__version__}, "
          f"numba {numba.__version__}, {platform.processor() or platform.machine()}, "
          f"{args.clock} clock, one thread, best of {args.repeats})")  # fmt: skip
    print(render(run(args)))


if __name__ == "__main__":
    main()
