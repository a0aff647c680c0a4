"""A unidirectional RNN is a learned filter, a bidirectional RNN a learned smoother.

On sequences drawn from a known HMM (the dishonest casino by default, or any saved
:class:`~pirho.hmm.CategoricalHMM`) the Bayes-optimal taggers are computable exactly:

- the filter P(h_t | x_1..x_t) — the seed's normalised π_t — is the best any left-to-right
  tagger can do;
- the smoother P(h_t | x_1..x_T) ∝ π_t ρ_t is the best any tagger that sees the whole
  sequence can do.

Two recurrent taggers are trained on the true hidden states (cross-entropy, Adam, the epoch
with the lowest validation NLL kept): a unidirectional one, which can only learn a forward
recursion π_t = f(π_{t−1}, x_t), and a bidirectional :class:`~pirho.nn.BiRNN`, which combines
a summary of the past with one of the future. On the test set each is compared with its
Bayes-optimal counterpart: accuracy, mean negative log-probability of the true state (nats) and
mean total-variation distance to the exact filter (uni) or smoother (bi). Fixed-lag smoothing
P(h_t | x_1..x_{t+L}), L = 0..20, shows how much future the smoother needs.

Metrics (JSON): ``bayes.{filter_acc, smooth_acc, viterbi_acc, filter_nll, smooth_nll}``,
``uni.{acc, nll, tv_to_filter}``, ``bi.{acc, nll, tv_to_smoother}``, ``n_test_steps``, plus
``lookahead_acc`` (exact accuracy for L = 0..``max_lag``), ``model`` and ``config``.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pirho._checks import check_choice, check_seed, existing_file
from pirho.data.synthetic import HMMDataset, sample_dataset
from pirho.experiments.common import (
    ExperimentResult,
    metric,
    resolve_config,
    set_threads,
)
from pirho.experiments.options import Option, config_options
from pirho.hmm import CategoricalHMM, casino
from pirho.nn.birnn import CELLS
from pirho.nn.taggers import StateTagger

NAME = "hmm-vs-rnn"
DESCRIPTION = (
    "Uni-/bidirectional RNN taggers against the exact filter/smoother on HMM data "
    "(casino, or --model HMM.json)."
)
TITLE = "A uni-RNN is a learned filter, a bi-RNN a learned smoother"
EXPLANATION = (
    "On sequences from the casino HMM (state 1 = the loaded die), a unidirectional GRU tagger "
    "trained on the true states can at best learn the filter, and a bidirectional one the "
    "smoother. The table compares each with its exact Bayes-optimal counterpart (accuracy, "
    "mean negative log-probability of the true state, total-variation distance); the "
    "lookahead plot shows how accuracy grows with the number of future symbols a tagger may "
    "read."
)

# Sizes per configuration; any of them can be overridden through run(**overrides).
FULL = dict(
    n_train=2000,
    n_val=200,
    n_test=500,
    length=200,
    hidden_size=32,
    num_layers=1,
    epochs=30,
    batch_size=32,
    lr=3e-3,
    max_lag=20,
    plot_steps=300,
    threads=1,
)
QUICK = dict(
    FULL,
    n_train=300,
    n_val=50,
    n_test=100,
    hidden_size=16,
    epochs=8,
)


#: Configuration keys that must be positive numbers (checked before any work starts).
POSITIVE = (
    "n_train",
    "n_val",
    "n_test",
    "length",
    "hidden_size",
    "num_layers",
    "epochs",
    "batch_size",
    "lr",
    "plot_steps",
)


def requirements() -> str | None:
    """Always runnable (the data are sampled from the HMM): None."""
    return None


#: Options overriding the (full or quick) configuration, checked while parsing.
OPTIONS = (
    Option(
        "--model",
        type=existing_file,
        metavar="HMM.json",
        help="a saved CategoricalHMM (CategoricalHMM.save); default: the dishonest casino",
    ),
    Option(
        "--cell", choices=CELLS, default="gru", help="recurrent cell of both taggers (default gru)"
    ),
    *config_options(
        FULL,
        QUICK,
        {
            "epochs": "training epochs per tagger",
            "hidden_size": "hidden units per direction",
            "n_train": "training sequences",
            "threads": "torch threads",
        },
    ),
)


# ---------------------------------------------------------------------------------------------
# Metrics: pure functions over (N, T, K) probabilities and (N, T) true states


def accuracy(probs: np.ndarray, states: np.ndarray) -> float:
    """Fraction of steps where argmax_k probs[..., k] is the true state.

    probs (..., K), states (...) ints.

    >>> accuracy(np.array([[0.9, 0.1], [0.3, 0.7]]), np.array([0, 0]))
    0.5
    """
    return float(np.mean(np.argmax(probs, axis=-1) == states))


def mean_nll(probs: np.ndarray, states: np.ndarray) -> float:
    """Mean −log probs[..., true state] in nats (a probability of 0 counts as 1e-300).

    >>> round(mean_nll(np.array([[0.5, 0.5], [0.25, 0.75]]), np.array([0, 1])), 4)
    0.4904
    """
    true_prob = np.take_along_axis(probs, states[..., None], axis=-1)[..., 0]
    return float(-np.mean(np.log(np.maximum(true_prob, 1e-300))))


def mean_tv(probs: np.ndarray, reference: np.ndarray) -> float:
    """Mean total-variation distance ½ Σ_k |p_k − q_k| between two (..., K) arrays of rows.

    >>> mean_tv(np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]]))
    0.5
    """
    return float(np.mean(0.5 * np.abs(probs - reference).sum(axis=-1)))


def exact_posteriors(model: CategoricalHMM, symbols: np.ndarray) -> dict[str, np.ndarray]:
    """Exact filter (N, T, K), smoother (N, T, K) and Viterbi paths (N, T) for (N, T) symbols."""
    sequences = list(np.asarray(symbols))
    return {
        "filter": np.stack(model.filter(sequences)),
        "smoother": np.stack(model.posterior(sequences)),
        "viterbi": np.stack([path for path, _ in model.viterbi(sequences)]),
    }


def bayes_metrics(exact: dict[str, np.ndarray], states: np.ndarray) -> dict[str, float]:
    """The Bayes-optimal taggers' test metrics from :func:`exact_posteriors`."""
    return {
        "filter_acc": accuracy(exact["filter"], states),
        "smooth_acc": accuracy(exact["smoother"], states),
        "viterbi_acc": float(np.mean(exact["viterbi"] == states)),
        "filter_nll": mean_nll(exact["filter"], states),
        "smooth_nll": mean_nll(exact["smoother"], states),
    }


def lookahead_accuracy(
    model: CategoricalHMM, symbols: np.ndarray, states: np.ndarray, lags: Sequence[int]
) -> list[float]:
    """Accuracy of fixed-lag smoothing argmax P(h_t | x_1..x_{t+L}) for each L in ``lags``."""
    sequences = list(np.asarray(symbols))
    return [accuracy(np.stack(model.posterior(sequences, lag=int(lag))), states) for lag in lags]


# ---------------------------------------------------------------------------------------------
# Taggers


def _tagger_loss(model: nn.Module, batch, state):
    symbols, states = batch
    logits = model(symbols)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), states.reshape(-1))
    return loss, states.numel(), None


def train_tagger(
    data: HMMDataset,
    *,
    bidirectional: bool,
    cell: str,
    hidden_size: int,
    num_layers: int,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    progress: bool = True,
) -> tuple[StateTagger, list[dict]]:
    """Train a :class:`StateTagger` on ``data.train`` (true states as targets, Adam) and return
    the parameters of the epoch with the lowest validation NLL, with the training history."""
    from pirho.train import TrainConfig, seed_everything, train

    seed_everything(seed)
    model = data.model
    tagger = StateTagger(
        model.n_symbols,
        model.n_states,
        hidden_size,
        cell=cell,
        bidirectional=bidirectional,
        num_layers=num_layers,
    )
    train_symbols = torch.as_tensor(data.train.symbols, dtype=torch.long)
    train_states = torch.as_tensor(data.train.states, dtype=torch.long)

    def batches(epoch: int):
        order = torch.randperm(
            len(train_symbols), generator=torch.Generator().manual_seed(seed * 100_003 + epoch)
        )
        for lo in range(0, len(order), batch_size):
            index = order[lo : lo + batch_size]
            yield train_symbols[index], train_states[index]

    best = {"val_nll": float("inf"), "state": None}

    def evaluate(net: nn.Module) -> dict:
        probs = net.predict_proba(data.val.symbols)
        val_nll = mean_nll(probs, data.val.states)
        if val_nll < best["val_nll"]:
            best["val_nll"] = val_nll
            best["state"] = copy.deepcopy(net.state_dict())
        return {"val_nll": val_nll, "val_acc": accuracy(probs, data.val.states)}

    config = TrainConfig(
        epochs=epochs,
        lr=lr,
        optimizer="adam",
        clip=1.0,
        seed=seed,
        progress=progress,
        desc=f"{'bi' if bidirectional else 'uni'}-{cell}",
    )
    result = train(tagger, batches, _tagger_loss, config, evaluate=evaluate)
    tagger.load_state_dict(best["state"])
    tagger.eval()
    return tagger, result.history


# ---------------------------------------------------------------------------------------------
# The experiment


def load_model(model: CategoricalHMM | str | os.PathLike | None) -> tuple[CategoricalHMM, str]:
    """The HMM to use and a name for it: the casino for ``None``, a loaded file for a path."""
    if model is None:
        return casino(), "casino"
    if isinstance(model, CategoricalHMM):
        return model, "given"
    if isinstance(model, (str, os.PathLike)):
        return CategoricalHMM.load(model), str(model)
    raise TypeError(f"model must be a CategoricalHMM, a path or None, got {type(model).__name__}")


def run(
    *,
    quick: bool = False,
    seed: int = 0,
    out: str | os.PathLike | None = None,
    progress: bool = True,
    model: CategoricalHMM | str | os.PathLike | None = None,
    cell: str = "gru",
    **overrides,
) -> ExperimentResult:
    """Run the experiment; ``overrides`` replace entries of :data:`QUICK`/:data:`FULL`
    (``n_train, n_val, n_test, length, hidden_size, num_layers, epochs, batch_size, lr,
    max_lag, plot_steps``; ``None`` values are ignored).

    Returns an :class:`ExperimentResult` whose ``metrics`` hold the keys in the module doc.
    """
    seed = check_seed("seed", seed)
    check_choice("cell", cell, CELLS)
    config = resolve_config(NAME, FULL, QUICK, quick, overrides, positive=POSITIVE)
    if config["max_lag"] < 0:
        raise ValueError(f"max_lag must be >= 0, got {config['max_lag']}")
    hmm, model_name = load_model(model)
    set_threads(config["threads"])

    data = sample_dataset(
        hmm,
        n_train=config["n_train"],
        n_val=config["n_val"],
        n_test=config["n_test"],
        length=config["length"],
        seed=seed,
    )
    test_states = data.test.states
    exact = exact_posteriors(hmm, data.test.symbols)
    lags = list(range(config["max_lag"] + 1))
    lookahead = lookahead_accuracy(hmm, data.test.symbols, test_states, lags)

    trained = {}
    for direction, bidirectional in (("uni", False), ("bi", True)):
        tagger, history = train_tagger(
            data,
            bidirectional=bidirectional,
            cell=cell,
            hidden_size=config["hidden_size"],
            num_layers=config["num_layers"],
            epochs=config["epochs"],
            batch_size=config["batch_size"],
            lr=config["lr"],
            seed=seed,
            progress=progress,
        )
        best_epoch = min(history, key=lambda h: h["val_nll"])["epoch"] if history else None
        trained[direction] = (tagger.predict_proba(data.test.symbols), best_epoch)

    uni_probs, uni_epoch = trained["uni"]
    bi_probs, bi_epoch = trained["bi"]
    metrics = {
        "bayes": bayes_metrics(exact, test_states),
        "uni": {
            "acc": accuracy(uni_probs, test_states),
            "nll": mean_nll(uni_probs, test_states),
            "tv_to_filter": mean_tv(uni_probs, exact["filter"]),
            "best_epoch": uni_epoch,
        },
        "bi": {
            "acc": accuracy(bi_probs, test_states),
            "nll": mean_nll(bi_probs, test_states),
            "tv_to_smoother": mean_tv(bi_probs, exact["smoother"]),
            "best_epoch": bi_epoch,
        },
        "n_test_steps": int(test_states.size),
        "lookahead_acc": [
            {"lag": lag, "acc": acc} for lag, acc in zip(lags, lookahead, strict=True)
        ],
        "model": model_name,
        "config": {"cell": cell, "seed": seed, "quick": quick, **config},
    }

    figures: list[Path] = []
    if out is not None:
        from pirho.plots.thesis import plot_lookahead, plot_tagger_sequence

        out = Path(out)
        shown_name = Path(model_name).name  # a file's name, not its whole path
        steps = min(config["plot_steps"], data.test.symbols.shape[1])
        figures.append(
            plot_tagger_sequence(
                test_states[0, :steps],
                {
                    "exact filter": exact["filter"][0, :steps],
                    "exact smoother": exact["smoother"][0, :steps],
                    f"uni-{cell}": uni_probs[0, :steps],
                    f"bi-{cell}": bi_probs[0, :steps],
                },
                out / "hmm_vs_rnn_sequence.png",
                title=f"{shown_name}: one test sequence",
                state_names=("fair", "loaded") if model_name == "casino" else None,
            )
        )
        figures.append(
            plot_lookahead(
                lags,
                lookahead,
                out / "hmm_vs_rnn_lookahead.png",
                smooth_acc=metrics["bayes"]["smooth_acc"],
                learned={f"uni-{cell}": metrics["uni"]["acc"], f"bi-{cell}": metrics["bi"]["acc"]},
                title=f"{shown_name}: how much future helps",
            )
        )
    return ExperimentResult(NAME, metrics, figures, summary=summary(metrics))


def headline(metrics: dict) -> str:
    """One line for the demo table: each tagger's accuracy beside its exact counterpart's.

    >>> headline({"uni": {"acc": 0.77}, "bi": {"acc": 0.81},
    ...           "bayes": {"filter_acc": 0.78, "smooth_acc": 0.82}})
    'acc: uni 0.770 vs filter 0.780; bi 0.810 vs smoother 0.820'
    """
    return (
        f"acc: uni {metric(metrics, 'uni.acc')} vs filter {metric(metrics, 'bayes.filter_acc')}; "
        f"bi {metric(metrics, 'bi.acc')} vs smoother {metric(metrics, 'bayes.smooth_acc')}"
    )


def summary(metrics: dict) -> str:
    """A short table: exact filter/smoother/Viterbi against the uni/bi taggers."""
    bayes, uni, bi = metrics["bayes"], metrics["uni"], metrics["bi"]
    rows = [
        ("exact filter", bayes["filter_acc"], bayes["filter_nll"], None),
        ("uni tagger", uni["acc"], uni["nll"], uni["tv_to_filter"]),
        ("exact smoother", bayes["smooth_acc"], bayes["smooth_nll"], None),
        ("bi tagger", bi["acc"], bi["nll"], bi["tv_to_smoother"]),
        ("exact Viterbi", bayes["viterbi_acc"], None, None),
    ]
    lines = [
        f"hmm-vs-rnn on {metrics['model']} ({metrics['n_test_steps']} test steps)",
        f"{'tagger':<16}{'accuracy':>10}{'NLL (nats)':>12}{'TV to exact':>13}",
    ]
    for name, acc, nll, tv in rows:
        nll_text = f"{nll:12.4f}" if nll is not None else f"{'':12}"
        tv_text = f"{tv:13.4f}" if tv is not None else f"{'':13}"
        lines.append(f"{name:<16}{acc:10.4f}{nll_text}{tv_text}")
    return "\n".join(lines)
