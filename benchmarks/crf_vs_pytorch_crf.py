"""pirho's LinearChainCRF vs pytorch-crf 0.7.2: training step and Viterbi decode, same inputs.

A training step is log-likelihood (reduction "sum") + backward to the emissions and the three
parameters; decode is the best path of every sequence. Both layers hold the same parameters
(pirho loads pytorch-crf's state_dict) and see the same emissions, tags and mask (lengths drawn
in T/2…T, one sequence of full length). Rows are timed interleaved, round-robin over
``--repeats`` rounds after a warm-up; the table shows median milliseconds and the median over
rounds of pytorch-crf time / pirho time. Also printed: the largest |difference| of the
per-sequence log-likelihoods relative to their size (max(1, |llh|)) and the fraction of decoded
paths that differ. Emissions are N(0, 1); ``--spread S`` draws transitions from U(−S, S)
instead of pytorch-crf's U(−0.1, 0.1) (trained CRFs have wider transition scores; the
compiled CPU decoder does not depend on them).

    .venv/bin/python benchmarks/crf_vs_pytorch_crf.py                 # CPU, 1 thread
    .venv/bin/python benchmarks/crf_vs_pytorch_crf.py --device cuda   # on a GPU
    .venv/bin/python benchmarks/crf_vs_pytorch_crf.py --quick         # smoke run
    .venv/bin/python benchmarks/crf_vs_pytorch_crf.py --sampling 100  # + sample(100) costs
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from pirho.nn import LinearChainCRF  # noqa: E402

try:
    from torchcrf import CRF
except ImportError as err:  # pragma: no cover - the benchmark needs its peer
    raise SystemExit(
        "pytorch-crf is needed: pip install 'pirho[dev]' (pytorch-crf==0.7.2)"
    ) from err

SIZES = [(32, 50, 17), (32, 50, 94), (32, 500, 17), (32, 500, 94)]  # (B, T, K)


def make_inputs(batch: int, steps: int, tags: int, device: str, dtype: torch.dtype, seed: int):
    """Emissions (T, B, K), gold tags (T, B), prefix mask (T, B) and lengths (B,)."""
    gen = torch.Generator().manual_seed(seed)
    emissions = torch.randn(steps, batch, tags, generator=gen, dtype=dtype)
    gold = torch.randint(0, tags, (steps, batch), generator=gen)
    lengths = torch.randint(steps // 2, steps + 1, (batch,), generator=gen)
    lengths[0] = steps
    mask = torch.arange(steps)[:, None] < lengths[None, :]
    return [x.to(device) for x in (emissions, gold, mask, lengths)]


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def train_step(layer, emissions, gold, mask, lengths, is_pirho: bool) -> None:
    em = emissions.detach().requires_grad_(True)
    if is_pirho:
        llh = layer(em, gold, lengths=lengths, reduction="sum")
    else:
        llh = layer(em, gold, mask=mask, reduction="sum")
    layer.zero_grad(set_to_none=True)
    llh.backward()


def decode(layer, emissions, mask, lengths, is_pirho: bool):
    if is_pirho:
        return layer.decode(emissions, lengths=lengths)[0]
    return layer.decode(emissions, mask=mask)


def timed(fn, device: str, inner: int) -> float:
    sync(device)
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    sync(device)
    return (time.perf_counter() - start) / inner * 1e3


def compare(size, args) -> dict:
    batch, steps, tags = size
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    peer = CRF(tags).to(device=args.device, dtype=dtype)
    if args.spread is not None:  # wider transition scores, as after training
        with torch.no_grad():
            peer.transitions.uniform_(-args.spread, args.spread)
    ours = LinearChainCRF(tags).to(device=args.device, dtype=dtype)
    ours.load_state_dict(peer.state_dict(), strict=True)
    emissions, gold, mask, lengths = make_inputs(batch, steps, tags, args.device, dtype, args.seed)

    with torch.no_grad():
        llh_ours = ours(emissions, gold, lengths=lengths, reduction="none")
        llh_peer = peer(emissions, gold, mask=mask, reduction="none")
    llh_diff = float(((llh_ours - llh_peer).abs() / llh_peer.abs().clamp_min(1.0)).max())
    paths_ours = decode(ours, emissions, mask, lengths, True).T.tolist()
    paths_peer = decode(peer, emissions, mask, lengths, False)
    differ = sum(
        row[:n] != ref for row, ref, n in zip(paths_ours, paths_peer, lengths.tolist(), strict=True)
    )

    jobs = {
        ("train", "pirho"): lambda: train_step(ours, emissions, gold, mask, lengths, True),
        ("train", "peer"): lambda: train_step(peer, emissions, gold, mask, lengths, False),
        ("decode", "pirho"): lambda: decode(ours, emissions, mask, lengths, True),
        ("decode", "peer"): lambda: decode(peer, emissions, mask, lengths, False),
    }
    inner = max(1, args.inner * 50 // steps)
    for job in jobs.values():  # warm-up
        job()
    times = {key: [] for key in jobs}
    for _ in range(args.repeats):
        for key, job in jobs.items():
            times[key].append(timed(job, args.device, inner))
    result = {"size": size, "llh_diff": llh_diff, "paths_differ": differ / batch}
    for task in ("train", "decode"):
        ratios = [p / o for p, o in zip(times[task, "peer"], times[task, "pirho"], strict=True)]
        result[task] = (
            statistics.median(times[task, "pirho"]),
            statistics.median(times[task, "peer"]),
            statistics.median(ratios),
        )
    return result


def sampling_costs(size, args, n_samples: int) -> dict:
    """Median ms of log Z (one forward pass, no gradient), of sample(n = 1) and of
    sample(n = n_samples): FFBS is one forward pass plus n backward sampling passes, all n
    drawn together, so n samples should cost far less than n calls for one."""
    batch, steps, tags = size
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    ours = LinearChainCRF(tags).to(device=args.device, dtype=dtype)
    emissions, _, _, lengths = make_inputs(batch, steps, tags, args.device, dtype, args.seed)
    gen = torch.Generator(device=args.device).manual_seed(args.seed)
    jobs = {
        "log_z": lambda: ours.log_partition(emissions, lengths),
        "one": lambda: ours.sample(emissions, 1, lengths, generator=gen),
        "many": lambda: ours.sample(emissions, n_samples, lengths, generator=gen),
    }
    inner = max(1, args.inner * 50 // steps)
    times = {key: [] for key in jobs}
    with torch.no_grad():
        for job in jobs.values():
            job()
        for _ in range(args.repeats):
            for key, job in jobs.items():
                times[key].append(timed(job, args.device, inner))
    return {key: statistics.median(values) for key, values in times.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds (median; ≥ 5)")
    parser.add_argument("--inner", type=int, default=3, help="calls per timing at T = 50")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--spread",
        type=float,
        default=None,
        help="transitions ~ U(-S, S) (default: pytorch-crf's initialisation, S = 0.1)",
    )
    parser.add_argument("--quick", action="store_true", help="T = 50 sizes, 3 rounds")
    parser.add_argument(
        "--sampling",
        type=int,
        default=0,
        metavar="N",
        help="also time sample(N) against one forward pass and N calls of sample(1)",
    )
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is available")
    torch.set_num_threads(args.threads)
    sizes = SIZES[:2] if args.quick else SIZES
    if args.quick:
        args.repeats = 3
    print(
        f"pirho LinearChainCRF vs pytorch-crf 0.7.2 — {args.device}, {args.dtype}, "
        f"{torch.get_num_threads()} thread(s), median of {args.repeats} rounds"
    )
    header = (
        f"{'B':>3} {'T':>4} {'K':>3} | {'train ms':>9} {'peer ms':>9} {'ratio':>6} | "
        f"{'decode ms':>9} {'peer ms':>9} {'ratio':>6} | {'rel|Δllh|':>9} {'paths≠':>6}"
    )
    print(header)
    print("-" * len(header))
    for size in sizes:
        r = compare(size, args)
        (t_o, t_p, t_r), (d_o, d_p, d_r) = r["train"], r["decode"]
        print(
            f"{size[0]:>3} {size[1]:>4} {size[2]:>3} | {t_o:9.2f} {t_p:9.2f} {t_r:5.1f}x | "
            f"{d_o:9.2f} {d_p:9.2f} {d_r:5.1f}x | {r['llh_diff']:9.1e} {r['paths_differ']:6.3f}",
            flush=True,
        )
    if args.sampling:
        n = args.sampling
        print(f"\nsampling {n} paths per sequence (FFBS) — ms, and in units of one log Z pass")
        header = (
            f"{'B':>3} {'T':>4} {'K':>3} | {'log Z ms':>9} | {'sample(1)':>9} {'sample(n)':>9} | "
            f"{'n paths / log Z':>15} {'n × sample(1) / sample(n)':>25}"
        )
        print(header)
        print("-" * len(header))
        for size in sizes:
            r = sampling_costs(size, args, n)
            print(
                f"{size[0]:>3} {size[1]:>4} {size[2]:>3} | {r['log_z']:9.2f} | "
                f"{r['one']:9.2f} {r['many']:9.2f} | {r['many'] / r['log_z']:14.1f}x "
                f"{n * r['one'] / r['many']:24.1f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
