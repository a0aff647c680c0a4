"""Posterior path sampling: pirho's ``sample_posterior`` against its Viterbi, a plain numpy
FFBS and (if it is installed) dynamax's ``hmm_posterior_sample``, all timed in this run.

    .venv/bin/python benchmarks/posterior_sampling.py            # T = 10⁵, K = 2, 8, 32
    .venv/bin/python benchmarks/posterior_sampling.py --quick    # T = 10⁴
    .venv/bin/python benchmarks/posterior_sampling.py --dynamax-python /work/venv-jax/bin/python

Per model (random, sticky, one sequence of T steps, float64 everywhere):

- ``viterbi``: one pirho Viterbi pass (the yardstick: "a sample costs no more than a Viterbi");
- ``1 path``: ``model.sample_posterior(x, 1)`` — forward filter plus one backward sweep;
- ``per path (S)``: ``model.sample_posterior(x, S)`` divided by S (the filter is shared);
- ``write``: allocating and filling an (S, T) int64 array, per path — what returning the
  paths costs whatever the sampler (memory bandwidth; it bounds K = 2 from below);
- numpy: FFBS in plain numpy, written here (a Python loop over t for the filter; the backward
  sweep vectorised over the S paths);
- dynamax: ``hmm_posterior_sample`` under ``jax.jit`` (x64 enabled, compiled before timing),
  one path, and S paths with ``jax.vmap`` over keys (dynamax re-runs the filter per path: that
  is its API). It runs in a subprocess with ``--dynamax-python`` (default: /work/venv-jax's
  python when it exists, else this interpreter if it can import dynamax); it is skipped, with
  a line saying so, otherwise.

Ratios are measured in this run: "×" columns are the peer's time / pirho's time for the same
work (above 1: pirho faster). "max |f − p|" is the largest gap between the S paths' state
frequencies and pirho's exact posterior (all three should be ~ a few / √S). Fastest of
``--repeats`` after a warm-up; one thread for numpy/numba (set before numpy starts) and for
XLA. ``--clock cpu`` (the default) counts this thread's CPU time (the dynamax process's CPU
time for dynamax): on a shared, loaded machine wall-clock times swing by 2–3× between runs.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                  "NUMBA_NUM_THREADS"):  # fmt: skip
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

DEFAULT_JAX_PYTHON = "/work/venv-jax/bin/python"

DYNAMAX_SCRIPT = r"""
import json, sys, time
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import jax.random as jr
from dynamax.hidden_markov_model import hmm_posterior_sample

folder, n_paths, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
clock = time.process_time if sys.argv[4] == "cpu" else time.perf_counter
start = jnp.asarray(np.load(folder + "/start.npy"))
trans = jnp.asarray(np.load(folder + "/trans.npy"))
log_lik = jnp.asarray(np.load(folder + "/log_lik.npy"))
one = lambda key: hmm_posterior_sample(key, start, trans, log_lik)[1]
many = jax.jit(jax.vmap(one))
def best(fn, arg):
    fn(arg).block_until_ready()  # compile
    times = []
    for _ in range(repeats):
        t0 = clock()
        out = fn(arg).block_until_ready()
        times.append(clock() - t0)
    return min(times), out
t_one, _ = best(jax.jit(one), jr.PRNGKey(0))
t_many, paths = best(many, jr.split(jr.PRNGKey(1), n_paths))
np.save(folder + "/paths.npy", np.asarray(paths))
print(json.dumps({"one": t_one, "many": t_many, "jax": jax.__version__}))
"""


CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}
CLOCK = CLOCKS["cpu"]


def best_time(fn, repeats: int) -> tuple[float, object]:
    """(fastest of ``repeats`` timed calls after one warm-up call, the last result)."""
    result = fn()
    best = float("inf")
    for _ in range(repeats):
        start = CLOCK()
        result = fn()
        best = min(best, CLOCK() - start)
    return best, result


def random_model(n_states: int, seed: int):
    """A random sticky CategoricalHMM with 8 symbols."""
    from pirho.hmm import CategoricalHMM

    rng = np.random.default_rng(seed)
    trans = 0.2 * rng.dirichlet(np.ones(n_states), n_states) + 0.8 * np.eye(n_states)
    emit = rng.dirichlet(np.full(8, 0.5), n_states)
    return CategoricalHMM(rng.dirichlet(np.ones(n_states)), trans, emit)


def numpy_ffbs(start, trans, lik, n_paths: int, rng) -> np.ndarray:
    """Plain numpy forward filtering, backward sampling: (n_paths, T)."""
    n_steps, n_states = lik.shape
    filt = np.empty((n_steps, n_states))
    alpha = start * lik[0]
    filt[0] = alpha / alpha.sum()
    for t in range(1, n_steps):
        alpha = (filt[t - 1] @ trans) * lik[t]
        filt[t] = alpha / alpha.sum()
    paths = np.empty((n_paths, n_steps), dtype=np.int64)
    u = rng.random((n_steps, n_paths, 1))
    paths[:, -1] = (u[-1] > np.cumsum(filt[-1])).sum(axis=1)
    for t in range(n_steps - 2, -1, -1):
        weights = filt[t] * trans[:, paths[:, t + 1]].T  # (n_paths, K)
        cum = np.cumsum(weights, axis=1)
        paths[:, t] = (u[t] * cum[:, -1:] >= cum).sum(axis=1)
    return paths


def frequency_gap(paths: np.ndarray, posterior: np.ndarray) -> float:
    freq = np.stack([(paths == k).mean(axis=0) for k in range(posterior.shape[1])], axis=1)
    return float(np.abs(freq - posterior).max())


def run_dynamax(python: str, model, log_lik, n_paths: int, repeats: int, clock: str):
    with tempfile.TemporaryDirectory() as folder:
        np.save(f"{folder}/start.npy", model.start)
        np.save(f"{folder}/trans.npy", model.trans)
        np.save(f"{folder}/log_lik.npy", log_lik)
        env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS":
               "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}  # fmt: skip
        done = subprocess.run(
            [python, "-c", DYNAMAX_SCRIPT, folder, str(n_paths), str(repeats), clock],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            return None, done.stderr.strip().splitlines()[-1:]
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["paths"] = np.load(f"{folder}/paths.npy")
        return result, None


def find_dynamax(requested: str | None) -> str | None:
    candidates = [requested] if requested else [DEFAULT_JAX_PYTHON, sys.executable]
    for python in candidates:
        if not python or not Path(python).exists():
            continue
        probe = subprocess.run([python, "-c", "import dynamax"], capture_output=True,
                               check=False)  # fmt: skip
        if probe.returncode == 0:
            return python
    return None


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return platform.processor() or "unknown CPU"
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def measure(n_states: int, n_steps: int, n_paths: int, repeats: int, jax_python, clock: str) -> str:
    """One table row: every timing and ratio for a random K-state model."""
    model = random_model(n_states, seed=n_states)
    _, x = model.sample(n_steps, seed=1)
    log_lik = np.log(model.emit[:, x].T)
    t_vit, _ = best_time(lambda: model.viterbi(x), repeats)
    t_one, _ = best_time(lambda: model.sample_posterior(x, 1, seed=2), repeats)
    t_many, paths = best_time(lambda: model.sample_posterior(x, n_paths, seed=3), repeats)
    per_path = t_many / n_paths
    # The floor for any sampler that returns int64 paths: allocating and writing them.
    t_write, _ = best_time(lambda: np.empty((n_paths, n_steps), dtype=np.int64).fill(1), repeats)
    posterior = model.posterior(x)
    lik = np.exp(log_lik)
    rng = np.random.default_rng(4)
    t_np1, _ = best_time(lambda: numpy_ffbs(model.start, model.trans, lik, 1, rng), 1)
    t_npS, np_paths = best_time(lambda: numpy_ffbs(model.start, model.trans, lik, n_paths, rng), 1)
    gaps = [frequency_gap(paths, posterior), frequency_gap(np_paths, posterior)]
    row = (f"{n_states:>3} {1e3 * t_vit:9.2f} {1e3 * t_one:9.2f} {1e3 * per_path:9.3f} "
           f"{per_path / t_vit:8.3f} {1e3 * t_write / n_paths:8.3f} "
           f"{1e3 * t_np1:9.1f} {t_np1 / t_one:6.1f} "
           f"{1e3 * t_npS / n_paths:9.3f} {t_npS / t_many:6.1f} ")  # fmt: skip
    note = ""
    result = None
    if jax_python is not None:
        result, error = run_dynamax(jax_python, model, log_lik, n_paths, repeats, clock)
        if result is None:
            note = f"  (dynamax failed: {error})"
    if result is None:
        row += f"{'—':>9} {'':>6} {'—':>9} {'':>6} "
    else:
        one, many = result["one"], result["many"]
        row += (f"{1e3 * one:9.2f} {one / t_one:6.1f} "
                f"{1e3 * many / n_paths:9.3f} {many / t_many:6.1f} ")  # fmt: skip
        gaps.append(frequency_gap(result["paths"], posterior))
    return row + "  " + " / ".join(f"{g:.3f}" for g in gaps) + note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="T = 10⁴ instead of 10⁵")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="cpu",
        help="cpu (default): this thread's CPU time, and the dynamax process's; fairer on a "
        "shared, loaded machine. wall: elapsed time",
    )
    parser.add_argument("--paths", type=int, default=100, help="S, paths per batched call")
    parser.add_argument("--states", type=int, nargs="+", default=[2, 8, 32])
    parser.add_argument(
        "--dynamax-python",
        default=None,
        help=f"python with dynamax installed (default {DEFAULT_JAX_PYTHON})",
    )
    args = parser.parse_args()

    global CLOCK
    CLOCK = CLOCKS[args.clock]
    n_steps = 10_000 if args.quick else 100_000
    n_paths = args.paths
    jax_python = find_dynamax(args.dynamax_python)
    print(f"CPU: {cpu_name()} ({os.cpu_count()} logical CPUs); python {platform.python_version()}")
    print(f"one sequence, T = {n_steps:,}; S = {n_paths} paths per batched call; "
          f"fastest of {args.repeats}; {args.clock} clock; times in ms")  # fmt: skip
    if jax_python is None:
        print("dynamax: not installed here (pass --dynamax-python); its columns are skipped")
    print()
    header = (f"{'K':>3} {'viterbi':>9} {'1 path':>9} {'per path':>9} {'path/vit':>8} {'write':>8} "
              f"{'numpy 1':>9} {'×':>6} {'numpy/S':>9} {'×':>6} "
              f"{'dmx 1':>9} {'×':>6} {'dmx/S':>9} {'×':>6}   "
              "max |f − p| pirho/numpy/dynamax")  # fmt: skip
    print(header)
    for n_states in args.states:
        row = measure(n_states, n_steps, n_paths, args.repeats, jax_python, args.clock)
        print(row, flush=True)
    print()
    print(
        "path/vit = pirho's time per path (S paths in one call) / one Viterbi pass; write = "
        "time per path to allocate and fill an (S, T) int64 array (the output alone); "
        "× = peer time / pirho time for the same work (1 path, or S paths)."
    )


if __name__ == "__main__":
    main()
