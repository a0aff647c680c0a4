"""The dishonest casino decoded exactly: filter, smoother and Viterbi against the true dice.

Rolls are sampled from :func:`pirho.hmm.casino` and decoded three ways — the filter
P(h_t | x_1..x_t) (past only), the smoother P(h_t | x_1..x_T) (past and future) and the
Viterbi path — and each decoding is scored by its accuracy against the die really used.

Metrics (JSON): ``n_rolls``, ``seed``, ``loaded_fraction`` (share of rolls with the loaded
die), ``log_likelihood`` (log P(X)), ``log_likelihood_per_roll``, ``viterbi_log_prob``
(log P(X, Viterbi path)) and ``accuracy`` with ``viterbi``, ``posterior`` (smoother argmax),
``filter`` (filter argmax) and ``always_fair`` (the baseline that never says "loaded").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pirho import _checks
from pirho.experiments.common import ExperimentResult, resolve_config
from pirho.experiments.options import Option
from pirho.hmm import casino
from pirho.hmm.examples import FAIR, LOADED

NAME = "casino"
DESCRIPTION = "Decode the dishonest casino exactly: filter, smoother and Viterbi vs the true dice."
TITLE = "Exact decoding: the dishonest casino"
EXPLANATION = (
    "The dishonest casino (Durbin et al.): a fair die and a loaded one (a six half the "
    "time), switched by a hidden Markov chain. From the rolls alone, pirho computes exactly "
    "the filter P(loaded | rolls 1..t) — the normalised forward message π_t — and the "
    "smoother P(loaded | all rolls) ∝ π_t ρ_t, which also uses the backward message ρ_t. "
    "The shaded stretches are where the loaded die was really used; the smoother, which "
    "sees the future too, tracks them more closely than the filter."
)
FULL = {"n_rolls": 100_000, "plot_steps": 300}
QUICK = {"n_rolls": 300, "plot_steps": 300}
FIGURE_NAME = "casino_decoding.png"
DECODINGS = (
    ("viterbi", "Viterbi (best path)"),
    ("posterior", "posterior argmax (smoother)"),
    ("filter", "filter argmax (past only)"),
    ("always_fair", "always fair (baseline)"),
)


@dataclass(frozen=True)
class CasinoDecoding:
    """Sampled rolls, their exact posteriors and the figures computed from them.

    states, rolls: (T,) int64, the die used (0 = fair, 1 = loaded) and the faces (0..5).
    posterior, filter: (T, 2), P(h_t | all rolls) and P(h_t | rolls 1..t).
    metrics: the JSON figures described in the module docstring.
    """

    states: np.ndarray
    rolls: np.ndarray
    posterior: np.ndarray
    filter: np.ndarray
    metrics: dict


def accuracy(states: np.ndarray, decoded: np.ndarray) -> float:
    """Fraction of steps where ``decoded`` equals the true ``states`` (both (T,) ints).

    >>> accuracy(np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0]))
    0.75
    """
    return float(np.mean(np.asarray(states) == np.asarray(decoded)))


def decode(n_rolls: int, seed: int = 0) -> CasinoDecoding:
    """Sample ``n_rolls`` casino rolls and decode them by Viterbi, smoother and filter.

    >>> d = decode(2000, seed=0)
    >>> d.posterior.shape, {k: round(v, 3) for k, v in d.metrics["accuracy"].items()}
    ((2000, 2), {'viterbi': 0.802, 'posterior': 0.814, 'filter': 0.774, 'always_fair': 0.65})
    >>> d.metrics["accuracy"]["always_fair"] == 1 - d.metrics["loaded_fraction"]
    True
    """
    n_rolls = _checks.check_positive_int("n_rolls", n_rolls)
    seed = _checks.check_seed("seed", seed)
    model = casino()
    states, rolls = model.sample(n_rolls, seed=seed)
    log_likelihood = model.log_likelihood(rolls)
    viterbi = model.viterbi(rolls)
    posterior = model.posterior(rolls)
    filtered = model.filter(rolls)
    metrics = {
        "n_rolls": n_rolls,
        "seed": seed,
        "loaded_fraction": float(np.mean(states == LOADED)),
        "log_likelihood": log_likelihood,
        "log_likelihood_per_roll": log_likelihood / n_rolls,
        "viterbi_log_prob": viterbi.log_prob,
        "accuracy": {
            "viterbi": accuracy(states, viterbi.path),
            "posterior": accuracy(states, posterior.argmax(axis=1)),
            "filter": accuracy(states, filtered.argmax(axis=1)),
            "always_fair": accuracy(states, np.full_like(states, FAIR)),
        },
    }
    return CasinoDecoding(states, rolls, posterior, filtered, metrics)


def plot_decoding(decoding: CasinoDecoding, path: str | Path, plot_steps: int = 300) -> Path:
    """Plot P(loaded | rolls) of the first ``plot_steps`` rolls (filter and smoother) over the
    true dice; returns the PNG's path."""
    from pirho.plots.hmm import plot_casino_posterior  # matplotlib only when plotting

    shown = slice(0, min(plot_steps, decoding.states.shape[0]))
    n_rolls = decoding.metrics["n_rolls"]
    return plot_casino_posterior(
        decoding.states[shown],
        decoding.posterior[shown, LOADED],
        path,
        filter_loaded=decoding.filter[shown, LOADED],
        title=f"Dishonest casino: P(loaded | rolls), first {shown.stop} of {n_rolls:,} rolls "
        f"(seed {decoding.metrics['seed']})",
    )


#: ``--rolls`` and ``--plot-steps`` (defaults from FULL / QUICK).
OPTIONS = (
    Option(
        "--rolls",
        dest="n_rolls",
        type=_checks.int_in_range(1, _checks.MAX_ROLLS),
        metavar="N",
        help=f"number of rolls (default {FULL['n_rolls']}; {QUICK['n_rolls']} with --quick)",
    ),
    Option(
        "--plot-steps",
        type=_checks.positive_int,
        metavar="N",
        help=f"rolls shown in the plot, from the first (default {FULL['plot_steps']})",
    ),
)


def run(
    *,
    quick: bool = False,
    seed: int = 0,
    out: str | Path | None = None,
    progress: bool = True,
    **overrides,
) -> ExperimentResult:
    """Decode sampled casino rolls exactly; with ``out``, plot the first rolls there.

    quick: 300 rolls instead of 100,000. ``overrides``: ``n_rolls``, ``plot_steps``.
    ``progress`` is accepted for the common protocol (this runs in a fraction of a second).

    >>> result = run(quick=True, progress=False)
    >>> result.metrics["n_rolls"], result.figures
    (300, [])
    """
    config = resolve_config(NAME, FULL, QUICK, quick, overrides)
    plot_steps = _checks.check_positive_int("plot_steps", config["plot_steps"])
    decoding = decode(config["n_rolls"], seed)
    figures = []
    if out is not None:
        figures.append(plot_decoding(decoding, Path(out) / FIGURE_NAME, plot_steps))
    return ExperimentResult(NAME, decoding.metrics, figures, summary(decoding.metrics))


def summary(metrics: dict) -> str:
    """The printed report: rolls, log P(X) and the accuracy of each decoding."""
    lines = [
        f"dishonest casino: {metrics['n_rolls']:,} rolls (seed {metrics['seed']}), "
        f"{metrics['loaded_fraction']:.1%} with the loaded die",
        f"log P(X) = {metrics['log_likelihood']:.4f}  "
        f"({metrics['log_likelihood_per_roll']:.4f} per roll)",
        "",
        "decoding                     accuracy",
        "---------------------------  --------",
    ]
    lines += [f"{label:<27}  {metrics['accuracy'][key]:8.4f}" for key, label in DECODINGS]
    return "\n".join(lines)


def headline(metrics: dict) -> str:
    """One line for the demo's table.

    >>> headline({"accuracy": {"filter": 0.8, "posterior": 0.85, "viterbi": 0.84}})
    'accuracy: filter 0.800, smoother 0.850, Viterbi 0.840'
    """
    acc = metrics["accuracy"]
    return (
        f"accuracy: filter {acc['filter']:.3f}, smoother {acc['posterior']:.3f}, "
        f"Viterbi {acc['viterbi']:.3f}"
    )


def requirements() -> str | None:
    """None: the casino needs nothing beyond pirho itself."""
    return None
