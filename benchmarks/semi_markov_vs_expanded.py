"""SemiMarkovHMM's explicit-duration recursions vs the expanded-state HMM (hmmlearn #582).

The expanded model has K·D states (state k with r steps left, a countdown) and runs through
pirho's own ordinary HMM kernels: O(T·(K·D)²) per pass against the semi-Markov kernels'
O(T·K·D + T·K²). Both compute the same log-likelihood and state posterior (checked here).

Run: ``python benchmarks/semi_markov_vs_expanded.py`` (K = 4, D = 50 and 200, T = 10⁵;
``--steps`` to change T). Prints the seconds of each, the ratio, and the CPU.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from pirho.hmm import CategoricalHMM, Durations, SemiMarkovHMM


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def expanded(model: SemiMarkovHMM) -> CategoricalHMM:
    """The countdown construction: state k·D + (r − 1) = in a segment of k with r steps left."""
    n_states, max_d = model.durations.table.shape
    table = model.durations.table
    size = n_states * max_d
    start = (model.start[:, None] * table).ravel()
    trans = np.zeros((size, size))
    for k in range(n_states):
        rows = k * max_d + np.arange(1, max_d)
        trans[rows, rows - 1] = 1.0
        trans[k * max_d] = (model.trans[k][:, None] * table).ravel()
    return CategoricalHMM(start, trans, np.repeat(model.emissions.emit, max_d, axis=0))


def best_of(fn, x, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000, help="T (default 10^5)")
    parser.add_argument("--durations", type=int, nargs="+", default=[50, 200], help="D values")
    parser.add_argument("--states", type=int, default=4, help="K (default 4)")
    parser.add_argument(
        "--long",
        type=int,
        default=1_000_000,
        help="T of the stability run at the first D (default 10^6; 0 = skip)",
    )
    args = parser.parse_args()
    n_states = args.states
    rng = np.random.default_rng(0)
    print(f"CPU: {cpu_name()}; K = {n_states}, T = {args.steps}")
    print(f"{'D':>5} {'K·D':>5} {'task':>15} {'semi-Markov s':>14} {'expanded s':>11} "
          f"{'ratio':>7}")  # fmt: skip
    models = []
    for max_d in args.durations:
        trans = rng.dirichlet(np.ones(n_states - 1), size=n_states)
        trans = np.array([np.insert(row, k, 0.0) for k, row in enumerate(trans)])
        durations = Durations.poisson(rng.uniform(0.2, 0.6, n_states) * max_d, max_d)
        emissions = CategoricalHMM(np.full(n_states, 1 / n_states),
                                   np.full((n_states, n_states), 1 / n_states),
                                   rng.dirichlet(np.ones(6), size=n_states))  # fmt: skip
        model = SemiMarkovHMM(np.full(n_states, 1 / n_states), trans, durations, emissions)
        models.append(model)
        _, x = model.sample(args.steps, seed=1)
        big = expanded(model)
        model.posterior(x[:100])  # compile outside the timings
        big.posterior(x[:100])
        ll, ll_big = model.log_likelihood(x), big.log_likelihood(x)
        post = model.posterior(x)
        post_big = big.posterior(x).reshape(args.steps, n_states, max_d).sum(axis=2)
        assert abs(ll - ll_big) < 1e-8 * abs(ll), (ll, ll_big)
        assert np.abs(post - post_big).max() < 1e-8
        for task in ("log_likelihood", "posterior"):
            fast = best_of(getattr(model, task), x, 3)
            slow = best_of(getattr(big, task), x, 1)
            print(f"{max_d:>5} {n_states * max_d:>5} {task:>15} {fast:>14.3f} {slow:>11.3f} "
                  f"{slow / fast:>6.1f}×")  # fmt: skip
    if args.long:
        model = models[0]
        _, x = model.sample(args.long, seed=2)
        t0 = time.perf_counter()
        ll = model.log_likelihood(x)
        t1 = time.perf_counter()
        post = model.posterior(x)
        t2 = time.perf_counter()
        ll_big = expanded(model).log_likelihood(x)
        print(f"T = {args.long}, D = {model.max_duration}: log P(x) = {ll:.6f} "
              f"(expanded HMM: relative difference {abs(ll - ll_big) / abs(ll_big):.1e}); "
              f"log_likelihood {t1 - t0:.2f} s, posterior {t2 - t1:.2f} s, "
              f"max |row sum − 1| = {np.abs(post.sum(axis=1) - 1).max():.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
