"""Contextual against static embeddings: which sense of "bank" can a linear probe read off?

The corpus comes from :func:`pirho.data.synthetic.polysemy_hmm`: an HMM whose hidden state
carries a sense (finance or river) and which emits "bank" under both, with the disambiguating
cue word only before it, only after it, on both sides, or nowhere. A :class:`~pirho.nn.models.BiLM`
(two language models, one reading left to right and one right to left) is trained on the raw
words — it never sees a sense label. Then, at every "bank" of a separate probe corpus, a
logistic-regression probe (fitted on one half of the sequences, scored on the other) reads the
sense from

- the static input embedding e("bank") — the same vector at every occurrence;
- the forward state H→_t, which has read x_1..x_t (the past and "bank");
- the backward state H←_t, which has read x_t..x_T (the future and "bank");
- both, [H→_t ; H←_t] — ELMo's contextual representation.

The reference is the Bayes-optimal guess argmax P(sense | x_1..x_T), computed exactly from the
generating HMM (:meth:`CategoricalHMM.posterior`), and the floor is the majority sense.

Metrics (JSON): ``majority_acc``, ``static_acc``, ``forward_acc``, ``backward_acc``,
``both_acc``, ``bayes_acc`` over all test occurrences, the same (plus ``n``) under
``by_position.{none, before, after, both}`` (where the evidence lies), ``n_train_occurrences``,
``n_test_occurrences``, ``lm`` (the BiLM's final training loss) and ``config``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from pirho._checks import check_choice, check_seed
from pirho.data.synthetic import EVIDENCE, SENSES, PolysemyCorpus, sample_polysemy
from pirho.experiments.common import (
    ExperimentResult,
    metric,
    resolve_config,
    set_threads,
)
from pirho.experiments.options import Option, config_options
from pirho.nn.birnn import CELLS

NAME = "polysemy"
DESCRIPTION = (
    "Linear probes for the sense of 'bank' on a BiLM's static, forward, backward and "
    "concatenated states, against the exact Bayes-optimal sense posterior."
)
TITLE = "Contextual against static embeddings: the two senses of 'bank'"
EXPLANATION = (
    "A corpus from an HMM whose hidden state carries a sense of the ambiguous word "
    "'bank' (finance or river), with the disambiguating word before it, after it, on both "
    "sides or nowhere. A bidirectional language model is trained on the words alone; a "
    "linear probe then reads the sense at each 'bank' from the static embedding (always "
    "the same vector: majority-class accuracy), the forward state (sees only the past), "
    "the backward state (only the future) and both — against the Bayes-optimal accuracy "
    "from the generating HMM's exact posterior."
)

REPRESENTATIONS = ("static", "forward", "backward", "both")
METHODS = ("majority", *REPRESENTATIONS, "bayes")
FULL = dict(
    n_lm_sequences=4000,
    n_probe_sequences=4000,
    length=40,
    embedding_dim=16,
    hidden_size=64,
    num_layers=1,
    epochs=15,
    batch_size=32,
    lr=3e-3,
    probe_l2=1e-3,
    threads=1,
)
QUICK = dict(
    FULL,
    n_lm_sequences=3000,
    n_probe_sequences=2000,
    epochs=10,
)


#: Configuration keys that must be positive numbers (checked before any work starts).
POSITIVE = (
    "n_lm_sequences",
    "n_probe_sequences",
    "length",
    "embedding_dim",
    "hidden_size",
    "num_layers",
    "epochs",
    "batch_size",
    "lr",
    "probe_l2",
)


def requirements() -> str | None:
    """Always runnable (the corpus is sampled from an HMM): None."""
    return None


#: Options overriding the (full or quick) configuration, checked while parsing.
OPTIONS = (
    Option(
        "--cell", choices=CELLS, default="lstm", help="recurrent cell of the BiLM (default lstm)"
    ),
    *config_options(
        FULL,
        QUICK,
        {
            "epochs": "BiLM training epochs",
            "hidden_size": "BiLM hidden units",
            "threads": "torch threads",
        },
    ),
)


# ---------------------------------------------------------------------------------------------
# The probe: binary logistic regression by Newton's method (numpy)


def fit_logistic(
    features: np.ndarray, labels: np.ndarray, *, l2: float = 1e-3, n_iter: int = 50
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """L2-regularised logistic regression P(y = 1 | f) = σ(w·z + b) on standardised features.

    features (n, d), labels (n,) in {0, 1}. Features are standardised with their training mean
    and standard deviation (a constant feature stays 0); the penalty ``l2``·n·|w|²/2 leaves b
    free. Solved by Newton's method, which converges in a few steps for d in the hundreds.
    Returns (w (d,), b, mean (d,), scale (d,)) for :func:`predict_logistic`.

    >>> f = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
    >>> params = fit_logistic(f, y)
    >>> predict_logistic(params, f).round().astype(int).tolist()
    [0, 0, 1, 1]
    """
    features = np.asarray(features, dtype=float)
    labels = np.asarray(labels, dtype=float)
    if features.ndim != 2 or labels.shape != (features.shape[0],):
        raise ValueError(f"features {features.shape} and labels {labels.shape} do not match")
    if not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1")
    n, d = features.shape
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    z = np.hstack([(features - mean) / scale, np.ones((n, 1))])
    penalty = np.full(d + 1, l2 * n)
    penalty[-1] = 1e-8 * n  # keeps the Hessian invertible when every label is the same
    theta = np.zeros(d + 1)
    for _ in range(n_iter):
        p = 1.0 / (1.0 + np.exp(-(z @ theta)))
        gradient = z.T @ (p - labels) + penalty * theta
        hessian = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return theta[:-1], float(theta[-1]), mean, scale


def predict_logistic(params: tuple, features: np.ndarray) -> np.ndarray:
    """P(y = 1 | f) (n,) for features (n, d) under parameters from :func:`fit_logistic`."""
    w, b, mean, scale = params
    return 1.0 / (1.0 + np.exp(-(((np.asarray(features, float) - mean) / scale) @ w + b)))


# ---------------------------------------------------------------------------------------------
# The BiLM and its representations at "bank"


def train_bilm(
    corpus: PolysemyCorpus,
    *,
    cell: str,
    embedding_dim: int,
    hidden_size: int,
    num_layers: int,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    progress: bool = True,
):
    """Train a :class:`~pirho.nn.models.BiLM` on the words of ``corpus`` (no sense labels)."""
    from pirho.nn.models import BiLM, bilm_loss
    from pirho.train import TrainConfig, seed_everything, train

    seed_everything(seed)
    lm = BiLM(
        len(corpus.spec.words),
        embedding_dim=embedding_dim,
        hidden_size=hidden_size,
        num_layers=num_layers,
        cell=cell,
    )
    tokens = torch.as_tensor(corpus.symbols, dtype=torch.long)

    def batches(epoch: int):
        order = torch.randperm(
            len(tokens), generator=torch.Generator().manual_seed(seed * 100_003 + epoch)
        )
        for lo in range(0, len(order), batch_size):
            window = tokens[order[lo : lo + batch_size]]
            yield window[:, :-1], window[:, 1:]

    config = TrainConfig(
        epochs=epochs, lr=lr, optimizer="adam", clip=1.0, seed=seed, progress=progress, desc="bilm"
    )
    result = train(lm, batches, bilm_loss, config)
    lm.eval()
    return lm, result.history


@torch.no_grad()
def bank_representations(
    lm, corpus: PolysemyCorpus, batch_size: int = 256
) -> dict[str, np.ndarray]:
    """Each representation at every "bank" of ``corpus``: name → (n_occurrences, d).

    ``static`` is the input embedding e(x_t) (E,), ``forward`` H→_t and ``backward`` H←_t of the
    top layer (H each), ``both`` their concatenation (2H) — from ``lm.embed``.
    """
    lm.eval()
    tops, statics = [], []
    for lo in range(0, len(corpus.symbols), batch_size):
        layers = lm.embed(torch.as_tensor(corpus.symbols[lo : lo + batch_size], dtype=torch.long))
        statics.append(layers[0].numpy())
        tops.append(layers[-1].numpy())
    static = np.concatenate(statics)[corpus.sequence, corpus.position]
    top = np.concatenate(tops)[corpus.sequence, corpus.position]
    hidden = top.shape[1] // 2
    return {
        "static": static[:, : static.shape[1] // 2],  # layer 0 is [e(x_t) ; e(x_t)]
        "forward": top[:, :hidden],
        "backward": top[:, hidden:],
        "both": top,
    }


# ---------------------------------------------------------------------------------------------
# Scoring


def score_predictions(
    predictions: dict[str, np.ndarray], sense: np.ndarray, evidence: np.ndarray
) -> dict:
    """Accuracy of every method overall and per evidence position.

    predictions: method → (n,) predicted sense; sense (n,) true sense; evidence (n,) index
    into :data:`EVIDENCE`. Returns {``<method>_acc``: …, ``by_position``: {position:
    {``<method>_acc``: …, ``n``: count}}} (a position with no occurrence gets null accuracies).

    >>> score_predictions({"bayes": np.array([0, 1])}, np.array([0, 0]), np.array([1, 2]))
    {'bayes_acc': 0.5, 'by_position': {'none': {'n': 0, 'bayes_acc': None}, \
'before': {'n': 1, 'bayes_acc': 1.0}, 'after': {'n': 1, 'bayes_acc': 0.0}, \
'both': {'n': 0, 'bayes_acc': None}}}
    """
    metrics: dict = {f"{m}_acc": float(np.mean(p == sense)) for m, p in predictions.items()}
    by_position = {}
    for code, position in enumerate(EVIDENCE):
        mask = evidence == code
        entry: dict = {"n": int(mask.sum())}
        for method, predicted in predictions.items():
            entry[f"{method}_acc"] = (
                float(np.mean(predicted[mask] == sense[mask])) if mask.any() else None
            )
        by_position[position] = entry
    metrics["by_position"] = by_position
    return metrics


def run(
    *,
    quick: bool = False,
    seed: int = 0,
    out: str | os.PathLike | None = None,
    progress: bool = True,
    cell: str = "lstm",
    **overrides,
) -> ExperimentResult:
    """Run the experiment; ``overrides`` replace entries of :data:`QUICK`/:data:`FULL`
    (``n_lm_sequences, n_probe_sequences, length, embedding_dim, hidden_size, num_layers,
    epochs, batch_size, lr, probe_l2``; ``None`` values are ignored)."""
    seed = check_seed("seed", seed)
    check_choice("cell", cell, CELLS)
    config = resolve_config(NAME, FULL, QUICK, quick, overrides, positive=POSITIVE)
    set_threads(config["threads"])

    lm_seed, probe_seed = np.random.SeedSequence(seed).spawn(2)
    lm_corpus = sample_polysemy(config["n_lm_sequences"], config["length"], seed=lm_seed)
    probe = sample_polysemy(config["n_probe_sequences"], config["length"], seed=probe_seed)
    lm, history = train_bilm(
        lm_corpus,
        cell=cell,
        embedding_dim=config["embedding_dim"],
        hidden_size=config["hidden_size"],
        num_layers=config["num_layers"],
        epochs=config["epochs"],
        batch_size=config["batch_size"],
        lr=config["lr"],
        seed=seed,
        progress=progress,
    )

    # Probe train/test split by sequence: the first half of the probe sequences trains.
    is_train = probe.sequence < config["n_probe_sequences"] // 2
    is_test = ~is_train
    if not is_train.any() or not is_test.any():
        raise ValueError("too few probe sequences: the train or test half has no 'bank'")
    representations = bank_representations(lm, probe)
    train_sense = probe.sense[is_train]
    majority = int(np.bincount(train_sense, minlength=len(SENSES)).argmax())
    predictions = {"majority": np.full(int(is_test.sum()), majority)}
    for name in REPRESENTATIONS:
        features = representations[name]
        params = fit_logistic(features[is_train], train_sense, l2=config["probe_l2"])
        predictions[name] = (predict_logistic(params, features[is_test]) > 0.5).astype(np.int64)
    predictions["bayes"] = probe.posterior[is_test].argmax(axis=1)
    predictions = {m: predictions[m] for m in METHODS}

    metrics = score_predictions(predictions, probe.sense[is_test], probe.evidence[is_test])
    metrics.update(
        n_train_occurrences=int(is_train.sum()),
        n_test_occurrences=int(is_test.sum()),
        bayes_expected_acc=float(probe.posterior[is_test].max(axis=1).mean()),
        lm={"final_train_loss": history[-1]["train_loss"] if history else None},
        config={"cell": cell, "seed": seed, "quick": quick, **config},
    )
    figures: list[Path] = []
    if out is not None:
        from pirho.plots.thesis import plot_probe_accuracy

        groups = {"all": {**metrics, "n": metrics["n_test_occurrences"]}}
        groups.update(metrics["by_position"])
        figures.append(
            plot_probe_accuracy(
                {k: v for k, v in groups.items() if v["n"]},
                Path(out) / "polysemy_probes.png",
                methods=METHODS,
                title="Sense of 'bank' read off each representation by a linear probe",
            )
        )
    return ExperimentResult(NAME, metrics, figures, summary=summary(metrics))


def headline(metrics: dict) -> str:
    """One line for the demo table: each probe's accuracy, and the evidence-after column.

    >>> m = {"static_acc": 0.6, "majority_acc": 0.6, "forward_acc": 0.78, "backward_acc": 0.78,
    ...      "both_acc": 0.89, "bayes_acc": 0.9,
    ...      "by_position": {"after": {"forward_acc": 0.6, "both_acc": 0.92}}}
    >>> headline(m)  # doctest: +NORMALIZE_WHITESPACE
    'acc: static 0.600 (majority 0.600), forward 0.780, backward 0.780, both 0.890,
     Bayes 0.900; evidence after: forward 0.600 vs both 0.920'
    """
    return (
        f"acc: static {metric(metrics, 'static_acc')} (majority {metric(metrics, 'majority_acc')})"
        f", forward {metric(metrics, 'forward_acc')}, backward {metric(metrics, 'backward_acc')}"
        f", both {metric(metrics, 'both_acc')}, Bayes {metric(metrics, 'bayes_acc')}; evidence "
        f"after: forward {metric(metrics, 'by_position.after.forward_acc')} vs both "
        f"{metric(metrics, 'by_position.after.both_acc')}"
    )


def summary(metrics: dict) -> str:
    """Accuracy per method (rows) and evidence position (columns)."""
    positions = ["all", *EVIDENCE]
    counts = [metrics["n_test_occurrences"]] + [metrics["by_position"][p]["n"] for p in EVIDENCE]
    lines = [
        "polysemy: sense of 'bank' (test occurrences; accuracy)",
        f"{'probe on':<10}"
        + "".join(f"{p + f' (n={n})':>17}" for p, n in zip(positions, counts, strict=True)),
    ]
    for method in METHODS:
        values = [metrics[f"{method}_acc"]] + [
            metrics["by_position"][p][f"{method}_acc"] for p in EVIDENCE
        ]
        lines.append(
            f"{method:<10}" + "".join(f"{'-' if v is None else f'{v:.4f}':>17}" for v in values)
        )
    return "\n".join(lines)
